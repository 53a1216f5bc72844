"""SystemdNotify against a real AF_UNIX datagram socket, as systemd would listen on it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from monitor.systemd import SystemdNotify


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket standing in for systemd's notification socket."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def receive(sock: socket.socket) -> str:
    """One datagram as text."""
    return sock.recv(4096).decode()


def test_ready_sends_ready_and_status_in_one_datagram(
    notify_socket: tuple[socket.socket, str],
) -> None:
    """ready() with a status sends READY=1 and STATUS= together."""
    sock, path = notify_socket
    notifier = SystemdNotify({"NOTIFY_SOCKET": path})
    assert notifier.ready("3 feeds, 12 rules")
    assert receive(sock) == "READY=1\nSTATUS=3 feeds, 12 rules"


def test_a_reader_that_falls_behind_costs_dropped_notifications_not_a_blocked_sender(
    notify_socket: tuple[socket.socket, str],
) -> None:
    """Nobody reads the socket: once its queue is full notify() returns False, it never blocks."""
    _sock, path = notify_socket
    notifier = SystemdNotify({"NOTIFY_SOCKET": path})
    sent = [notifier.watchdog() for _ in range(50)]
    assert sent[0] is True
    assert sent[-1] is False


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda n: n.stopping(), "STOPPING=1"),
        (lambda n: n.watchdog(), "WATCHDOG=1"),
        (lambda n: n.status("line one\nline two"), "STATUS=line one line two"),
    ],
)
def test_each_notification_sends_its_assignment(
    notify_socket: tuple[socket.socket, str],
    call: Callable[[SystemdNotify], bool],
    expected: str,
) -> None:
    """stopping, watchdog and status send their KEY=value (status folded to one line)."""
    sock, path = notify_socket
    assert call(SystemdNotify({"NOTIFY_SOCKET": path}))
    assert receive(sock) == expected


def test_reloading_carries_a_monotonic_timestamp(notify_socket: tuple[socket.socket, str]) -> None:
    """reloading() sends RELOADING=1 with MONOTONIC_USEC, as Type=notify-reload requires."""
    sock, path = notify_socket
    assert SystemdNotify({"NOTIFY_SOCKET": path}).reloading()
    first, second = receive(sock).split("\n")
    assert first == "RELOADING=1"
    assert second.startswith("MONOTONIC_USEC=")
    assert int(second.split("=")[1]) > 0


def test_abstract_socket_names_are_reached() -> None:
    """A NOTIFY_SOCKET starting with @ names an abstract socket."""
    name = f"treaty-monitor-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert SystemdNotify({"NOTIFY_SOCKET": "@" + name}).ready()
        assert receive(sock) == "READY=1"


def test_without_notify_socket_every_call_is_a_silent_no_op() -> None:
    """Outside systemd nothing is sent and nothing fails."""
    notifier = SystemdNotify({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()
    assert notifier.watchdog_interval() is None


def test_a_vanished_socket_does_not_raise(tmp_path: Path) -> None:
    """A NOTIFY_SOCKET path nobody listens on yields False, never an exception."""
    assert not SystemdNotify({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": str(os.getpid())}, 0.5),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval_comes_from_the_environment(
    env: dict[str, str], expected: float | None
) -> None:
    """WATCHDOG_USEC in seconds, only when WATCHDOG_PID is unset or this process."""
    assert SystemdNotify({"NOTIFY_SOCKET": "/nonexistent", **env}).watchdog_interval() == expected


async def test_keep_alive_pings_while_alive_and_withholds_when_stalled(
    notify_socket: tuple[socket.socket, str],
) -> None:
    """keep_alive sends WATCHDOG=1 repeatedly, and stops once the daemon reports a stall."""
    sock, path = notify_socket
    sock.setblocking(False)
    healthy = True
    notifier = SystemdNotify({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "40000"})
    task = asyncio.create_task(notifier.keep_alive(lambda: healthy))
    await asyncio.sleep(0.15)
    pings = _drain(sock)
    assert len(pings) >= 3
    assert set(pings) == {"WATCHDOG=1"}
    healthy = False
    await asyncio.sleep(0.05)
    _drain(sock)
    await asyncio.sleep(0.15)
    assert _drain(sock) == []
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_keep_alive_returns_at_once_without_a_watchdog() -> None:
    """Without WatchdogSec there is nothing to feed and the task ends."""
    await asyncio.wait_for(SystemdNotify({}).keep_alive(lambda: True), 1)


def _drain(sock: socket.socket) -> list[str]:
    found = []
    while True:
        try:
            found.append(sock.recv(4096).decode())
        except BlockingIOError:
            return found

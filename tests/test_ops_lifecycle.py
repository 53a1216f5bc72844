"""The daemon's life as an operator sees it: systemd notifications, probes, SIGHUP, status, SIGTERM.

One ``python -m monitor run`` process with its own embedded Redis, started as systemd would start
a ``Type=notify`` service (NOTIFY_SOCKET bound by the test, WATCHDOG_USEC set).
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from monitor.connections import EmbeddedRedis
from tests.ops_procs import RULE_FILE, Daemon
from tests.ops_servers import wait_for

pytestmark = pytest.mark.slow


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[socket.socket]:
    """The datagram socket systemd would listen on."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify.sock"))
    sock.setblocking(False)
    yield sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    """Every KEY=value line sent so far."""
    lines = []
    while True:
        try:
            lines += sock.recv(4096).decode().splitlines()
        except BlockingIOError:
            return lines


async def keep_reading(sock: socket.socket, into: list[str]) -> None:
    """Read as systemd does, all along: the socket queues only 10 datagrams, then drops."""
    while True:
        into += received(sock)
        await asyncio.sleep(0.2)


async def get_json(url: str) -> tuple[int, dict[str, object]]:
    """GET a JSON endpoint."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


async def status_json(config: Path) -> dict[str, object]:
    """``treaty-monitor status --format json`` against the running daemon's Redis."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "status", "--config", str(config), "--format", "json",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    report: dict[str, object] = json.loads(out)
    return report


async def test_daemon_notifies_systemd_reloads_on_sighup_and_stops_cleanly(
    tmp_path: Path, notify: socket.socket
) -> None:
    """READY, heartbeats, a refused bad reload, STOPPING, exit 0, embedded Redis stopped."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ops.yaml").write_text(RULE_FILE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[rules]\ndirs = ["{rules}"]\nwatch = false\n'
    )
    daemon = Daemon("all", config, tmp_path, "daemon")
    daemon.extra_env = {
        "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
        "WATCHDOG_USEC": "2000000",
    }
    daemon.start()
    notified: list[str] = []
    reading = asyncio.create_task(keep_reading(notify, notified))
    try:
        await daemon.wait_ready(60)
        assert await wait_for(lambda: "READY=1" in notified, 10)
        assert await wait_for(lambda: "WATCHDOG=1" in notified, 10)
        report = await status_json(config)
        instances = report["instances"]
        assert isinstance(instances, list)
        assert [i["pid"] for i in instances] == [daemon.process.pid]  # type: ignore[union-attr]
        assert report["rules"]["ok"] is True  # type: ignore[index]

        (rules / "broken.yaml").write_text("version: 1\nrules:\n  - id: Bad Id\n")
        daemon.process.send_signal(1)  # type: ignore[union-attr]

        async def reload_refused() -> bool:
            rules_state = (await status_json(config))["rules"]
            return bool(rules_state["error"])  # type: ignore[index]

        assert await wait_for(reload_refused, 20)

        def reload_bracketed() -> bool:
            notes = [line for line in notified if line in ("RELOADING=1", "READY=1")]
            return notes[-2:] == ["RELOADING=1", "READY=1"]

        assert await wait_for(reload_bracketed, 5), notified
        assert await daemon.metric("treaty_monitor_rules_reload_ok") == 0
        status, body = await get_json(daemon.url + "/readyz")
        assert (status, body["status"]) == (200, "ready"), body
    finally:
        code = await daemon.astop()
        reading.cancel()
    assert code == 0, daemon.log_tail()
    assert "STOPPING=1" in notified + received(notify)
    assert not EmbeddedRedis(tmp_path / "state")._answers()

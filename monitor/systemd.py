"""systemd readiness and watchdog notifications (the ``sd_notify`` datagram protocol).

systemd passes ``NOTIFY_SOCKET`` (a path, or ``@name`` for an abstract socket) to a
``Type=notify`` service; the service sends newline-separated ``KEY=value`` datagrams to it. The
protocol is a few lines over ``socket.AF_UNIX``/``SOCK_DGRAM``, so no dependency is needed (the
``sdnotify``/``systemd-python`` packages add nothing we use). Without ``NOTIFY_SOCKET`` every
call is a no-op, so the daemon runs the same in a terminal, a container or under systemd.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Mapping

import structlog

log = structlog.get_logger(__name__)


class SystemdNotify:
    """Send state changes to systemd; silent when not started by systemd."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._environ = env
        raw = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if raw.startswith("@"):
            self.address = "\0" + raw[1:]
        elif raw.startswith("/"):
            self.address = raw
        elif raw:
            # vsock: and other transports exist; we only speak AF_UNIX and say so once.
            log.warning("systemd_notify_socket_unsupported", notify_socket=raw)

    @property
    def enabled(self) -> bool:
        """A notification socket was given."""
        return self.address is not None

    def notify(self, *assignments: str) -> bool:
        """Send ``KEY=value`` lines in one datagram; ``False`` if not sent (never raises)."""
        if self.address is None:
            return False
        message = "\n".join(assignments).encode("utf-8", "replace")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                # Called on the event loop: a reader that fell behind (its queue holds 10
                # datagrams) must cost a dropped notification, never a frozen daemon.
                sock.setblocking(False)
                sock.connect(self.address)
                sock.sendall(message)
        except OSError as exc:
            log.warning("systemd_notify_failed", error=exc.strerror or str(exc))
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        """Startup finished (``READY=1``), optionally with a status line."""
        return self.notify("READY=1", *([f"STATUS={_one_line(status)}"] if status else []))

    def status(self, text: str) -> bool:
        """A free-form status line shown by ``systemctl status``."""
        return self.notify(f"STATUS={_one_line(text)}")

    def reloading(self) -> bool:
        """A reload (SIGHUP) started; call :meth:`ready` when it is done."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> bool:
        """Shutdown started (``STOPPING=1``)."""
        return self.notify("STOPPING=1")

    def watchdog(self) -> bool:
        """Keep-alive for ``WatchdogSec=`` (``WATCHDOG=1``)."""
        return self.notify("WATCHDOG=1")

    def watchdog_interval(self) -> float | None:
        """Seconds within which systemd expects :meth:`watchdog` from this process, else None."""
        usec = self._environ.get("WATCHDOG_USEC", "")
        if not usec.isdigit() or int(usec) == 0:
            return None
        pid = self._environ.get("WATCHDOG_PID", "")
        if pid and pid != str(os.getpid()):
            return None
        return int(usec) / 1_000_000

    async def keep_alive(self, alive: Callable[[], bool]) -> None:
        """Ping the watchdog at half its interval while ``alive()``; returns at once if unset.

        When ``alive()`` turns false the pings stop, so systemd restarts a daemon whose loops hang
        even though its event loop still runs.
        """
        interval = self.watchdog_interval()
        if interval is None or not self.enabled:
            return
        while True:
            if alive():
                self.watchdog()
            else:
                log.warning("systemd_watchdog_withheld")
            await asyncio.sleep(interval / 2)


def _one_line(text: str) -> str:
    return " ".join(text.split())

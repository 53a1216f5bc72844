"""A burst drained by the engine daemon with 1, 2, ... worker processes (``[engine] workers``).

Starts ``python -m monitor run --role engine`` (the shipped rules) against an embedded
redis-server, waits until it is ready, XADDs a burst of corpus entries at once (every one treaty
news or a hard negative, under fresh ids and titles, as ``engine_throughput.py``), and times the
burst until the ``engine`` group has read and acknowledged every entry. Prints entries/s and
alerts/s per worker count, the machine's load, and the CPU time of the daemon and its workers.

    .venv/bin/python benchmarks/engine_workers.py [--entries 20000] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.engine_throughput import corpus_entries  # noqa: E402
from monitor.connections import EmbeddedRedis, client_from_url  # noqa: E402
from monitor.feeds.entry import Entry  # noqa: E402
from monitor.streams import Keys  # noqa: E402
from tests.engine_workers_helpers import drained, engine_config, publish  # noqa: E402
from tests.ops_procs import Daemon  # noqa: E402
from tests.ops_servers import wait_for  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its waited-for children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(f) for f in fields[11:15]) / ticks


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its living children (the engine workers)."""
    total = cpu_seconds(pid)
    for task in Path("/proc").iterdir():
        if not task.name.isdigit():
            continue
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                total += cpu_seconds(int(task.name))
        except (OSError, ValueError):
            continue
    return total


async def burst(
    url: str, entries: list[Entry], workers: int, directory: Path, redis_pid: int
) -> None:
    """One daemon with ``workers``: time the burst from XADD to the last acknowledgement."""
    keys = Keys(f"bench{workers}x{os.getpid()}")
    client = client_from_url(url)
    config = engine_config(
        directory, redis_url=url, prefix=keys.prefix, workers=workers, rules=ROOT / "rules",
        claim_idle=60.0,
    )  # fmt: skip
    text = config.read_text().replace('level = "info"', 'level = "warning"')
    config.write_text(text)
    daemon = Daemon("engine", config, directory, f"engine-{workers}")
    daemon.start()
    try:
        await daemon.wait_ready(120)
        await wait_for(
            lambda: daemon.metric("treaty_monitor_engine_workers")
            if workers > 1 else True, 60,
        )  # fmt: skip
        assert daemon.process is not None
        cpu_before = tree_cpu(daemon.process.pid)
        redis_before = cpu_seconds(redis_pid)
        load = os.getloadavg()[0]
        await publish(client, keys, entries)
        started = time.monotonic()
        await wait_for(lambda: drained(client, keys), 900, 0.05)
        elapsed = time.monotonic() - started
        cpu = tree_cpu(daemon.process.pid) - cpu_before
        redis_cpu = cpu_seconds(redis_pid) - redis_before
        alerts = 0
        for channel in await client.smembers(keys.channels):
            alerts += await client.xlen(keys.alerts(channel))
        print(
            f"workers={workers}: {len(entries):,} entries drained in {elapsed:.1f} s: "
            f"{len(entries) / elapsed:,.0f} entries/s, {alerts / elapsed:,.0f} alerts/s "
            f"({alerts:,} alerts); engine CPU {cpu:.1f} s ({cpu / elapsed:.2f} cores), "
            f"redis-server {redis_cpu:.1f} s ({redis_cpu / elapsed:.2f}); "
            f"load at start {load:.1f}"
        )
    finally:
        await daemon.astop()
        stale = [k async for k in client.scan_iter(match=f"{keys.prefix}:*")]
        for start in range(0, len(stale), 500):
            await client.delete(*stale[start : start + 500])
        await client.aclose()


async def main() -> None:
    """Each worker count in turn, on one embedded redis-server."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    entries = corpus_entries(args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis")
        server.start()
        try:
            for workers in args.workers:
                directory = Path(tmp) / f"w{workers}"
                directory.mkdir()
                await burst(server.url, entries, workers, directory, server.server_pid())
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())

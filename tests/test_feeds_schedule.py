"""Scheduling: first poll at once, leases shared by fetchers, bounded stop, offline host."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from monitor.errors import ParseError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.poll import FeedPoller
from monitor.feeds.schedule import FeedScheduler
from monitor.feeds.store import FeedStore
from monitor.feeds.workers import ParseJob, ParsePool
from monitor.streams import Keys
from tests.feeds_helpers import FeedSite, raw_server, rss, serve_site, settings


@pytest.fixture
async def site() -> AsyncIterator[FeedSite]:
    """A local site with three feeds."""
    docs = {f"/f{i}": rss([(f"{i}-{j}", f"Feed {i} item {j}") for j in range(2)]) for i in range(3)}
    async with serve_site(FeedSite(docs=docs)) as running:
        yield running


async def _until(condition: object, within: float = 8.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_two_fetchers_poll_each_feed_once_and_at_once(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Two schedulers on one Redis fetch each feed exactly once, within seconds of start."""
    cfg = settings(
        [{"name": f"f{i}", "url": site.url(f"/f{i}"), "interval": "1h"} for i in range(3)],
        parse_workers=1,
    )
    one = FeedScheduler(cfg, redis_client, keys, instance="one")
    two = FeedScheduler(cfg, redis_client, keys, instance="two")
    started = time.monotonic()
    await asyncio.gather(one.start(), two.start())

    async def all_published() -> bool:
        return int(await redis_client.xlen(keys.entries)) >= 6

    try:
        await _until(all_published)
        await asyncio.sleep(0.5)
    finally:
        await asyncio.gather(one.stop(), two.stop())
    assert time.monotonic() - started < 10
    assert site.hits == {"/f0": 1, "/f1": 1, "/f2": 1}
    assert await redis_client.xlen(keys.entries) == 6
    assert await redis_client.smembers(keys.feeds) == {"f0", "f1", "f2"}
    assert 3200 < await redis_client.pttl(keys.feed_lease("f0")) / 1000 <= 3960


async def test_stop_returns_in_bounded_time_with_a_poll_in_flight(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A dripping server does not keep stop() waiting past its grace time."""

    async def drip(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(1000):
            w.write(b" ")
            await w.drain()
            await asyncio.sleep(0.1)

    async with raw_server(drip) as base:
        cfg = settings([{"name": "slow", "url": f"{base}/feed"}], timeout=60, parse_workers=1)
        scheduler = FeedScheduler(cfg, redis_client, keys, instance="x", stop_grace=0.5)
        await scheduler.start()
        await asyncio.sleep(0.5)
        started = time.monotonic()
        await scheduler.stop()
        assert time.monotonic() - started < 3


async def test_stop_cancels_polls_waiting_for_their_host_without_error_logs(
    redis_client: aioredis.Redis, keys: Keys, caplog: pytest.LogCaptureFixture
) -> None:
    """Polls queued behind a slow host's slot are cancelled at stop quietly: no scheduler
    "raised an exception" tracebacks, one count of cancelled polls."""

    async def drip(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(100):
            w.write(b" ")
            await w.drain()
            await asyncio.sleep(0.1)

    async with raw_server(drip) as base:
        feeds = [{"name": f"slow{i}", "url": f"{base}/{i}"} for i in range(4)]
        cfg = settings(feeds, timeout=60, per_host_concurrency=1, parse_workers=1)
        scheduler = FeedScheduler(cfg, redis_client, keys, instance="x", stop_grace=0.3)
        await scheduler.start()
        await asyncio.sleep(0.5)
        with caplog.at_level(logging.WARNING):
            await scheduler.stop()
    assert [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")] == []


async def test_restarted_instance_polls_at_once_despite_its_own_lease(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A lease left by the same instance name does not delay the first poll after a restart."""
    await redis_client.set(keys.feed_lease("f0"), "solo/123/abc", px=3_600_000)
    cfg = settings([{"name": "f0", "url": site.url("/f0")}], parse_workers=1)
    scheduler = FeedScheduler(cfg, redis_client, keys, instance="solo")
    await scheduler.start()

    async def published() -> bool:
        return int(await redis_client.xlen(keys.entries)) >= 2

    try:
        await _until(published)
    finally:
        await scheduler.stop()
    assert site.hits == {"/f0": 1}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_errors_do_not_count_when_every_feed_fails_at_once(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """With all feeds unreachable (our network down), errors stop counting against them."""
    port = _closed_port()
    cfg = settings([{"name": f"n{i}", "url": f"http://127.0.0.1:{port}/{i}"} for i in range(5)])
    pool = ParsePool(1, timeout=5, memory_bytes=1 << 30)
    poller = FeedPoller(cfg, FeedStore(redis_client, keys), Fetcher(cfg.fetch), pool)
    try:
        outcomes = [await poller.poll(feed) for feed in cfg.feeds]
    finally:
        await poller.fetcher.close()
        pool.close()
    states = [await poller.store.load(f.name) for f in cfg.feeds]
    assert [o.status for o in outcomes] == ["error", "error", "offline", "offline", "offline"]
    assert [s.consecutive_errors for s in states] == [1, 1, 0, 0, 0]
    assert {s.error_kind for s in states} == {"connect"}


async def test_a_worker_killed_by_its_cpu_limit_is_replaced() -> None:
    """A document over the CPU limit fails alone; the next document parses in a new worker."""
    pool = ParsePool(1, timeout=1, memory_bytes=1 << 30)
    now = datetime.now(UTC)
    heavy = ParseJob(rss(40_000), "f", "http://x/", now, max_items=40_000)
    try:
        with pytest.raises(ParseError):
            await pool.parse(heavy)
        light = await pool.parse(ParseJob(rss(2), "f", "http://x/", now))
    finally:
        pool.close()
    assert len(light.entries) == 2


async def test_many_feeds_at_full_concurrency_all_poll_at_once_without_store_errors(
    redis_client: aioredis.Redis, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    """250 feeds, 100 polls at a time: every feed's first poll happens at start, none is put
    off by its own Redis client running out of connections ("Too many connections")."""
    docs = {f"/f{i}": rss([(f"{i}-0", f"Feed {i} item")]) for i in range(250)}
    async with serve_site(FeedSite(docs=docs)) as running:
        cfg = settings(
            [{"name": f"f{i}", "url": running.url(f"/f{i}"), "interval": "1h"} for i in range(250)],
            parse_workers=2,
            concurrency=100,
            per_host_concurrency=100,  # one test server stands in for 250 hosts
        )
        scheduler = FeedScheduler(cfg, redis_client, keys, instance="one")
        await scheduler.start()

        async def all_published() -> bool:
            return int(await redis_client.xlen(keys.entries)) >= 250

        try:
            await _until(all_published, within=12.0)
        finally:
            await scheduler.stop()
    assert "feed_store_unavailable" not in capsys.readouterr().out
    assert running.hits == {f"/f{i}": 1 for i in range(250)}


async def test_a_slow_host_cannot_hold_up_a_feed_on_another_host(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """25 feeds on a host dripping a byte a second take at most ``per_host_concurrency`` of the
    poll slots, so a feed on another loopback host keeps its 2 s interval (gaps within 1 s)."""

    drips: list[float] = []

    async def drip(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        drips.append(time.monotonic())
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(60):
            w.write(b" ")
            await w.drain()
            await asyncio.sleep(1.0)

    fast = FeedSite(docs={"/fast": rss(1)})
    async with raw_server(drip) as slow_base, serve_site(fast, host="127.0.0.2"):
        feeds = [{"name": "fast", "url": fast.url("/fast", host="127.0.0.2"), "interval": "2s"}]
        feeds += [{"name": f"slow{i}", "url": f"{slow_base}/feed{i}"} for i in range(25)]
        cfg = settings(
            feeds, concurrency=4, per_host_concurrency=2, timeout=6, jitter=0, parse_workers=1
        )
        scheduler = FeedScheduler(cfg, redis_client, keys, instance="x", stop_grace=0.5)
        # A warm parser, so the first gap measures scheduling and not the pool's start-up.
        await scheduler.pool.parse(ParseJob(rss(1), "warm", "http://x/", datetime.now(UTC)))
        await scheduler.start()
        try:
            await asyncio.sleep(9)
        finally:
            await scheduler.stop()
    polls = fast.hit_times["/fast"]
    gaps = [round(later - earlier, 2) for earlier, later in itertools.pairwise(polls)]
    assert len(gaps) >= 3, gaps
    assert all(abs(gap - 2.0) <= 1.0 for gap in gaps), gaps
    # The slow host's first two polls hold its two slots until their 6 s deadline.
    assert len([t for t in drips if t < drips[0] + 5.0]) == 2, drips


_OWNER = """
import asyncio, os, sys
from datetime import UTC, datetime
from monitor.feeds.workers import ParseJob, ParsePool

async def main():
    pool = ParsePool(2, timeout=5, memory_bytes=1 << 30)
    job = ParseJob(body=sys.argv[1].encode(), feed="f", feed_url="http://x/", now=datetime.now(UTC))
    await asyncio.gather(pool.parse(job), pool.parse(job))
    print(os.getpid(), flush=True)
    await asyncio.sleep(600)

asyncio.run(main())
"""


def _descendants(pid: int) -> set[int]:
    """Every process whose chain of parents leads to ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_a_killed_daemon_leaves_no_parser_processes_behind(tmp_path: Path) -> None:
    """SIGKILL the process that owns a parse pool: its forkserver and workers exit within
    seconds instead of living on (they held each other alive before)."""
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, rss([("1", "Item")]).decode()],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    try:
        assert owner.stdout is not None
        pid = int(owner.stdout.readline())
        helpers = _descendants(pid)
        assert len(helpers) >= 3  # the forkserver and two workers
    finally:
        owner.kill()
        owner.wait()
        if owner.stdout is not None:
            owner.stdout.close()
    deadline = time.monotonic() + 10
    alive = helpers
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = {p for p in helpers if Path(f"/proc/{p}").exists() and not _zombie(p)}
    assert not alive


def _zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True

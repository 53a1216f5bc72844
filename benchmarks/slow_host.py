"""Benchmark: one slow host against a feed elsewhere: ``python benchmarks/slow_host.py``.

25 feeds on 127.0.0.1 drip one byte per second (each poll held until ``fetch.timeout``); one
feed on 127.0.0.2 has a 2 s interval. Runs the real scheduler (embedded Redis, parser pool) with
the per-host limit off (``per_host_concurrency = concurrency``) and at its default, and prints the
gaps between the fast feed's polls as its server saw them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from monitor.config import FetchSettings, Settings
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.feeds.schedule import FeedScheduler
from monitor.feeds.workers import ParseJob
from monitor.logs import configure_logging
from monitor.streams import Keys

SLOW_FEEDS = 25
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Fast</title>'
    b"<item><title>One</title><guid>one</guid></item></channel></rss>"
)


async def drip(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An HTTP answer that never finishes: one byte a second."""
    with contextlib.suppress(ConnectionError, asyncio.CancelledError):
        await _reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(600):
            writer.write(b" ")
            await writer.drain()
            await asyncio.sleep(1.0)
    writer.close()


@contextlib.asynccontextmanager
async def fast_server(polls: list[float]) -> AsyncIterator[int]:
    """The fast feed on 127.0.0.2, recording when each poll arrives; yields its port."""

    async def feed(_request: web.Request) -> web.Response:
        polls.append(time.monotonic())
        return web.Response(body=FEED, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.2", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def measure(redis_url: str, per_host: int, seconds: float, deadline: float) -> list[float]:
    """Gaps between the fast feed's polls over ``seconds`` with this per-host limit."""
    polls: list[float] = []
    slow = await asyncio.start_server(drip, "127.0.0.1", 0)
    slow_port = slow.sockets[0].getsockname()[1]
    async with fast_server(polls) as fast_port:
        feeds = [{"name": "fast", "url": f"http://127.0.0.2:{fast_port}/feed", "interval": 2}]
        feeds += [
            {"name": f"slow{i}", "url": f"http://127.0.0.1:{slow_port}/{i}"}
            for i in range(SLOW_FEEDS)
        ]
        fetch = FetchSettings(
            allow_private_networks=True, jitter=0, timeout=deadline, per_host_concurrency=per_host
        )
        settings = Settings(feeds=feeds, fetch=fetch)  # type: ignore[arg-type]
        client = client_from_url(redis_url)
        scheduler = FeedScheduler(settings, client, Keys(f"bench{per_host}"), instance="bench")
        await scheduler.pool.parse(ParseJob(FEED, "warm", "http://x/", datetime.now(UTC)))
        await scheduler.start()
        try:
            await asyncio.sleep(seconds)
        finally:
            await scheduler.stop()
            await client.aclose()
            slow.close()
    return [later - earlier for earlier, later in itertools.pairwise(polls)]


async def run(seconds: float, deadline: float) -> None:
    """Both runs on one embedded Redis."""
    redis_server = EmbeddedRedis(Path(tempfile.mkdtemp(prefix="slowhost-")))
    redis_server.start()
    try:
        concurrency = FetchSettings().concurrency
        default = FetchSettings().per_host_concurrency
        for label, per_host in (("off", concurrency), ("default", default)):
            gaps = await measure(redis_server.url, per_host, seconds, deadline)
            shown = " ".join(f"{g:.1f}" for g in gaps)
            worst = max(gaps) if gaps else float("nan")
            mean = statistics.mean(gaps) if gaps else float("nan")
            print(
                f"per_host_concurrency {per_host:2d} ({label:7s}): {len(gaps)} gaps, "
                f"mean {mean:.2f} s, max {worst:.2f} s | {shown}"
            )
    finally:
        redis_server.stop()


def main() -> None:
    """Print the fast feed's poll gaps with and without the per-host limit."""
    configure_logging("console", "critical")  # polls cancelled at stop log errors: not the point
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=25.0, help="length of each run")
    parser.add_argument("--timeout", type=float, default=10.0, help="fetch.timeout")
    args = parser.parse_args()
    print(
        f"{SLOW_FEEDS} dripping feeds on 127.0.0.1, one 2 s feed on 127.0.0.2, "
        f"fetch.timeout {args.timeout:g} s, concurrency {FetchSettings().concurrency}"
    )
    asyncio.run(run(args.seconds, args.timeout))


if __name__ == "__main__":
    main()

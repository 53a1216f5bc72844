"""Benchmark: fetch cycles over 1,000 feeds on a local server: ``python benchmarks/fetch_cycle.py``.

The server runs in its own process. 80% of the feeds answer 304 (ETag) or send the identical
body again (no validators); 20% have one or two new items. Prints feeds/s, CPU ms per fetch
(this process plus the parser workers) and new entries/s through fetch → parse → publish.
Targets on 2 cores: a full cycle in at most 10 s; at least 2,000 new entries/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from monitor.config import Settings
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.feeds.fetch import Fetcher
from monitor.feeds.poll import FeedPoller
from monitor.feeds.store import FeedStore
from monitor.feeds.workers import ParseJob, ParsePool
from monitor.logs import configure_logging
from monitor.streams import Keys

FEEDS = 1000
ITEMS = 20
FILLER = "Negotiators met again to discuss verification and the timetable for talks. " * 8


def document(feed: int, newest: int, items: int = ITEMS) -> bytes:
    """Feed ``feed``'s document whose newest item is number ``newest``."""
    parts = [
        f"<item><title>Feed {feed} story {n}</title>"
        f"<link>https://news{feed}.example/story/{n}</link>"
        f"<guid>https://news{feed}.example/story/{n}</guid>"
        f"<pubDate>Sat, 10 Jan 2026 12:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Story {n}. {FILLER}&lt;/p&gt;</description></item>"
        for n in range(newest, newest - items, -1)
    ]
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>News {feed}</title><link>https://news{feed}.example/</link>"
        + "".join(parts)
        + "</channel></rss>"
    ).encode()


def serve(port_file: str, items: int) -> None:
    """Run the feed server (a separate process) and write its port to ``port_file``."""
    newest = dict.fromkeys(range(FEEDS), 100)
    cache: dict[tuple[int, int], bytes] = {}

    async def feed(request: web.Request) -> web.Response:
        i = int(request.match_info["i"])
        key = (i, newest[i])
        body = cache.get(key) or cache.setdefault(key, document(i, newest[i], items))
        if i % 5 != 0 and i % 2 == 1:  # no validators: the same bytes again
            return web.Response(body=body, content_type="application/rss+xml")
        etag = f'"{i}-{newest[i]}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})

    async def advance(request: web.Request) -> web.Response:
        burst = int(request.query.get("burst", "0"))
        for i in range(FEEDS):
            if i % 5 == 0:
                newest[i] += burst or (2 if i % 10 == 0 else 1)
        return web.Response(text="ok")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/feed/{i}", feed)
        app.router.add_post("/advance", advance)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        await asyncio.to_thread(Path(port_file).write_text, str(port))
        await asyncio.Event().wait()

    asyncio.run(main())


def _cpu_of(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def cycle(
    poller: FeedPoller, pool: ParsePool, concurrency: int, *, changed_only: bool = False
) -> dict[str, float]:
    """Poll every feed once; → wall seconds, CPU seconds, new entries, statuses."""
    slots = asyncio.Semaphore(concurrency)
    workers = [p.pid for p in (getattr(pool._executor, "_processes", None) or {}).values()]
    cpu0, wcpu0 = time.process_time(), _cpu_of(workers)

    async def one(feed: object) -> tuple[str, int]:
        async with slots:
            outcome = await poller.poll(feed)  # type: ignore[arg-type]
        return outcome.status, outcome.new

    started = time.perf_counter()
    feeds = poller.settings.feeds
    if changed_only:
        feeds = tuple(f for i, f in enumerate(feeds) if i % 5 == 0)
    results = await asyncio.gather(*(one(f) for f in feeds))
    wall = time.perf_counter() - started
    main_cpu = time.process_time() - cpu0
    cpu = main_cpu + _cpu_of(workers) - wcpu0
    statuses: dict[str, float] = {}
    for status, _new in results:
        statuses[status] = statuses.get(status, 0) + 1
    new = sum(n for _s, n in results)
    return {"wall": wall, "cpu": cpu, "main_cpu": main_cpu, "new": new, "feeds": len(feeds)} | {
        f"={k}": v for k, v in statuses.items()
    }


def report(name: str, numbers: dict[str, float]) -> None:
    """Print one cycle's numbers."""
    wall, new, cpu, feeds = numbers["wall"], numbers["new"], numbers["cpu"], numbers["feeds"]
    statuses = {k[1:]: int(v) for k, v in numbers.items() if k.startswith("=")}
    print(
        f"{name:>9}: {int(feeds):4d} feeds {wall:6.2f} s wall {feeds / wall:6.0f} feeds/s | "
        f"CPU/fetch {cpu * 1000 / feeds:5.2f} ms ({numbers['main_cpu'] * 1000 / feeds:4.2f} loop)"
        f" | {int(new):5d} new {new / wall:5.0f}/s wall {new / cpu if cpu else 0:5.0f}/CPU-s"
        f" | {statuses}"
    )


async def run(port: int, concurrency: int, workers: int) -> None:
    """Warm up (first poll publishes everything), then measure steady and burst cycles."""
    import aiohttp

    state = Path(tempfile.mkdtemp(prefix="fetchbench-"))
    redis_server = EmbeddedRedis(state)
    redis_server.start()
    client = client_from_url(redis_server.url)
    feeds = [{"name": f"f{i}", "url": f"http://127.0.0.1:{port}/feed/{i}"} for i in range(FEEDS)]
    settings = Settings(
        feeds=feeds,  # type: ignore[arg-type]
        fetch={"allow_private_networks": True, "concurrency": concurrency},  # type: ignore[arg-type]
    )
    pool = ParsePool(workers, timeout=20, memory_bytes=1 << 30)
    fetcher = Fetcher(settings.fetch)
    poller = FeedPoller(settings, FeedStore(client, Keys("bench")), fetcher, pool)
    # Start the workers first so their CPU time is counted from the first cycle on.
    await pool.parse(ParseJob(document(0, 1, 1), "warm", "http://x/", datetime.now(UTC)))
    try:
        async with aiohttp.ClientSession() as control:
            report("cold", await cycle(poller, pool, concurrency))
            report("unchanged", await cycle(poller, pool, concurrency))
            (await control.post(f"http://127.0.0.1:{port}/advance")).release()
            report("steady", await cycle(poller, pool, concurrency))
            (await control.post(f"http://127.0.0.1:{port}/advance?burst=20")).release()
            report("burst", await cycle(poller, pool, concurrency, changed_only=True))
    finally:
        await fetcher.close()
        pool.close()
        await client.aclose()
        redis_server.stop()


def main() -> None:
    """Start the server process, run the cycles, print the numbers."""
    configure_logging("console", "warning")  # the numbers, not a log line per feed
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", metavar="PORT_FILE", help=argparse.SUPPRESS)
    parser.add_argument("--items", type=int, default=ITEMS, help="items per feed document")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2, help="parser processes")
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.items)
        return
    port_file = Path(tempfile.mkdtemp(prefix="fetchbench-port-")) / "port"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port_file), "--items", str(args.items)]
    )
    try:
        deadline = time.monotonic() + 20
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        size = len(document(0, 100, args.items))
        print(f"{FEEDS} feeds x {args.items} items (~{size} bytes), concurrency {args.concurrency}")
        print(
            f"{args.workers} parser workers, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        )
        asyncio.run(run(port, args.concurrency, args.workers))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()

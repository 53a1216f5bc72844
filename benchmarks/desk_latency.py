"""Desk latency with a year of alert history: page and API p50/p99, publish → open page.

Generates a year of a busy desk's history (default 15,000 stories, ~40 a day, each reported by
1–5 outlets and copied to 1–2 channels: ~40,000 alerts over 60 treaties, 40 actors, 80 feeds, the
six tags, 8% with a due date) into an embedded redis-server (or ``REDIS_URL``, whose database must
be empty; it is emptied again at the end), recorded through ``HistoryStore.add``: the first 2,000
alerts one at a time as the recorder does, the rest by concurrent writers. A child process
serves the desk and runs the history recorder on 127.0.0.1; this process requests each route in
turn (one request at a time) and then measures, over ``/live`` (Server-Sent Events), the time from
XADD on a channel stream to the story's ``alert`` event and to its fragment being fetched, as the
page's script does.

Run: ``.venv/bin/python benchmarks/desk_latency.py [--stories 15000] [--requests 200]``
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from monitor.alerts.alert import Alert, alert_id
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.desk.app import install
from monitor.desk.security import Guard
from monitor.events.model import Event
from monitor.feeds.entry import Entry
from monitor.history.recorder import HistoryRecorder
from monitor.history.store import SCAN_LIMIT, HistoryStore
from monitor.rules.match import Severity, Span
from monitor.streams import Keys

KEYS = Keys("bench")
RARE_WORD = "Svalbard"  # in the title of 1% of stories
ABSENT_WORD = "xylophone"  # in no title or summary: a search that scans SCAN_LIMIT records
TAGS = ("talks", "violation", "suspension", "withdrawal", "ratification", "deadline")
TAG_WEIGHTS = (35, 20, 15, 10, 10, 10)
CHANNELS = ("arms-control", "treaties", "urgent", "nuclear")
CHANNEL_WEIGHTS = (50, 25, 10, 15)
REAL_TREATIES = ("new-start", "inf", "ctbt", "npt", "jcpoa", "open-skies", "cfe", "bwc", "cwc",
                 "att", "tpnw", "abm", "salt-ii", "start-i", "ottawa", "ccm")  # fmt: skip
TREATIES = REAL_TREATIES + tuple(f"treaty-{i:02d}" for i in range(60 - len(REAL_TREATIES)))
ACTORS = ("ru", "us", "cn", "ir", "kp", "gb", "fr", "de", "ua", "by", "in", "pk", "il", "sa",
          "tr", "jp", "kr", "au", "ca", "br", "za", "eg", "pl", "se", "fi", "no", "it", "es",
          "nl", "be", "ch", "at", "kz", "az", "am", "ge", "iaea", "nato", "un", "eu")  # fmt: skip
FEEDS = tuple(f"outlet-{i:02d}" for i in range(80))
WORDS = ("minister", "talks", "Geneva", "Vienna", "delegation", "inspection", "missile", "warhead",
         "summit", "statement", "notice", "compliance", "verification", "parliament", "vote",
         "sanctions", "envoy", "council", "report", "deadline", "weapons", "nuclear", "treaty",
         "agreement", "protocol", "session", "review", "conference", "ambassador", "foreign",
         "ministry", "defence", "launch", "test", "site", "facility", "enrichment", "uranium",
         "stockpile", "limits", "extension", "expiry", "data", "exchange", "visit", "military",
         "exercise", "border", "security", "proposal", "response", "warning", "accord")  # fmt: skip
SUMMARY_WORDS = (*WORDS, "the", "a", "of", "on", "in", "and", "to", "said", "would", "after")


def _zipf(n: int, s: float = 1.1) -> list[float]:
    return [1 / (i + 1) ** s for i in range(n)]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


@dataclass(frozen=True)
class Story:
    """One generated story: its alerts, in the order they are recorded."""

    id: str
    treaty: str
    alerts: tuple[Alert, ...]


def _words(rng: random.Random, pool: tuple[str, ...], n: int) -> str:
    return " ".join(rng.choice(pool) for _ in range(n))


def _story(rng: random.Random, n: int, published: datetime) -> Story:
    """Story ``n``: treaty, actors, tags, outlets and channels drawn from skewed distributions."""
    treaty = rng.choices(TREATIES, _zipf(len(TREATIES)))[0]
    actors = tuple(sorted(set(rng.choices(ACTORS, _zipf(len(ACTORS)), k=rng.choice((1, 1, 2))))))
    tags = tuple(dict.fromkeys(rng.choices(TAGS, TAG_WEIGHTS, k=rng.choice((1, 1, 2)))))
    outlets = rng.choices((1, 2, 3, 4, 5), (40, 25, 15, 12, 8))[0]
    feeds = list(dict.fromkeys(rng.choices(FEEDS, _zipf(len(FEEDS), 0.9), k=outlets)))
    copies = rng.choice((1, 1, 2))
    channels = tuple(dict.fromkeys(rng.choices(CHANNELS, CHANNEL_WEIGHTS, k=copies)))
    due_share = 0.3 if "deadline" in tags else 0.05
    due = None
    if rng.random() < due_share:
        due = published.date() + timedelta(days=rng.randint(1, 120))
    rare = rng.random() < 0.01
    story = f"s{n:06d}"
    names = tuple(a.upper() for a in actors)
    event = Event(treaty=treaty, actors=actors, development=tags[0], due=due, published=published,
                  treaty_name=treaty.upper(), actor_names=names)  # fmt: skip
    severity = rng.choices(list(Severity), (5, 20, 40, 25, 10))[0]
    alerts = []
    for k, feed in enumerate(feeds):
        head = f"{treaty.upper()}: {actors[0].upper()} {tags[0]} {_words(rng, WORDS, 7)}"
        title = f"{head} {RARE_WORD}" if rare and k == 0 else head
        when = published + timedelta(minutes=rng.randint(0, 360) * (k > 0))
        entry = Entry(id=f"{feed}:{story}", feed=feed, feed_url=f"https://{feed}.example/feed",
                      guid=story, title=title, link=f"https://{feed}.example/{story}",
                      summary=_words(rng, SUMMARY_WORDS, rng.randint(30, 70)).capitalize() + ".",
                      published=when, fetched_at=when)  # fmt: skip
        span = (Span("title", 0, len(treaty), treaty.upper(), treaty),)
        rule = f"rule-{rng.randint(0, 29):02d}"
        for channel in channels:
            alerts.append(Alert(
                id=alert_id(f"{rule}:{channel}", entry.id), channel=channel, rule_id=rule,
                rule_title=rule, severity=severity, tags=tags, entry=entry, spans=span,
                deadline=due, created_at=when, event=event, story=story,
            ))  # fmt: skip
    return Story(story, treaty, tuple(alerts))


def year_of_stories(count: int, now: datetime, seed: int = 15) -> Iterator[Story]:
    """``count`` stories spread evenly (at random) over the year before ``now``, oldest first."""
    rng = random.Random(seed)
    offsets = sorted(rng.uniform(0, 365 * 86400) for _ in range(count))
    for n, offset in enumerate(offsets):
        yield _story(rng, n, now - timedelta(days=365) + timedelta(seconds=offset))


async def _used_memory(client: aioredis.Redis) -> int:
    info: dict[str, Any] = await client.info("memory")
    return int(info["used_memory"])


async def record_year(
    client: aioredis.Redis, stories: int, now: datetime, writers: int
) -> dict[str, Any]:
    """Record the year through ``HistoryStore.add``; returns counts, rates and memory.

    The first 2,000 alerts are recorded one at a time, as one recorder does (the rate printed);
    the rest by ``writers`` concurrent writers on disjoint stories, to keep the run short.
    """
    store = HistoryStore(client, KEYS)
    await client.sadd(KEYS.channels, *CHANNELS)
    before = await _used_memory(client)
    year = list(year_of_stories(stories, now))
    alerts = [a for s in year for a in s.alerts]
    head = alerts[:2000]
    started = time.perf_counter()
    for alert in head:
        await store.add(alert, alert.created_at + timedelta(seconds=30))
    sequential = len(head) / (time.perf_counter() - started)

    async def writer(part: list[Alert]) -> None:
        for alert in part:
            await store.add(alert, alert.created_at + timedelta(seconds=30))

    rest: list[list[Alert]] = [[] for _ in range(writers)]
    for alert in alerts[len(head) :]:
        rest[hash(alert.story) % writers].append(alert)
    await asyncio.gather(*(writer(part) for part in rest))
    seconds = time.perf_counter() - started
    after = await _used_memory(client)
    treaties = dict.fromkeys(TREATIES, 0)
    for story in year:
        treaties[story.treaty] += 1
    return {"stories": stories, "alerts": len(alerts), "seconds": seconds,
            "dues": sum(s.alerts[0].deadline is not None for s in year),
            "sequential": sequential, "writers": writers, "memory": after - before,
            "treaties": treaties}  # fmt: skip


def _desk_process(redis_url: str, ready: Any, done: Any) -> None:
    """Child: the desk on 127.0.0.1 and a history recorder, until the parent sets ``done``."""

    async def run() -> None:
        client = client_from_url(redis_url)
        app = web.Application()
        install(app, client, KEYS, Guard(None, loopback=True))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        recorder = HistoryRecorder(client, KEYS, consumer="bench", retention=timedelta(days=400))
        stop = asyncio.Event()
        task = asyncio.create_task(recorder.run(stop))
        ready.put(runner.addresses[0][1])
        await asyncio.to_thread(done.wait)
        stop.set()
        await task
        await runner.cleanup()
        await client.aclose()

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    asyncio.run(run())


async def _time_route(
    session: aiohttp.ClientSession, url: str, requests: int, budget: float
) -> tuple[list[float], int, int]:
    """Request ``url`` one at a time: latencies (ms), last status, last body size."""
    latencies: list[float] = []
    status = size = 0
    deadline = time.perf_counter() + budget
    while len(latencies) < requests and (len(latencies) < 5 or time.perf_counter() < deadline):
        started = time.perf_counter()
        async with session.get(url) as response:
            body = await response.read()
        latencies.append((time.perf_counter() - started) * 1000)
        status, size = response.status, len(body)
    return latencies, status, size


async def _deep_cursor(session: aiohttp.ClientSession, base: str, depth: int) -> str:
    """The API cursor ``depth`` stories down the timeline."""
    cursor = ""
    for _ in range(depth // 200):
        async with session.get(f"{base}/api/v1/alerts?limit=200{cursor}") as response:
            cursor = f"&cursor={(await response.json())['next']}"
    return cursor.removeprefix("&")


async def measure_routes(
    base: str, year: dict[str, Any], requests: int, budget: float
) -> list[tuple[str, list[float], int, int]]:
    """p50/p99/max per route."""
    counts = sorted(year["treaties"].items(), key=lambda kv: -kv[1])
    common, rare = counts[0][0], counts[-1][0]
    async with aiohttp.ClientSession() as session:
        cursor = await _deep_cursor(session, base, min(year["stories"] // 2, 6000))
        routes = [
            "/", "/?tag=talks", f"/?treaty={common}", f"/?treaty={rare}&tag=talks",
            "/?channel=urgent&severity=critical", f"/?q={RARE_WORD}", f"/?q={ABSENT_WORD}",
            f"/?{cursor}", "/api/v1/alerts?limit=50", f"/api/v1/alerts?limit=50&q={RARE_WORD}",
            "/treaties", "/deadlines", "/calendar.ics", "/feeds/urgent.atom",
            "/feeds/arms-control.json", "/rules", "/feeds",
        ]  # fmt: skip
        out = []
        for route in routes:
            latencies, status, size = await _time_route(session, base + route, requests, budget)
            out.append((route, latencies, status, size))
    return out


async def _sse_events(response: aiohttp.ClientResponse, arrived: dict[str, float]) -> None:
    """Record when each story's ``alert`` event arrives."""
    event = ""
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event == "alert":
            story = line[6:].split('"story": "', 1)[1].split('"', 1)[0]
            arrived.setdefault(story, time.perf_counter())


async def measure_live(
    client: aioredis.Redis, base: str, count: int, now: datetime
) -> tuple[list[float], list[float]]:
    """XADD → SSE ``alert`` event, and XADD → fragment fetched (ms), over ``count`` alerts."""
    arrived: dict[str, float] = {}
    to_event: list[float] = []
    to_fragment: list[float] = []
    rng = random.Random(99)
    async with aiohttp.ClientSession() as session, session.get(f"{base}/live") as live:
        reader = asyncio.create_task(_sse_events(live, arrived))
        await asyncio.sleep(1.0)  # the recorder follows the channels within 5 s of starting
        for n in range(count):
            alert = _story(rng, 900_000 + n, now).alerts[0]
            fields = {"alert": alert.to_json(), "id": alert.id, "rule": alert.rule_id,
                      "severity": alert.severity.label}  # fmt: skip
            sent = time.perf_counter()
            await client.xadd(KEYS.alerts(alert.channel), fields)  # type: ignore[arg-type]
            story = alert.story or ""
            while story not in arrived:
                if time.perf_counter() - sent > 10:
                    raise RuntimeError(f"story {story} never arrived on /live")
                await asyncio.sleep(0.0005)
            to_event.append((arrived[story] - sent) * 1000)
            async with session.get(f"{base}/fragment/story/{story}") as response:
                await response.read()
            to_fragment.append((time.perf_counter() - sent) * 1000)
            await asyncio.sleep(0.1)
        reader.cancel()
    return to_event, to_fragment


def _row(name: str, values: list[float], extra: str = "") -> str:
    return (f"{name:<46} {len(values):>4} {_pct(values, 0.5):>9.1f} {_pct(values, 0.99):>9.1f} "
            f"{max(values):>9.1f}  {extra}")  # fmt: skip


def report(year: dict[str, Any], routes: list[Any], live: tuple[list[float], list[float]],
           loads: tuple[Any, Any]) -> None:  # fmt: skip
    """Print the table."""
    print(f"load average (1/5/15 min) before: {'/'.join(f'{x:.1f}' for x in loads[0])}, "
          f"after: {'/'.join(f'{x:.1f}' for x in loads[1])} on {os.cpu_count()} cores")  # fmt: skip
    print(f"history: {year['stories']:,} stories, {year['alerts']:,} alerts over 365 days, "
          f"{year['dues']:,} with a due date")  # fmt: skip
    print(f"recording (HistoryStore.add): {year['sequential']:,.0f} alerts/s one at a time (as one "
          f"recorder); all {year['alerts']:,} in {year['seconds']:.1f} s with {year['writers']} "
          f"writers ({year['alerts'] / year['seconds']:,.0f} alerts/s)")  # fmt: skip
    print(f"redis memory for the history: {year['memory'] / 2**20:.1f} MiB, "
          f"{year['memory'] / year['stories'] / 1024:.2f} KiB per story")  # fmt: skip
    print(f"search bound: one request reads at most SCAN_LIMIT = {SCAN_LIMIT:,} candidate records")
    print()
    head = f"{'route':<46} {'n':>4} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}  {'1st ms':>8}"
    print(f"{head}  status, bytes")
    for route, latencies, status, size in routes:
        shown = route if len(route) <= 46 else route[:40] + "…" + route[-5:]
        print(_row(shown, latencies, f"{latencies[0]:>8.1f}  {status}, {size:,}"))
    print()
    print(_row("publish (XADD) → /live alert event", live[0]))
    print(_row("publish (XADD) → /fragment/story fetched", live[1]))


async def bench(args: argparse.Namespace) -> None:
    """Generate, serve, measure, print."""
    loads_before = os.getloadavg()
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        server = None
        url = os.environ.get("REDIS_URL", "")
        if not url:
            server = EmbeddedRedis(Path(tmp))
            server.start()
            url = server.url
        client = client_from_url(url)
        if await client.dbsize():
            await client.aclose()
            raise SystemExit("desk_latency: REDIS_URL's database is not empty (the run fills it)")
        ctx = multiprocessing.get_context("spawn")
        ready, done = ctx.Queue(), ctx.Event()
        child = ctx.Process(target=_desk_process, args=(url, ready, done))
        try:
            year = await record_year(client, args.stories, now, args.writers)
            print(f"recorded {year['alerts']:,} alerts in {year['seconds']:.1f} s", flush=True)
            child.start()
            port = await asyncio.to_thread(ready.get, True, 60)
            base = f"http://127.0.0.1:{port}"
            routes = await measure_routes(base, year, args.requests, args.budget)
            live = await measure_live(client, base, args.live, now)
        finally:
            done.set()
            if child.pid is not None:
                child.join(30)
            if server is None:
                await client.flushdb()  # leave REDIS_URL's database empty, as found
            await client.aclose()
            if server is not None:
                server.stop()
    report(year, routes, live, (loads_before, os.getloadavg()))


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=15_000, help="stories in the year")
    parser.add_argument("--requests", type=int, default=200, help="requests per route")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per route at most")
    parser.add_argument("--writers", type=int, default=16, help="concurrent writers (history)")
    parser.add_argument("--live", type=int, default=100, help="alerts published for /live")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()

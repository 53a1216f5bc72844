"""The engine role alone: entries/s from the entries stream to published alerts, with real Redis.

Fills ``tm:entries`` with the labelled corpus items (every one treaty news or a hard negative, so
most of them alert), repeated under fresh ids, then runs one :class:`monitor.engine.Engine` with
the shipped rules until every entry is acknowledged. Prints entries/s, alerts/s and the share of
time spent matching, so the Redis round trips per entry are visible. Runs against the embedded
redis-server (unix socket) and, when ``REDIS_URL`` is set, also against that server over TCP.

    .venv/bin/python benchmarks/engine_throughput.py [--entries 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from monitor.connections import EmbeddedRedis, client_from_url  # noqa: E402
from monitor.engine import Engine  # noqa: E402
from monitor.feeds.entry import Entry  # noqa: E402
from monitor.logs import configure_logging  # noqa: E402
from monitor.observe import stream_groups  # noqa: E402
from monitor.rules.evaluate import parse_labels  # noqa: E402
from monitor.rules.loader import load_rule_set  # noqa: E402
from monitor.streams import ENGINE_GROUP, Keys  # noqa: E402


class TimedRules:
    """The shipped rule set, timing its own ``match`` calls."""

    def __init__(self) -> None:
        self.rule_set = load_rule_set([ROOT / "rules"])
        self.seconds = 0.0

    def match(self, entry: Entry) -> list:  # type: ignore[type-arg]
        started = time.perf_counter()
        try:
            return self.rule_set.match(entry)
        finally:
            self.seconds += time.perf_counter() - started


def corpus_entries(count: int) -> list[Entry]:
    """``count`` entries cycling through the corpus, each its own story (no realert throttling)."""
    items = []
    for split in ("dev", "heldout", "fresh"):
        with (ROOT / "tests" / "corpus" / f"{split}.jsonl").open(encoding="utf-8") as handle:
            items += [item.to_entry() for item in parse_labels(handle, split)]
    return [
        dataclasses.replace(
            items[n % len(items)],
            id=f"bench:{n}",
            guid=str(n),
            link=f"https://example.org/{n}",
            title=f"{items[n % len(items)].title} (report {n})",
        )
        for n in range(count)
    ]


async def run_once(client: aioredis.Redis, entries: list[Entry], label: str) -> None:
    """Fill the stream, drain it with one engine, print the numbers."""
    keys = Keys(f"bench{os.getpid()}")
    await client.delete(keys.entries)
    async with client.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.xadd(keys.entries, {"entry": entry.to_json(), "feed": entry.feed, "id": entry.id})
        await pipe.execute()
    rules = TimedRules()
    engine = Engine(client, keys, lambda: rules, consumer="bench")
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(engine.run(stop))
    while True:
        await asyncio.sleep(0.05)
        groups = await stream_groups(client, keys.entries)  # lag on Redis 6.2 and 7 alike
        if any(g.group == ENGINE_GROUP and g.lag == 0 and g.pending == 0 for g in groups):
            break
    elapsed = time.perf_counter() - started
    stop.set()
    await task
    alerts = 0
    for channel in await client.smembers(keys.channels):
        alerts += await client.xlen(keys.alerts(channel))
    matched = sum(1 for _ in await client.keys(f"{keys.prefix}:matched:*"))
    print(
        f"{label:>22}: {len(entries) / elapsed:>7,.0f} entries/s, {alerts / elapsed:>7,.0f} "
        f"alerts/s ({len(entries)} entries, {matched} alerted, {alerts} alerts; matching "
        f"{rules.seconds / elapsed:.0%} of {elapsed:.1f} s)"
    )
    stale = await client.keys(f"{keys.prefix}:*")
    for start in range(0, len(stale), 500):
        await client.delete(*stale[start : start + 500])


async def main() -> None:
    """Run against the embedded server, then REDIS_URL if set."""
    configure_logging("console", "warning")  # the numbers, not a log line per alert
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=5000)
    args = parser.parse_args()
    entries = corpus_entries(args.entries)
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            client = client_from_url(server.url)
            await run_once(client, entries, "embedded (unix socket)")
            await client.aclose()
        finally:
            server.stop()
    if url := os.environ.get("REDIS_URL"):
        client = client_from_url(url)
        await run_once(client, entries, "REDIS_URL (tcp)")
        await client.aclose()


if __name__ == "__main__":
    asyncio.run(main())

"""Redis memory per entry and per alert, for the capacity model in docs/operations.md.

Fills an embedded redis-server with corpus entries (title + summary, and the same with ~3 KB of
article text), lets one engine drain them with the shipped rules, and prints ``used_memory``
grown per entry in the entries stream, per seen-store record, and per alert with its keys
(channel stream row, idempotency key, rule record, throttle window).

    .venv/bin/python benchmarks/redis_memory.py [--entries 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402

from benchmarks.engine_throughput import TimedRules, corpus_entries  # noqa: E402
from monitor.connections import EmbeddedRedis, client_from_url  # noqa: E402
from monitor.engine import Engine  # noqa: E402
from monitor.feeds.entry import Entry  # noqa: E402
from monitor.logs import configure_logging  # noqa: E402
from monitor.observe import stream_groups  # noqa: E402
from monitor.streams import ENGINE_GROUP, Keys  # noqa: E402


async def used(client: aioredis.Redis) -> int:
    """Bytes Redis holds for data."""
    info = await client.info("memory")
    return int(info["used_memory"])


async def measure(client: aioredis.Redis, entries: list[Entry], label: str) -> None:
    """Grow the stream, the seen store and the alerts; print bytes per item."""
    keys = Keys(f"mem{len(label)}")
    start = await used(client)
    async with client.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.xadd(keys.entries, {"entry": entry.to_json(), "feed": entry.feed, "id": entry.id})
        await pipe.execute()
    streamed = await used(client)
    async with client.pipeline(transaction=False) as pipe:
        for entry in entries:
            fingerprint = hashlib.sha256(entry.id.encode()).hexdigest()[:16]
            pipe.hset(keys.seen(f"feed{hash(entry.id) % 50}"), entry.id, f"{fingerprint}:20437")
        await pipe.execute()
    seen = await used(client)
    rules = TimedRules()
    engine = Engine(client, keys, lambda: rules, consumer="mem")
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    while True:
        await asyncio.sleep(0.1)
        groups = await stream_groups(client, keys.entries)
        if any(g.group == ENGINE_GROUP and g.lag == 0 and g.pending == 0 for g in groups):
            break
    stop.set()
    await task
    alerts = 0
    for channel in await client.smembers(keys.channels):
        alerts += await client.xlen(keys.alerts(channel))
    after = await used(client)
    size = sum(len(e.to_json()) for e in entries) / len(entries)
    print(
        f"{label:>18}: entry JSON {size:,.0f} B; entries stream "
        f"{(streamed - start) / len(entries):,.0f}"
        f" B/entry; seen store {(seen - streamed) / len(entries):,.0f} B/entry; alerts and their"
        f" keys {(after - seen) / max(1, alerts):,.0f} B/alert ({alerts} alerts of {len(entries)}"
        " entries)"
    )
    await client.flushdb()


async def main() -> None:
    """Both entry sizes against one embedded server."""
    configure_logging("console", "warning")
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=2000)
    args = parser.parse_args()
    short = corpus_entries(args.entries)
    pool = [f"{e.title}. {e.summary}" for e in short[:200]]
    article = [
        dataclasses.replace(e, content=" ".join(pool[(n + k) % len(pool)] for k in range(12)))
        for n, e in enumerate(short)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            client = client_from_url(server.url)
            await measure(client, short, "title+summary")
            await measure(client, article, "+3 KB article")
            await client.aclose()
        finally:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main())

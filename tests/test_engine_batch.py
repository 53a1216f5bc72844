"""The batched engine leaves Redis exactly as the entry-at-a-time engine does, on the corpus."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from monitor.engine import Engine
from monitor.engine_batch import handle_batch
from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.evaluate import parse_labels
from monitor.rules.loader import load_rule_set
from monitor.streams import ENGINE_GROUP, Keys

ROOT = Path(__file__).resolve().parent.parent


@cache
def _pack() -> RuleSet:
    return load_rule_set([ROOT / "rules"])


@cache
def _messages() -> tuple[tuple[Entry, bool], ...]:
    """Every corpus item, with edits right behind some originals (same batch) and far behind
    others, and retold stories (same title, another entry: the realert windows)."""
    entries: list[Entry] = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            entries += [item.to_entry() for item in parse_labels(handle, path.name)]
    out: list[tuple[Entry, bool]] = []
    later: list[tuple[Entry, bool]] = []
    for n, entry in enumerate(entries):
        out.append((entry, False))
        if n % 7 == 0:
            # The edit tells another story: its rules differ from the original's.
            other = entries[(n + 3) % len(entries)]
            edited = dataclasses.replace(entry, summary=f"{entry.summary} {other.summary}")
            out.append((edited, True))
        if n % 11 == 0:
            later.append((dataclasses.replace(entry, title=entry.title + " - update"), True))
        if n % 13 == 0:
            retold = dataclasses.replace(entry, id=entry.id + ":wire", guid=entry.guid + "w")
            later.append((retold, False))
    return tuple(out + later)


async def _fill(client: aioredis.Redis, keys: Keys) -> None:
    async with client.pipeline(transaction=False) as pipe:
        for entry, edited in _messages():
            fields = {"entry": entry.to_json(), "feed": entry.feed, "id": entry.id}
            pipe.xadd(keys.entries, {**fields, **({"edited": "1"} if edited else {})})
        await pipe.execute()


async def _state(client: aioredis.Redis, keys: Keys) -> dict[str, Any]:
    """Every key under the prefix with its value; alerts without their creation time."""
    state: dict[str, Any] = {}
    async for key in client.scan_iter(match=f"{keys.prefix}:*", count=1000):
        name = key.removeprefix(keys.prefix)
        kind = await client.type(key)
        if kind == "string":
            state[name] = await client.get(key)
        elif kind == "set":
            state[name] = sorted(await client.smembers(key))
        elif kind == "hash":
            state[name] = await client.hgetall(key)
        elif kind == "stream" and key != keys.entries:
            rows = []
            for _id, fields in await client.xrange(key):
                # An alert, or a story's follow-up source (docs/events.md): both compared.
                alert = json.loads(fields.pop("alert", None) or fields.pop("source"))
                alert.pop("created_at")
                rows.append((fields, alert))
            state[name] = rows
        elif kind == "stream":
            pending = await client.xpending(key, ENGINE_GROUP)
            state[name] = pending["pending"]
        else:
            state[name] = kind
    return state


async def _run(client: aioredis.Redis, keys: Keys, *, batched: bool, twice: bool = False) -> None:
    engine = Engine(client, keys, _pack, consumer="c")
    await engine.consumer.ensure_group()
    await _fill(client, keys)
    while messages := await engine.consumer.read(100, block_ms=10):
        if not batched:
            for message in messages:
                await engine.handle(message)
            continue
        await handle_batch(engine, messages)
        if twice:  # a redelivery of the whole batch, as after a crash before the XACK landed
            await handle_batch(engine, messages)


# The whole labelled corpus (6,600 items, 8,600 messages) through the engine two or three times:
# about a minute on an idle machine, several on a loaded one.
@pytest.mark.timeout(480)
async def test_a_batched_engine_leaves_the_same_alerts_records_and_windows_as_one_at_a_time(
    redis_client,
):
    """Alert payloads, throttle windows, rule records and idempotency keys match key for key."""
    one, many = Keys("one"), Keys("many")
    await _run(redis_client, one, batched=False)
    await _run(redis_client, many, batched=True)
    expected, found = await _state(redis_client, one), await _state(redis_client, many)
    assert any(name.startswith(":throttle:") for name in expected)
    assert sum(1 for name in expected if name.startswith(":alerts:")) >= 2
    assert found == expected


# The whole labelled corpus (6,600 items, 8,600 messages) through the engine two or three times:
# about a minute on an idle machine, several on a loaded one.
@pytest.mark.timeout(480)
async def test_a_batch_redelivered_after_a_crash_adds_nothing_twice(redis_client):
    """Handling every batch twice leaves the state of handling each entry once."""
    one, twice = Keys("one"), Keys("twice")
    await _run(redis_client, one, batched=False)
    await _run(redis_client, twice, batched=True, twice=True)
    assert await _state(redis_client, twice) == await _state(redis_client, one)


async def test_a_batch_with_an_unreadable_entry_still_acknowledges_every_message(
    redis_client, keys
):
    """A missing or invalid payload is logged and acknowledged with the rest of its batch."""
    engine = Engine(redis_client, keys, _pack, consumer="c")
    await engine.consumer.ensure_group()
    entry = _messages()[0][0]
    await redis_client.xadd(keys.entries, {"entry": "{not json"})
    await redis_client.xadd(keys.entries, {"feed": "x"})
    await redis_client.xadd(keys.entries, {"entry": entry.to_json(), "id": entry.id})
    made = await handle_batch(engine, await engine.consumer.read(10, block_ms=10))
    pending = await redis_client.xpending(keys.entries, ENGINE_GROUP)
    assert pending["pending"] == 0
    assert made == len({c for m in _pack().match(entry) for c in m.channels})


class _SlowMatcher:
    """A matcher that takes 30 ms per entry and notes the order of events."""

    def __init__(self, events: list[str]) -> None:
        self.events = events

    def match(self, entry: Entry) -> list[Any]:
        """No matches, after a pause that blocks the thread."""
        time.sleep(0.03)
        self.events.append("match")
        return []


async def test_a_long_batch_gives_the_event_loop_back_between_entries(redis_client, keys):
    """Other tasks of the process run while a batch of slow entries is being matched."""
    events: list[str] = []
    matcher = _SlowMatcher(events)
    engine = Engine(redis_client, keys, lambda: matcher, consumer="c")
    await engine.consumer.ensure_group()
    for entry, _edited in _messages()[:5]:
        await redis_client.xadd(keys.entries, {"entry": entry.to_json(), "id": entry.id})
    messages = await engine.consumer.read(10, block_ms=10)

    async def other_role() -> None:
        events.append("other")

    batch = asyncio.create_task(handle_batch(engine, messages))
    await asyncio.sleep(0)  # the batch starts first
    await asyncio.gather(batch, other_role())
    assert events.index("other") < len(events) - 1

"""An engine daemon with ``[engine] workers``, entry bursts, and what it left in Redis."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from monitor import observe
from monitor.alerts.alert import Alert
from monitor.feeds.entry import Entry
from monitor.streams import ENGINE_GROUP, Keys
from tests.ops_procs import config_head, write_test_rule

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def engine_config(
    directory: Path, *, redis_url: str, prefix: str, workers: int, rules: Path | None = None,
    claim_idle: float = 2.0,
) -> Path:  # fmt: skip
    """An engine-only daemon: ``workers`` processes, the test rule (or ``rules``), no HTTP feeds."""
    if rules is None:
        rules = write_test_rule(directory)
    parts = [
        *config_head(directory, redis_url=redis_url, prefix=prefix),
        f'[rules]\ndirs = ["{rules}"]\nwatch = false',
        f"[engine]\nworkers = {workers}",
        f"[delivery]\nclaim_idle = {claim_idle}",
    ]
    path = directory / "config.toml"
    path.write_text("\n\n".join(parts) + "\n")
    return path


def entry(n: int, title: str, feed: str = "wire", minutes: int = 0) -> Entry:
    """Entry ``n`` of ``feed``, published ``minutes`` after NOW."""
    at = NOW + timedelta(minutes=minutes)
    return Entry(
        id=f"{feed}:{n}", feed=feed, feed_url="http://127.0.0.1/feed", guid=str(n), title=title,
        link=f"https://example.org/{feed}/{n}", published=at, fetched_at=at,
    )  # fmt: skip


async def publish(client: aioredis.Redis, keys: Keys, entries: list[Entry]) -> None:
    """XADD every entry to the entries stream, as the fetcher does."""
    async with client.pipeline(transaction=False) as pipe:
        for item in entries:
            pipe.xadd(keys.entries, {"entry": item.to_json(), "feed": item.feed, "id": item.id})
        await pipe.execute()


async def drained(client: aioredis.Redis, keys: Keys) -> bool:
    """The engine group has read and acknowledged every entry."""
    for group in await observe.stream_groups(client, keys.entries):
        if group.group == ENGINE_GROUP:
            return group.lag == 0 and group.pending == 0
    return False


async def workers_of(client: aioredis.Redis, keys: Keys) -> dict[int, dict[str, Any]]:
    """Heartbeat records of engine worker processes, by worker number."""
    found = {}
    for raw in (await client.hgetall(keys.heartbeats)).values():
        record = json.loads(raw)
        if "worker" in record:
            found[int(record["worker"])] = record
    return found


async def alerts(client: aioredis.Redis, keys: Keys) -> dict[str, list[Alert]]:
    """Every alert of every channel stream, in stream order."""
    found = {}
    for channel in sorted(await client.smembers(keys.channels)):
        rows = await client.xrange(keys.alerts(channel))
        found[channel] = [Alert.from_json(fields["alert"]) for _id, fields in rows]
    return found


async def outcome(
    client: aioredis.Redis, keys: Keys, label: Callable[[str], str]
) -> dict[str, Any]:
    """What the engine left in Redis, in terms that do not depend on which consumer read what.

    Entries are named by ``label`` (the same report from several outlets shares one): which
    outlet's copy won a realert window, and so opened the story, depends on the order of reading;
    how many stories and alerts there are, and of which reports, must not. Stories by the labels
    of their members, alerts per channel by rule and story, each entry's rule record.
    """
    story_of: dict[str, str] = {}
    async for key in client.scan_iter(match=f"{keys.prefix}:story-of:*"):
        story_of[key.removeprefix(f"{keys.prefix}:story-of:")] = await client.get(key)
    members: dict[str, set[str]] = {}
    for entry_id, story in story_of.items():
        members.setdefault(story, set()).add(label(entry_id))
    block = {story: tuple(sorted(ids)) for story, ids in members.items()}
    matched = {}
    async for key in client.scan_iter(match=f"{keys.prefix}:matched:*"):
        matched[key.removeprefix(f"{keys.prefix}:matched:")] = json.loads(await client.get(key))
    by_channel = {
        channel: Counter(
            (alert.rule_id, block.get(alert.story or "", (label(alert.entry.id),)))
            for alert in rows
        )
        for channel, rows in (await alerts(client, keys)).items()
    }
    return {"stories": Counter(block.values()), "alerts": by_channel, "matched": matched}

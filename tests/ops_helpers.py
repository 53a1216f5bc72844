"""Shared setup for the operations tests: a Redis that looks like a pipeline in mid-flight."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.feeds.entry import Entry
from monitor.rules.match import Match, Severity
from monitor.streams import ENGINE_GROUP, Keys, subscription_group

CHANNEL = "arms-control"
SUBSCRIPTION = "desk"


def make_alert(n: int, title: str = "Russia suspends New START inspections") -> Alert:
    """An alert built through the real model (so its JSON is the documented wire format)."""
    entry = Entry(
        id=f"wire:{n}",
        feed="wire",
        feed_url="http://127.0.0.1/wire.xml",
        guid=str(n),
        title=title,
        link=f"http://127.0.0.1/{n}",
    )
    match = Match(
        rule_id="treaty-suspension",
        rule_title="Treaty suspended",
        severity=Severity.parse("high"),
        channels=(CHANNEL,),
        tags=("new-start",),
        spans=(),
    )
    return Alert.from_match(match, entry, CHANNEL, datetime(2026, 11, 27, 12, n, tzinfo=UTC))


async def seed_pipeline(client: aioredis.Redis, keys: Keys, now: float) -> None:
    """Feeds in three states, a half-read entries stream, one channel, a dead letter, heartbeats.

    Expected readings: entries/engine lag 2 pending 2; alerts/sub:desk lag 2 pending 0; one dead
    letter; feed ``fresh`` 30 s old, ``failing`` 4000 s old with 3 errors, ``new`` never fetched.
    """
    await client.sadd(keys.feeds, "fresh", "failing", "new")
    await client.hset(keys.feed_state("fresh"), mapping={"last_success": now - 30, "errors": 0})
    await client.hset(
        keys.feed_state("failing"),
        mapping={"last_success": now - 4000, "errors": 3, "last_error": "timeout after 30s"},
    )
    for n in range(5):
        await client.xadd(keys.entries, {"entry": json.dumps({"n": n})})
    await client.xgroup_create(keys.entries, ENGINE_GROUP, id="0")
    read = await client.xreadgroup(ENGINE_GROUP, "c1", {keys.entries: ">"}, count=3)
    await client.xack(keys.entries, ENGINE_GROUP, read[0][1][0][0])
    await client.sadd(keys.channels, CHANNEL)
    for n in range(2):
        await client.xadd(keys.alerts(CHANNEL), {"alert": make_alert(n).to_json()})
    await client.xgroup_create(keys.alerts(CHANNEL), subscription_group(SUBSCRIPTION), id="0")
    await client.xadd(keys.dead_letters, {"alert": "{}", "subscription": SUBSCRIPTION})
    await client.hset(
        keys.rules_status, mapping={"version": "r-abc123", "loaded_at": now - 60, "error": ""}
    )
    await client.hset(
        keys.heartbeats,
        mapping={
            "host-a:101": json.dumps({"role": "fetcher", "pid": 101, "host": "host-a", "at": now}),
            "host-b:7": json.dumps({"role": "engine", "pid": 7, "host": "host-b", "at": now - 600}),
        },
    )

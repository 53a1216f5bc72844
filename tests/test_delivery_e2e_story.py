"""End to end: one formal withdrawal notice from three outlets and a Russian one reaches a
treaties+urgent webhook subscription as exactly one alert carrying the deadline, then follow-ups.

Real Redis, a real webhook server on 127.0.0.1, the shipped rule pack. The alerts are made as
the engine makes them (the pack's matches folded per channel); ``event`` and ``story`` are set as
the events engine sets them. The engine-fed variant below runs the real engine and skips until
the engine assigns stories (the ``events`` branch): the integrator removes nothing, it turns on.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.sinks import build_sink
from monitor.config import SinkSettings
from monitor.engine import Engine
from monitor.events.model import Event
from monitor.feeds.entry import Entry
from monitor.rules.combine import by_channel
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set
from monitor.streams import Keys
from tests.delivery_helpers import HttpReceiver, http_receiver, publish
from tests.story_helpers import STORY_DELIVERY, Clock, drained, start, until

PUBLISHED = datetime(2020, 5, 22, 12, tzinfo=UTC)
DEADLINE = date(2021, 12, 18)
REPORTS = [
    ("reuters", "en", "Russia formally notifies withdrawal from Open Skies Treaty",
     "Moscow delivered its formal notice of withdrawal to the depositaries on Friday; the "
     "withdrawal takes effect in six months, on 18 December 2021."),
    ("ap", "en", "Moscow submits official notice to quit Open Skies pact",
     "Russia handed over its formal withdrawal notification; under the treaty the exit takes "
     "effect six months later, on 18 December 2021."),
    ("bbc", "en", "Russia files notice of withdrawal from Open Skies accord",
     "The notification of withdrawal was deposited with Canada and Hungary; it will take effect "
     "on 18 December 2021."),
    ("ria", "ru", "Россия направила уведомление о выходе из Договора по открытому небу",
     "Москва официально уведомила депозитариев о выходе из договора; выход вступит в силу "
     "18 декабря 2021 года."),
]  # fmt: skip
EVENT = Event(
    treaty="open-skies", actors=("ru",), development="withdrawal", secondary=("deadline",),
    due=DEADLINE, published=PUBLISHED, treaty_name="Open Skies Treaty", actor_names=("Russia",),
)  # fmt: skip


def _entry(feed: str, lang: str, title: str, summary: str) -> Entry:
    return Entry(
        id=f"{feed}:open-skies", feed=feed, feed_url=f"https://{feed}.example/feed", guid="1",
        title=title, link=f"https://{feed}.example/open-skies", summary=summary,
        published=PUBLISHED, fetched_at=PUBLISHED, language=lang,
    )  # fmt: skip


def _engine_alerts(rules: RuleSet, entry: Entry) -> list[Alert]:
    """What the engine publishes for ``entry``: one alert per channel, matches folded."""
    return [
        replace(Alert.from_match(m, entry, channel, PUBLISHED), event=EVENT, story="open-skies-1")
        for channel, m in by_channel(rules.match(entry))
    ]


def _webhook(server: HttpReceiver) -> object:
    settings = SinkSettings(name="hook", type="webhook", url=SecretStr(server.url),
                            rate_per_second=1000)  # fmt: skip
    return build_sink(settings, {}, subscription="desk", backoff_max=60.0)


def _check(bodies: list[dict[str, object]]) -> None:
    assert [b["type"] for b in bodies][:1] == ["alert"]
    assert {b["type"] for b in bodies[1:]} <= {"followup"}
    first = bodies[0]
    assert first["due"] == DEADLINE.isoformat()
    assert first["alert"]["severity"] == "critical"  # type: ignore[index]
    assert first["alert"]["deadline"] == DEADLINE.isoformat()  # type: ignore[index]
    assert first["event"]["line"] == "Russia · Open Skies Treaty · withdrawal"  # type: ignore[index]
    assert {"withdrawal", "deadline"} <= set(first["alert"]["tags"])  # type: ignore[index]
    for followup in bodies[1:]:
        assert followup["story"] == first["story"]
        assert followup["due"] == DEADLINE.isoformat()


async def test_one_notice_from_four_outlets_is_one_alert_with_the_deadline_then_followups(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """The urgent copy (no deadline) arrives first; one critical alert carrying 2021-12-18 goes
    out, then one follow-up naming ap, bbc and ria; nothing else."""
    rules = load_rule_set([repo_root / "rules"])
    batches = [_engine_alerts(rules, _entry(*report)) for report in REPORTS]
    assert all({a.channel for a in batch} == {"treaties", "urgent"} for batch in batches)
    clock = Clock()
    async with http_receiver() as server:
        running = start(redis_client, keys, _webhook(server), clock)
        await until(lambda: drained(redis_client, keys))
        for alert in sorted(batches[0], key=lambda a: a.channel != "urgent"):  # urgent first
            await publish(redis_client, keys, alert)
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.merge_delay + 1)
        await until(lambda: len(server.received) == 1)
        for batch in batches[1:]:
            for alert in batch:
                await publish(redis_client, keys, alert)
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.followup_delay + 1)
        await until(lambda: len(server.received) == 2)
        clock.advance(STORY_DELIVERY.followup_delay * 5)
        await asyncio.sleep(0.5)
        await running.stop()
    bodies = [r.json() for r in server.received]
    _check(bodies)
    assert len(bodies) == 2
    assert bodies[1]["sources"] == ["ap", "bbc", "ria"]
    assert bodies[1]["sources_total"] == 4


async def test_the_engine_fed_story_reaches_the_webhook_as_one_alert_then_followups(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """The same four reports through the real engine (which assigns the story) and notifier."""
    rules = load_rule_set([repo_root / "rules"])
    engine = Engine(redis_client, keys, lambda: rules, consumer="e1")
    await engine.consumer.ensure_group()
    clock = Clock()
    async with http_receiver() as server:
        running = start(redis_client, keys, _webhook(server), clock)
        await until(lambda: drained(redis_client, keys))
        for report in REPORTS:
            await redis_client.xadd(keys.entries, {"entry": _entry(*report).to_json()})
        for message in await engine.consumer.read(100, block_ms=10):
            await engine.handle(message)
        rows = await redis_client.xrange(keys.alerts("treaties"))
        if not rows or Alert.from_json(rows[0][1]["alert"]).story is None:
            await running.stop()
            pytest.skip("the engine does not assign stories yet (events branch)")
        await until(lambda: drained(redis_client, keys))

        def advanced() -> bool:
            clock.advance(STORY_DELIVERY.followup_delay + STORY_DELIVERY.merge_delay)
            return len(server.received) >= 2

        await until(advanced)
        for _ in range(10):
            advanced()
            await asyncio.sleep(0.05)
        await running.stop()
    _check([r.json() for r in server.received])

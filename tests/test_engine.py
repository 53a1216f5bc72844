"""The engine role against a real Redis: entries in, alerts out, exactly once."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime

import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.engine import Engine
from monitor.feeds.entry import Entry
from monitor.rules.match import Match, Severity, Span
from monitor.streams import ENGINE_GROUP, Keys, Message

NOW = datetime(2019, 1, 16, 18, 0, tzinfo=UTC)


def _entry(guid: str = "a", title: str = "US to withdraw from INF Treaty") -> Entry:
    return Entry(
        id=f"wire:{guid}",
        feed="wire",
        feed_url="http://127.0.0.1/feed",
        guid=guid,
        title=title,
        link=f"https://example.org/{guid}",
        published=NOW,
        fetched_at=NOW,
    )


class KeywordMatcher:
    """A second implementation of the matcher port: one rule per keyword, for engine tests."""

    def __init__(self, rules: dict[str, tuple[str, ...]], realert: float = 0.0) -> None:
        self.rules = rules
        self.realert = realert

    def match(self, entry: Entry) -> list[Match]:
        """Every rule whose keyword occurs in the title."""
        found = []
        for word, channels in self.rules.items():
            start = entry.title.lower().find(word)
            if start >= 0:
                span = Span("title", start, start + len(word), word, word)
                found.append(
                    Match(
                        rule_id=f"kw-{word}",
                        rule_title=word,
                        severity=Severity.HIGH,
                        channels=channels,
                        tags=("withdrawal",),
                        spans=(span,),
                        throttle_key="story" if self.realert else "",
                        realert_seconds=self.realert,
                    )
                )
        return found


async def _publish_entry(client: aioredis.Redis, keys: Keys, entry: Entry, **extra: str) -> str:
    fields = {"entry": entry.to_json(), "feed": entry.feed, "id": entry.id, **extra}
    return str(await client.xadd(keys.entries, fields))  # type: ignore[arg-type]


async def _alerts(client: aioredis.Redis, keys: Keys, channel: str) -> list[Alert]:
    rows = await client.xrange(keys.alerts(channel))
    return [Alert.from_json(fields["alert"]) for _id, fields in rows]


async def _drain(engine: Engine) -> None:
    for message in await engine.consumer.read(100, block_ms=10):
        await engine.handle(message)


async def test_a_matching_entry_becomes_one_alert_per_channel(redis_client, keys):
    """One match with two channels adds the alert to both channel streams."""
    matcher = KeywordMatcher({"withdraw": ("treaties", "urgent")})
    engine = Engine(redis_client, keys, lambda: matcher, consumer="c1")
    await engine.consumer.ensure_group()
    await _publish_entry(redis_client, keys, _entry())
    await _drain(engine)
    for channel in ("treaties", "urgent"):
        alerts = await _alerts(redis_client, keys, channel)
        assert [a.rule_id for a in alerts] == ["kw-withdraw"]
        assert alerts[0].channel == channel
        assert alerts[0].entry.title == "US to withdraw from INF Treaty"
    assert await redis_client.smembers(keys.channels) == {"treaties", "urgent"}


async def test_an_entry_is_acknowledged_after_its_alerts_are_published(redis_client, keys):
    """Nothing stays pending in the engine group once an entry was handled."""
    engine = Engine(redis_client, keys, lambda: KeywordMatcher({"inf": ("t",)}), consumer="c1")
    await engine.consumer.ensure_group()
    await _publish_entry(redis_client, keys, _entry())
    await _drain(engine)
    pending = await redis_client.xpending(keys.entries, ENGINE_GROUP)
    assert pending["pending"] == 0


async def test_evaluating_the_same_entry_twice_publishes_no_second_alert(redis_client, keys):
    """A redelivered entry (crash before ack) does not double the alert."""
    engine = Engine(redis_client, keys, lambda: KeywordMatcher({"inf": ("t",)}), consumer="c1")
    await engine.consumer.ensure_group()
    stream_id = await _publish_entry(redis_client, keys, _entry())
    fields = {"entry": _entry().to_json()}
    assert await engine.handle(Message(keys.entries, stream_id, fields)) == 1
    assert await engine.handle(Message(keys.entries, stream_id, fields)) == 0
    assert len(await _alerts(redis_client, keys, "t")) == 1


async def test_an_unacknowledged_entry_is_claimed_by_another_consumer(redis_client, keys):
    """An entry read by a consumer that died is taken over once idle (XAUTOCLAIM)."""
    matcher = KeywordMatcher({"inf": ("t",)})
    dead = Engine(redis_client, keys, lambda: matcher, consumer="dead", claim_idle_ms=10)
    await dead.consumer.ensure_group()
    await _publish_entry(redis_client, keys, _entry())
    assert len(await dead.consumer.read(10, block_ms=10)) == 1  # read, never acknowledged
    await asyncio.sleep(0.05)
    alive = Engine(redis_client, keys, lambda: matcher, consumer="alive", claim_idle_ms=10)
    for message in await alive.consumer.claim_idle():
        await alive.handle(message)
    assert len(await _alerts(redis_client, keys, "t")) == 1
    assert (await redis_client.xpending(keys.entries, ENGINE_GROUP))["pending"] == 0


async def test_a_realert_window_holds_back_the_same_story(redis_client, keys):
    """Within the window a second entry with the same throttle key raises no alert."""
    matcher = KeywordMatcher({"inf": ("t",)}, realert=3600)
    engine = Engine(redis_client, keys, lambda: matcher, consumer="c1")
    await engine.consumer.ensure_group()
    await _publish_entry(redis_client, keys, _entry("a"))
    await _publish_entry(redis_client, keys, _entry("b"))
    await _drain(engine)
    assert [a.entry.guid for a in await _alerts(redis_client, keys, "t")] == ["a"]


async def test_a_throttled_alert_retried_after_a_crash_still_fires(redis_client, keys):
    """The throttle recognises the alert that holds the window as itself."""
    matcher = KeywordMatcher({"inf": ("t",)}, realert=3600)
    engine = Engine(redis_client, keys, lambda: matcher, consumer="c1")
    entry = _entry("a")
    # First attempt took the window, then crashed before publishing.
    await engine._throttle(keys=[keys.throttle("kw-inf", "story")], args=[_alert_id(entry), 3600])
    assert await engine.publish(entry, matcher.match(entry), now=NOW) == 1


def _alert_id(entry: Entry) -> str:
    from monitor.alerts.alert import alert_id

    return alert_id("kw-inf", entry.id)


async def test_an_edited_entry_alerts_only_for_rules_it_did_not_match_before(redis_client, keys):
    """An edit that adds a match alerts for the new rule only."""
    matcher = KeywordMatcher({"inf": ("t",), "deadline": ("t",)})
    engine = Engine(redis_client, keys, lambda: matcher, consumer="c1")
    await engine.consumer.ensure_group()
    first = _entry("a", "Talks on INF Treaty")
    await _publish_entry(redis_client, keys, first)
    await _drain(engine)
    edited = replace(first, title="Talks on INF Treaty: deadline set")
    await _publish_entry(redis_client, keys, edited, edited="1")
    await _drain(engine)
    assert [a.rule_id for a in await _alerts(redis_client, keys, "t")] == ["kw-inf", "kw-deadline"]
    assert json.loads(await redis_client.get(keys.matched(first.id))) == ["kw-deadline", "kw-inf"]


async def test_an_unreadable_entry_is_logged_and_acknowledged(redis_client, keys):
    """A poison message does not block the group."""
    engine = Engine(redis_client, keys, lambda: KeywordMatcher({"inf": ("t",)}), consumer="c1")
    await engine.consumer.ensure_group()
    await redis_client.xadd(keys.entries, {"entry": "{not json"})
    await _drain(engine)
    assert (await redis_client.xpending(keys.entries, ENGINE_GROUP))["pending"] == 0
    assert await _alerts(redis_client, keys, "t") == []


async def test_the_engine_stops_when_asked(redis_client, keys):
    """run() returns soon after the stop event is set."""
    engine = Engine(redis_client, keys, lambda: KeywordMatcher({}), consumer="c1")
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_the_engine_recreates_its_group_when_the_stream_vanishes(redis_client, keys):
    """After the entries stream is deleted (e.g. a Redis without persistence restarted)."""
    matcher = KeywordMatcher({"inf": ("t",)})
    engine = Engine(redis_client, keys, lambda: matcher, consumer="c1")
    stop = asyncio.Event()
    task = asyncio.create_task(engine.run(stop))
    await asyncio.sleep(0.2)
    await redis_client.delete(keys.entries)
    await asyncio.sleep(1.5)
    await _publish_entry(redis_client, keys, _entry())
    for _ in range(50):
        if await _alerts(redis_client, keys, "t"):
            break
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(await _alerts(redis_client, keys, "t")) == 1

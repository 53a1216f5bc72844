"""The engine's events and stories against a real Redis: one story per event, channels alike."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.connections import client_from_url
from monitor.engine import Engine
from monitor.engine_batch import handle_batch
from monitor.events.model import Event
from monitor.events.store import VERSION, RedisStories
from monitor.events.stories import slot_keys
from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set
from monitor.streams import Keys

NOW = datetime(2019, 2, 1, 15, 0, tzinfo=UTC)
PACK = Path(__file__).resolve().parent.parent / "rules"


def _entry(guid: str, title: str, published: datetime = NOW, feed: str = "wire") -> Entry:
    return Entry(
        id=f"{feed}:{guid}",
        feed=feed,
        feed_url="http://127.0.0.1/feed",
        guid=guid,
        title=title,
        link=f"https://example.org/{guid}",
        published=published,
        fetched_at=published,
    )


async def _alerts(client: aioredis.Redis, keys: Keys, channel: str) -> list[Alert]:
    rows = await client.xrange(keys.alerts(channel))
    return [Alert.from_json(fields["alert"]) for _id, fields in rows]


async def _engine(client: aioredis.Redis, keys: Keys, pack: RuleSet) -> Engine:
    return Engine(client, keys, lambda: pack, consumer="c1")


async def test_every_channel_alert_of_an_entry_carries_one_event_story_and_due_date(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """treaties and urgent copies of a formal notice share event, story and deadline."""
    pack = load_rule_set([PACK])
    engine = await _engine(redis_client, keys, pack)
    title = "US serves formal notice of withdrawal from INF Treaty, effective in six months"
    entry = _entry("en", title)
    await engine.publish(entry, pack.match(entry), now=NOW)
    (treaties,) = await _alerts(redis_client, keys, "treaties")
    (urgent,) = await _alerts(redis_client, keys, "urgent")
    assert treaties.event is not None
    assert treaties.event == urgent.event
    assert (treaties.event.treaty, treaties.event.actors) == ("inf", ("us",))
    assert treaties.event.development == "withdrawal"
    assert treaties.story is not None
    assert treaties.story == urgent.story
    assert treaties.deadline == urgent.deadline == treaties.event.due
    assert urgent.deadline is not None


async def test_reports_of_one_event_in_two_languages_join_one_story(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A French report an hour later joins the English report's story; Russia's own step next
    day, and the same step three years on, open stories of their own."""
    pack = load_rule_set([PACK])
    engine = await _engine(redis_client, keys, pack)
    entries = [
        _entry("en", "US suspends INF Treaty obligations"),
        _entry("fr", "Washington suspend le traité FNI", NOW + timedelta(hours=1), "lemonde"),
        _entry("ru", "Russia suspends INF Treaty in mirror response", NOW + timedelta(days=1)),
        _entry("late", "Washington suspends the INF accord", NOW + timedelta(days=1100)),
    ]
    for entry in entries:
        await engine.publish(entry, pack.match(entry), now=NOW)
    stories = {a.entry.guid: a.story for a in await _alerts(redis_client, keys, "treaties")}
    assert stories["en"] == stories["fr"]
    assert len({stories["en"], stories["ru"], stories["late"]}) == 3


def _event(actors: tuple[str, ...] = ("us",)) -> Event:
    return Event(treaty="inf", actors=actors, development="suspension", published=NOW)


async def test_two_engines_assigning_one_event_at_once_open_one_story(
    redis_url: str, keys: Keys
) -> None:
    """Concurrent assignments over two connections never open two stories for one event."""
    clients = [client_from_url(redis_url), client_from_url(redis_url)]
    stores = [RedisStories(client, keys) for client in clients]
    try:
        ids = await asyncio.gather(
            *(
                stores[n % 2].assign(f"wire:{n}", _event(), "US suspends INF", NOW)
                for n in range(20)
            )
        )
        assert len(set(ids)) == 1
        own_slot = keys.story_bucket(slot_keys(_event(), NOW)[0])
        assert set(await clients[0].hgetall(own_slot)) == {ids[0], VERSION}
    finally:
        for client in clients:
            await client.aclose()


async def test_a_redelivered_entry_keeps_its_story(redis_client: aioredis.Redis, keys: Keys):
    """Assigning the same entry again (a crash before the ack) returns its first story."""
    stores = RedisStories(redis_client, keys)
    first = await stores.assign("wire:1", _event(), "US suspends INF", NOW)
    await stores.assign("wire:2", _event(("ru",)), "Russia suspends INF", NOW)
    assert await stores.assign("wire:1", _event(), "US suspends INF", NOW) == first


async def test_an_unreadable_story_record_is_skipped(redis_client: aioredis.Redis, keys: Keys):
    """A corrupt record in a bucket is logged and left out; assignment carries on."""
    await redis_client.hset(keys.story_bucket(slot_keys(_event(), NOW)[0]), "broken", "{not json")
    stores = RedisStories(redis_client, keys)
    first = await stores.assign("wire:1", _event(), "US suspends INF", NOW)
    assert await stores.assign("wire:2", _event(), "US suspends INF", NOW) == first


async def test_stories_are_kept_by_treaty_and_time_slot(redis_client: aioredis.Redis, keys: Keys):
    """A story is written to its treaty's slot of its first report; a report one window later
    still finds it in the neighbouring slot; one far later reads other slots and opens its own."""
    stores = RedisStories(redis_client, keys)
    first = await stores.assign("wire:1", _event(), "US suspends INF", NOW)
    own = await redis_client.hgetall(keys.story_bucket(slot_keys(_event(), NOW)[0]))
    assert set(own) == {first, VERSION}
    later = replace(_event(), published=NOW + timedelta(days=2, hours=23))
    assert await stores.assign("wire:2", later, "US suspends INF", NOW) == first
    far = replace(_event(), published=NOW + timedelta(days=40))
    assert await stores.assign("wire:3", far, "US suspends INF", NOW) != first


async def test_a_report_naming_no_treaty_joins_a_named_story_through_redis(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A story is also written to the slot of every treaty; a report naming a treaty only by a
    common noun reads that slot and joins the story of its actor and step, also when a second
    engine writes in between (the slot's version moves)."""
    stores = RedisStories(redis_client, keys)
    first = await stores.assign("wire:1", _event(), "US suspends INF", NOW)
    unnamed = replace(_event(), treaty=None)
    every = await redis_client.hgetall(keys.story_bucket(slot_keys(unnamed, NOW)[0]))
    assert set(every) == {first, VERSION}
    version = every[VERSION]
    other = RedisStories(redis_client, keys)
    await other.assign("wire:2", _event(("ru",)), "Russia suspends INF", NOW)
    moved = await redis_client.hget(keys.story_bucket(slot_keys(unnamed, NOW)[0]), VERSION)
    assert moved != version
    joined = await stores.assign("wire:3", unnamed, "US freezes Cold War missile treaty", NOW)
    assert joined == first


NOTICE = [
    ("ap", "US serves formal notice of withdrawal from INF Treaty, effective in six months"),
    ("reuters", "Washington formally notifies Moscow it is leaving the INF Treaty; exit takes "
     "effect in six months"),
    ("bbc", "U.S. hands Russia formal notice of INF withdrawal, six-month clock starts"),
    ("tass", "США официально уведомили Россию о выходе из ДРСМД, выход вступит в силу через "
     "шесть месяцев"),
]  # fmt: skip


async def test_one_formal_notice_from_four_outlets_is_one_story_on_both_channels(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Three outlets and a Russian report of one notice: every treaties and urgent alert carries
    the same story and due date (what the notifier's one message per story relies on)."""
    pack = load_rule_set([PACK])
    engine = await _engine(redis_client, keys, pack)
    for n, (feed, title) in enumerate(NOTICE):
        entry = _entry(f"n{n}", title, NOW + timedelta(minutes=20 * n), feed)
        await engine.publish(entry, pack.match(entry), now=NOW)
    alerts = [
        *await _alerts(redis_client, keys, "treaties"),
        *await _alerts(redis_client, keys, "urgent"),
    ]
    assert len(alerts) == 8
    assert len({a.story for a in alerts}) == 1
    assert {a.deadline for a in alerts} == {date(2019, 8, 1)}
    lines = {a.event.line() for a in alerts if a.event}
    assert lines == {"United States · INF Treaty · withdrawal"}


async def test_the_batched_engine_gives_every_alert_its_event_and_story(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Through the running engine's batch path: reports of one notice, one batch, one story."""
    pack = load_rule_set([PACK])
    engine = await _engine(redis_client, keys, pack)
    await engine.consumer.ensure_group()
    for n, (feed, title) in enumerate(NOTICE):
        entry = _entry(f"b{n}", title, NOW + timedelta(minutes=20 * n), feed)
        await redis_client.xadd(keys.entries, {"entry": entry.to_json()})
    messages = await engine.consumer.read(100, block_ms=10)
    assert len(messages) == 4
    await handle_batch(engine, messages)
    alerts = [
        *await _alerts(redis_client, keys, "treaties"),
        *await _alerts(redis_client, keys, "urgent"),
    ]
    assert len(alerts) == 8
    assert len({a.story for a in alerts}) == 1
    assert all(a.event is not None and a.event.treaty == "inf" for a in alerts)
    assert {a.deadline for a in alerts} == {date(2019, 8, 1)}


async def test_a_batch_is_assigned_in_order_and_again_the_same(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """In one batch a later report joins the story an earlier one opened, another actor opens
    its own, the same entry twice gets one story; the batch again (a redelivery) gets the same."""
    stores = RedisStories(redis_client, keys)
    batch = [
        ("wire:1", _event(), "US suspends INF"),
        ("wire:2", replace(_event(), published=NOW + timedelta(hours=2)), "Washington suspend"),
        ("wire:3", _event(("ru",)), "Russia suspends INF"),
        ("wire:1", _event(), "US suspends INF"),
    ]
    first = await stores.assign_many(batch, NOW)
    assert first[0] == first[1] == first[3] != first[2]
    assert await stores.assign_many(batch, NOW) == first

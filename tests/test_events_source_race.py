"""A follow-up source that starts waiting just as another engine opens its story still joins it
(real Redis: two engines' stores and engines on one database, their steps interleaved by hand).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.engine import Engine
from monitor.engine_batch import handle_batch
from monitor.events.actors import load_actors
from monitor.events.extract import extractor_for
from monitor.events.model import Event
from monitor.events.store import RedisStories
from monitor.events.stories import Story
from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set
from monitor.streams import Keys
from tests.open_skies_reports import NOTICE, PUBLISHED, REACTION, report


def _reports(rules: RuleSet) -> tuple[Entry, Event, Entry, Event]:
    extractor = extractor_for(rules, load_actors())
    reaction = report(*REACTION, at=PUBLISHED - timedelta(hours=1))
    source = extractor.source(reaction)
    notice = report(*NOTICE, at=PUBLISHED)
    event = extractor.event(notice, rules.match(notice))
    assert source is not None
    assert event is not None
    return reaction, source, notice, event


async def test_a_wait_refused_because_a_story_opened_meanwhile_joins_that_story(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """Engine A finds no story for the reaction; engine B opens the notice's story and finds no
    source waiting; A's wait is then refused (the bucket changed), and A's second look joins
    the story, on the channels of its first alerts though B has not published them yet."""
    rules = load_rule_set([repo_root / "rules"])
    reaction, source, notice, event = _reports(rules)
    engine_a, engine_b = RedisStories(redis_client, keys), RedisStories(redis_client, keys)
    versions: dict[str, str] = {}
    item = (reaction.id, source, reaction.title)
    assert await engine_a.join_many([item], PUBLISHED, versions=versions) == [(None, (), False)]
    opened: list[Story] = []
    [story] = await engine_b.assign_many(
        [(notice.id, event, notice.title)], PUBLISHED, opened, [("treaties", "urgent")]
    )
    assert await engine_b.waiting_for(opened) == [(opened[0], [])]  # B sees nobody waiting
    async with redis_client.pipeline(transaction=False) as pipe:
        await engine_a.wait(pipe, reaction, source, PUBLISHED, versions)
        assert await pipe.execute() == [1]  # refused: it did not wait
    joins = await engine_a.rejoin([(reaction, source)], PUBLISHED)
    assert joins == [(reaction, source, (story, ("treaties", "urgent"), False))]
    assert not await redis_client.keys(keys.waiting_sources("*"))


async def test_a_wait_that_lands_before_the_story_opens_is_taken_by_the_story(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """The other order: A's wait lands first (no story yet), so B's story, opened after it,
    finds the reaction waiting and takes it."""
    rules = load_rule_set([repo_root / "rules"])
    reaction, source, notice, event = _reports(rules)
    engine_a, engine_b = RedisStories(redis_client, keys), RedisStories(redis_client, keys)
    versions: dict[str, str] = {}
    await engine_a.join_many([(reaction.id, source, reaction.title)], PUBLISHED, versions=versions)
    async with redis_client.pipeline(transaction=False) as pipe:
        await engine_a.wait(pipe, reaction, source, PUBLISHED, versions)
        assert await pipe.execute() == [0]
    opened: list[Story] = []
    await engine_b.assign_many([(notice.id, event, notice.title)], PUBLISHED, opened)
    [(_, waiting)] = await engine_b.waiting_for(opened)
    assert [entry.id for entry, _ in waiting] == [reaction.id]


async def test_an_engine_whose_source_raced_another_engines_story_publishes_it_once(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """Two engines: A reads the buckets for the reaction, B handles the notice's batch (story
    opened, alerts published, nobody waiting), then A records the reaction: it goes to each of
    the story's channels as one ``source`` record, and a redelivery adds none."""
    rules = load_rule_set([repo_root / "rules"])
    reaction, source, notice, _ = _reports(rules)
    engine_a = Engine(redis_client, keys, lambda: rules, consumer="a")
    engine_b = Engine(redis_client, keys, lambda: rules, consumer="b")
    await engine_b.consumer.ensure_group()
    versions: dict[str, str] = {}
    item = (reaction.id, source, reaction.title)
    [joined] = await engine_a.stories.join_many([item], PUBLISHED, versions=versions)
    await redis_client.xadd(keys.entries, {"entry": notice.to_json()})
    assert await handle_batch(engine_b, await engine_b.consumer.read(100, block_ms=10)) == 2
    await engine_a.join_source(reaction, source, joined, PUBLISHED, versions)
    [again] = await engine_a.stories.join_many([item], PUBLISHED)
    await engine_a.join_source(reaction, source, again, PUBLISHED)  # a redelivery
    found: dict[str, list[str]] = {}
    for channel in ("treaties", "urgent"):
        for _, fields in await redis_client.xrange(keys.alerts(channel)):
            if "source" in fields:
                found.setdefault(channel, []).append(Alert.from_json(fields["source"]).entry.id)
    assert found == {"treaties": [reaction.id], "urgent": [reaction.id]}

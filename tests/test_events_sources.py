"""Follow-up sources: a report that alerts on nothing but names a story's treaty and actor joins
the story as "+N sources", in replays and in the daemon (real Redis, a real webhook on loopback).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.sinks import build_sink
from monitor.config import SinkSettings
from monitor.engine import Engine
from monitor.engine_batch import handle_batch
from monitor.events.actors import load_actors
from monitor.events.extract import extractor_for
from monitor.events.model import Event
from monitor.events.replay import Grouper
from monitor.events.sources import background, follow, other_step
from monitor.events.store import RedisStories
from monitor.events.stories import Story, open_story, title_words
from monitor.rules.loader import load_rule_set
from monitor.streams import Keys
from tests.delivery_helpers import http_receiver
from tests.open_skies_reports import NOTICE, PUBLISHED, REACTION, report
from tests.story_helpers import STORY_DELIVERY, Clock, drained, first_marked, start, until


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Allies scramble after Russia's Open Skies move", False),
        ("What is the Open Skies Treaty?", True),
        ("Will Russia quit New START?", True),
        ("The INF Treaty at 30: a look back", True),
        ("ОДКБ отмечает 30-летие Договора о коллективной безопасности", True),
        ("Vingt-cinq ans après sa signature, le TICE attend toujours", True),
        ("Russia, which left the CFE Treaty in 2007, warns NATO", True),
        ("Kommentar: Der Abschied vom Minenverbot ist ein Fehler", True),
        ("Analistas advierten que Irán podría abandonar el TNP", True),
        ("Poland and Baltic states recommend leaving landmine convention", False),
    ],
)
def test_explainers_anniversaries_and_dated_background_read_as_background(
    title: str, expected: bool
) -> None:
    """A title that explains, looks back or dates its step far back is no follow-up source."""
    assert background(report("x", title, at=datetime(2023, 1, 1, tzinfo=UTC))) is expected


@pytest.mark.parametrize(
    ("title", "summary", "expected"),
    [
        ("Europe's human rights body expels Russia", "", True),
        ("Council of Europe throws Russia out", "", True),
        ("Tehran hits back with plans for a new plant", "", True),
        ("Europeans trigger snapback against Iran", "", True),
        ("Trump quits Iran deal", "Washington will reimpose sanctions.", False),
        ("Allies scramble after Russia's Open Skies move", "", False),
        ("Duterte retracts order to end Visiting Forces Agreement with US", "", True),
        ("Россия возобновляет участие в зерновой сделке", "", True),
        ("Bujumbura turns its back on The Hague court", "", False),
        ("U.S. submits notice of withdrawal from WHO", "It could rejoin later.", False),
        # a step refused or disowned the next day (grouping fresh18's two merges)
        ("Hungary U-turns on suspending EU asylum rules", "", True),
        ("Венгрия не будет приостанавливать Дублинский регламент", "", True),
        ("Анкара не намерена выплачивать Кипру компенсацию", "", True),
        ("L'APCE refuse de valider les pouvoirs de la délégation azerbaïdjanaise", "", False),
        ("Ungarn rudert bei Asylregeln zurück", "", True),
        ("Netanyahu: Israel will not sign UN migration pact", "", False),
        ("Südafrika verzichtet auf Atomwaffen", "", False),
        # a threat of its own (grouping fresh20's and fresh11's last merges)
        ("Moscow says vessels bound for Odesa may be treated as military targets", "", True),
        ("El Kremlin amenaza la navegación civil en el mar Negro", "", True),
        ("West African bloc suspends Mali, threatens action", "", True),
        ("Russland droht mit Gegenschlag", "", True),
    ],
)
def test_a_report_leading_on_a_step_of_its_own_is_another_development(
    title: str, summary: str, expected: bool
) -> None:
    """Expulsions, counter-steps, reversals, refusals and snapback are steps of their own
    (sanctions, reversals and refusals only in the title)."""
    assert other_step(report("x", title, summary)) is expected


def _story(actors: tuple[str, ...] = ("ru",), start: datetime = PUBLISHED) -> object:
    event = Event("open-skies", actors, "withdrawal", published=start)
    return open_story("reuters:1", event, title_words(NOTICE[1]), start)


@pytest.mark.parametrize(
    ("actors", "published", "joins"),
    [
        (("ru",), PUBLISHED + timedelta(hours=5), True),
        (("ru", "us"), PUBLISHED - timedelta(hours=5), True),  # an earlier outlet still joins
        (("us",), PUBLISHED + timedelta(hours=5), False),  # no actor of the story
        (("ru",), PUBLISHED + timedelta(days=4), False),  # outside the window
        ((), PUBLISHED, False),  # no actor named
    ],
)
def test_a_source_joins_only_a_story_of_its_treaty_and_actor_within_the_window(
    actors: tuple[str, ...], published: datetime, joins: bool
) -> None:
    """Treaty, a shared actor and publication within the window; never a story of its own."""
    source = Event("open-skies", actors, "", published=published)
    story = _story()
    chosen = follow(source, frozenset(), [story], published)  # type: ignore[list-item]
    assert (chosen is story) is joins


@pytest.mark.parametrize(
    ("words", "development", "joins"),
    [
        ((), "violation", True),  # no development's words: any story of its treaty and actor
        (("withdrawal",), "withdrawal", True),
        (("suspension", "withdrawal"), "membership", True),  # an exit, a pause, a sanction
        (("violation", "withdrawal"), "withdrawal", True),  # "quits the pact it says was broken"
        (("suspension", "withdrawal"), "violation", False),  # an exit is no follow-up of a finding
        (("violation",), "suspension", False),  # nor a breach of a pause
        (("withdrawal",), "talks", True),  # talks, joining, a due date: words tell nothing
        (("withdrawal",), "deadline", True),
    ],
)
def test_a_source_using_a_developments_words_joins_only_a_story_of_that_kind(
    words: tuple[str, ...], development: str, joins: bool
) -> None:
    """'Colonels walk out of Strasbourg club' (withdrawal words) is no follow-up of the
    Council's finding that Greece breached its Statute, opened hours before Greece's exit."""
    source = Event("open-skies", ("ru",), "", words, published=PUBLISHED)
    story = open_story(
        "reuters:1",
        Event("open-skies", ("ru",), development, published=PUBLISHED),
        title_words(NOTICE[1]),
        PUBLISHED,
    )
    assert (follow(source, frozenset(), [story], PUBLISHED) is story) is joins


def test_a_source_carries_the_developments_whose_words_it_uses(repo_root: Path) -> None:
    """Extractor.source: the developments the pack's words name, as the source's secondary."""
    extractor = extractor_for(load_rule_set([repo_root / "rules"]), load_actors())
    walkout = report(
        "reuters",
        "Colonels walk out of Strasbourg club before they can be thrown out",
        "Greece's foreign minister told the ministers that Athens was leaving the Council of"
        " Europe rather than face suspension.",
    )
    source = extractor.source(walkout)
    assert source is not None
    assert source.development == ""
    assert {"withdrawal", "suspension"} <= set(source.secondary)
    assert "violation" not in source.secondary


def test_the_replay_puts_a_quiet_second_outlet_in_the_first_outlets_story(
    repo_root: Path,
) -> None:
    """``match``/backtest grouping: the reaction gets the notice's story and no event."""
    rules = load_rule_set([repo_root / "rules"])
    grouper = Grouper(rules)
    notice = report(NOTICE[0], NOTICE[1], NOTICE[2])
    reaction = report(REACTION[0], REACTION[1], REACTION[2], at=PUBLISHED + timedelta(hours=2))
    assert rules.match(reaction) == []
    event, story = grouper.add(notice, rules.match(notice))
    assert event is not None
    assert story is not None
    assert grouper.add(reaction, []) == (None, story)
    assert grouper.sources == 1
    early = Grouper(rules)  # a source never opens a story: it waits for one
    assert early.add(reaction, []) == (None, None)
    assert early.add(notice, rules.match(notice))[1] == story
    assert early.story_of(reaction) == story


async def test_a_redelivered_source_keeps_its_story_and_an_early_one_waits_for_it(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """The daemon's store decides a join once (story and channels, SET NX): a redelivery
    publishes it exactly as the first time; a source published before its story waits, and the
    story, once opened, takes it."""
    rules = load_rule_set([repo_root / "rules"])
    extractor = extractor_for(rules, load_actors())
    stories = RedisStories(redis_client, keys)
    reaction = report(REACTION[0], REACTION[1], REACTION[2], at=PUBLISHED + timedelta(hours=2))
    source = extractor.source(reaction)
    assert source is not None
    early = replace(reaction, id="ap:early")
    joined = await stories.join_many([(early.id, source, early.title)], PUBLISHED)
    assert joined == [(None, (), False)]
    async with redis_client.pipeline(transaction=False) as pipe:
        await stories.wait(pipe, early, source, PUBLISHED)
        await pipe.execute()
    notice = report(NOTICE[0], NOTICE[1], NOTICE[2])
    event = extractor.event(notice, rules.match(notice))
    assert event is not None
    opened: list[Story] = []
    [story] = await stories.assign_many([(notice.id, event, notice.title)], PUBLISHED, opened)
    [(new, waiting)] = await stories.waiting_for(opened)
    assert new.id == story
    assert [entry.id for entry, _ in waiting] == ["ap:early"]  # the story takes the early one
    await redis_client.sadd(keys.story_channels(story), "treaties")
    item = (reaction.id, source, reaction.title)
    joined = await stories.join_many([item], PUBLISHED)
    assert joined == [(story, ("treaties",), False)]
    async with redis_client.pipeline(transaction=False) as pipe:
        stories.decide(pipe, reaction.id, joined[0], source)
        await pipe.execute()
    await redis_client.sadd(keys.story_channels(story), "urgent")  # a later alert's channel
    assert await stories.join_many([item], PUBLISHED) == [(story, ("treaties",), True)]


async def test_a_quiet_second_outlet_reaches_the_webhook_as_a_followup_only(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """Engine (batched, as the daemon runs it) → notifier → webhook: the notice is one alert;
    a second outlet's report that alerts on nothing is one follow-up "+1 sources: ap"; the
    source's redelivery and a restart of the notifier send nothing more."""
    rules = load_rule_set([repo_root / "rules"])
    engine = Engine(redis_client, keys, lambda: rules, consumer="e1")
    await engine.consumer.ensure_group()
    clock = Clock()
    settings = SinkSettings(name="hook", type="webhook", rate_per_second=1000,
                            url=SecretStr("http://127.0.0.1:1/"))  # fmt: skip
    async with http_receiver() as server:
        settings = settings.model_copy(update={"url": SecretStr(server.url)})
        sink = build_sink(settings, {}, subscription="desk", backoff_max=60.0)
        running = start(redis_client, keys, sink, clock)
        await until(lambda: drained(redis_client, keys))
        notice = report(NOTICE[0], NOTICE[1], NOTICE[2])
        await redis_client.xadd(keys.entries, {"entry": notice.to_json()})
        await handle_batch(engine, await engine.consumer.read(100, block_ms=10))
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.merge_delay + 1)
        await until(lambda: len(server.received) == 1)
        reaction = report(REACTION[0], REACTION[1], REACTION[2], at=PUBLISHED + timedelta(hours=2))
        for _ in range(2):  # the second time: a redelivery of the same entry
            await redis_client.xadd(keys.entries, {"entry": reaction.to_json()})
            await handle_batch(engine, await engine.consumer.read(100, block_ms=10))
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.followup_delay + 1)
        await until(lambda: len(server.received) == 2)
        await running.stop()
        running = start(redis_client, keys, sink, clock)
        clock.advance(STORY_DELIVERY.followup_delay * 5)
        await asyncio.sleep(0.5)
        await running.stop()
    bodies = [r.json() for r in server.received]
    assert [b["type"] for b in bodies] == ["alert", "followup"]
    assert bodies[1]["story"] == bodies[0]["story"]
    assert bodies[1]["sources"] == ["ap"]
    assert bodies[1]["sources_total"] == 2
    assert bodies[1]["due"] == bodies[0]["due"] == "2021-12-18"
    streams = [keys.alerts(c) for c in ("treaties", "urgent")]
    sources = [f for s in streams for _, f in await redis_client.xrange(s) if "source" in f]
    assert len(sources) == 2  # once per channel the story went to, not once per delivery


async def test_the_one_entry_path_publishes_a_source_once_per_channel_and_no_edit_as_one(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """``Engine.handle`` (the reference path) puts a quiet report on each of the story's
    channels as a ``source`` record, once; an edited entry matching nothing is no source."""
    rules = load_rule_set([repo_root / "rules"])
    engine = Engine(redis_client, keys, lambda: rules, consumer="e1")
    await engine.consumer.ensure_group()
    notice = report(NOTICE[0], NOTICE[1], NOTICE[2])
    reaction = report(REACTION[0], REACTION[1], REACTION[2], at=PUBLISHED + timedelta(hours=2))
    edited = report(REACTION[0], REACTION[1], REACTION[2], guid="2")
    await redis_client.xadd(keys.entries, {"entry": notice.to_json()})
    await redis_client.xadd(keys.entries, {"entry": reaction.to_json()})
    await redis_client.xadd(keys.entries, {"entry": reaction.to_json()})
    await redis_client.xadd(keys.entries, {"entry": edited.to_json(), "edited": "1"})
    for message in await engine.consumer.read(100, block_ms=10):
        await engine.handle(message)
    found: dict[str, list[str]] = {}
    for channel in ("treaties", "urgent"):
        for _, fields in await redis_client.xrange(keys.alerts(channel)):
            if "source" in fields:
                found.setdefault(channel, []).append(Alert.from_json(fields["source"]).entry.id)
    assert found == {"treaties": ["ap:1"], "urgent": ["ap:1"]}


async def test_a_quiet_report_seen_before_the_first_alert_joins_the_story_once_opened(
    redis_client: aioredis.Redis, keys: Keys, repo_root: Path
) -> None:
    """A quiet outlet handled a batch before the notice waits; the notice's story takes it, and
    the subscriber gets the alert, then one follow-up naming the quiet outlet."""
    rules = load_rule_set([repo_root / "rules"])
    engine = Engine(redis_client, keys, lambda: rules, consumer="e1")
    await engine.consumer.ensure_group()
    clock = Clock()
    async with http_receiver() as server:
        settings = SinkSettings(name="hook", type="webhook", rate_per_second=1000,
                                url=SecretStr(server.url))  # fmt: skip
        sink = build_sink(settings, {}, subscription="desk", backoff_max=60.0)
        running = start(redis_client, keys, sink, clock)
        reaction = report(REACTION[0], REACTION[1], REACTION[2], at=PUBLISHED - timedelta(hours=1))
        notice = report(NOTICE[0], NOTICE[1], NOTICE[2])
        for entry in (reaction, notice):  # one batch each, the quiet report first
            await redis_client.xadd(keys.entries, {"entry": entry.to_json()})
            await handle_batch(engine, await engine.consumer.read(100, block_ms=10))
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.merge_delay + 1)
        await until(lambda: len(server.received) >= 1)
        story = server.received[0].json()["story"]
        await until(lambda: first_marked(running, story))
        clock.advance(STORY_DELIVERY.followup_delay + 1)
        await until(lambda: len(server.received) >= 2)
        clock.advance(STORY_DELIVERY.followup_delay * 5)
        await asyncio.sleep(0.3)
        await running.stop()
    bodies = [r.json() for r in server.received]
    assert [b["type"] for b in bodies] == ["alert", "followup"]
    assert bodies[0]["alert"]["entry"]["feed"] == "reuters"
    assert bodies[1]["sources"] == ["ap"]

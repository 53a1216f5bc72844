"""The engine's Redis I/O per batch: the effects of :meth:`Engine.handle`, in three round trips.

``Engine.handle`` makes 3–4 round trips per entry (throttle, publish, rule record, acknowledge),
and each costs far more client time than the command itself. Here a batch read by one XREADGROUP
is matched first, then

1. one pipeline reads the rule records of the entries that matched (edited entries drop the rules
   that alerted before; every matched entry's record gains its rules);
2. one pipeline runs the throttle script of every match with a realert window, in entry order;
   then each entry that will alert gets its event and its story (chosen in entry order, so
   reports of one event in one batch join one story: two more round trips per batch,
   :mod:`monitor.events.store`); entries that match no rule but name a story's treaty and actor
   join it as follow-up sources, or wait for one (two more reads when a batch holds such an
   entry, one more when it opens a story: docs/events.md, "Follow-up sources");
3. one pipeline publishes every alert (the publish-once script), writes the rule records and
   acknowledges the whole batch with one XACK.

The effects are those of handling the entries one by one: pipelines run in order, so throttles
and publishes see one another as before, and an entry that appears twice in a batch (an edit
right behind its original) reads the record its first copy wrote, kept here. A crash part-way
leaves the batch unacknowledged; publishing, throttling and the records are idempotent, so the
redelivery adds nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
import structlog

from monitor import metrics
from monitor.alerts.alert import Alert, alert_id
from monitor.events.model import Event
from monitor.events.sources import follow
from monitor.events.store import STORY_TTL_SECONDS
from monitor.events.stories import Story, title_words
from monitor.feeds.entry import Entry
from monitor.rules.combine import by_channel
from monitor.rules.match import Match, Severity
from monitor.streams import Message

if TYPE_CHECKING:
    from monitor.engine import Engine, Matcher

log = structlog.get_logger("monitor.engine")

# The rule id of follow-up sources' stream records (no rule alerted on them).
SOURCE_RULE = "~source"
# The longest the engine matches without giving the event loop back.
_YIELD_SECONDS = 0.02


@dataclass(slots=True)
class _Item:
    """One message of the batch on its way through the round trips."""

    entry: Entry
    matches: list[Match]
    edited: bool
    kept: list[Match] = field(default_factory=list)
    record: str | None = None  # the rule record to write, JSON
    event: Event | None = None  # what every alert of the entry reports, and its story
    story: str | None = None
    # A follow-up source (alerts on nothing, joins ``story``): its reading and where it goes.
    source: Event | None = None
    source_channels: tuple[str, ...] = ()
    source_decided: bool = True  # False: its decision is recorded as it is published
    source_waits: bool = False  # joined no story: it waits for one opened later
    # The story buckets' versions its join read, and the place of its wait's reply: a wait is
    # refused when a story was opened there since (by another engine): it looks again.
    source_versions: dict[str, str] | None = None
    wait_reply: int | None = None
    # Sources that waited for the story this entry opens: published right after its alerts.
    late: list[tuple[Entry, Event, tuple[str, ...]]] = field(default_factory=list)


def parse_entry(message: Message) -> Entry | None:
    """The message's entry, or ``None`` (logged) when its payload is missing or invalid."""
    raw = message.fields.get("entry")
    if raw is None:
        log.error("entry_payload_missing", stream_id=message.id, stream=message.stream)
        return None
    try:
        return Entry.from_json(raw)
    except (ValueError, TypeError, KeyError) as exc:
        log.error("entry_payload_invalid", stream_id=message.id, error=str(exc))
        return None


async def handle_batch(engine: Engine, messages: Sequence[Message]) -> int:
    """Evaluate the messages, publish their alerts, acknowledge them all; alerts made."""
    if not messages:
        return 0
    rules = engine.rules()
    items: list[_Item] = []
    yielded = time.monotonic()
    for message in messages:
        entry = parse_entry(message)
        if entry is None:
            continue
        matches = rules.match(entry)
        metrics.ENTRIES_EVALUATED.inc()
        items.append(_Item(entry, matches, message.fields.get("edited") == "1"))
        if time.monotonic() - yielded > _YIELD_SECONDS:
            # Matching a batch of long articles takes a while: let the other roles of the
            # process (fetcher, notifiers, health) run in between.
            await asyncio.sleep(0)
            yielded = time.monotonic()
    await _records(engine, items)
    await _throttle(engine, items)
    now = datetime.now(UTC)
    await _stories(engine, items, rules, now)
    return await _publish(engine, items, [m.id for m in messages], now=now)


async def _stories(engine: Engine, items: list[_Item], rules: Matcher, now: datetime) -> None:
    """Each entry that will alert gets its event, and its story (two round trips per batch)."""
    alerting = [item for item in items if by_channel(item.kept)]
    for item in alerting:
        item.event = engine.event(item.entry, item.matches, rules)
    told = [item for item in alerting if item.event is not None]
    opened: list[Story] = []
    stories = await engine.stories.assign_many(
        [(item.entry.id, item.event, item.entry.title) for item in told if item.event],
        now,
        opened,
        [_routed(item) for item in told if item.event],
    )
    for item, story in zip(told, stories, strict=True):
        item.story = story
    await _sources(engine, items, rules, now, opened)


async def _sources(
    engine: Engine, items: list[_Item], rules: Matcher, now: datetime, opened: list[Story]
) -> None:
    """Entries that match no rule but name a story's treaty and actor join it as follow-up
    sources; one that joins none waits for a story opened later (round trips only when a batch
    holds such an entry or opens a story). As one by one: a source sees the stories opened
    before it in the batch and the channels of the alerts before it; a story opened in the batch
    takes the sources waiting before it (from earlier batches, or earlier in this one)."""
    first: dict[str, int] = {}  # story opened in this batch -> the place of its first report
    for place, item in enumerate(items):
        if item.story is not None and item.source is None:
            first.setdefault(item.story, place)
    first = {story.id: first[story.id] for story in opened if story.id in first}
    named: list[tuple[int, _Item]] = []
    for place, item in enumerate(items):
        if not item.matches and not item.edited:
            item.source = engine.source(item.entry, rules)
            if item.source is not None:
                named.append((place, item))
    hidden = [frozenset(s for s, at in first.items() if at > place) for place, _ in named]
    versions: dict[str, str] = {}
    joined = await engine.stories.join_many(
        [(item.entry.id, item.source, item.entry.title) for _, item in named if item.source],
        now,
        hidden,
        versions,
    )
    for (place, item), (story, channels, decided) in zip(named, joined, strict=True):
        item.story, item.source_decided = story, decided
        item.source_versions = versions
        if not decided:
            channels = tuple(sorted({*channels, *_channels_before(items, place, story)}))
        item.source_channels = channels
        item.source_waits = story is None and not decided
    await _take_waiting(engine, items, named, opened, first)


async def _take_waiting(
    engine: Engine, items: list[_Item], named: list[tuple[int, _Item]], opened: list[Story],
    first: dict[str, int],
) -> None:  # fmt: skip
    """The stories opened in the batch take the sources waiting before them: from earlier
    batches (one read), and this batch's sources that joined nothing."""
    here = {item.entry.id for _, item in named}
    for new, waiting in await engine.stories.waiting_for(opened):
        opener = items[first[new.id]] if new.id in first else None
        for entry, source in waiting:
            if opener is not None and entry.id not in here:
                opener.late.append((entry, source, _routed(opener)))
    for place, item in named:
        if item.source_waits and item.source is not None:
            _join_later(engine, items, place, item, item.source, opened, first)
    for item in items:
        item.late.sort(key=lambda late: (late[0].published.timestamp(), late[0].id))


def _join_later(
    engine: Engine, items: list[_Item], place: int, item: _Item, source: Event,
    opened: list[Story], first: dict[str, int],
) -> None:  # fmt: skip
    """A source of this batch that joined nothing joins the first story opened after it here."""
    words = title_words(item.entry.title)
    for story in opened:
        at = first.get(story.id)
        if at is None or at <= place:
            continue
        if follow(source, words, [story], story.start, engine.stories.window) is story:
            items[at].late.append((item.entry, source, _routed(items[at])))
            item.source_waits = False
            return


def _routed(item: _Item) -> tuple[str, ...]:
    """The channels an item's alerts go to."""
    return tuple(sorted({channel for channel, _ in by_channel(item.kept)}))


async def _records(engine: Engine, items: list[_Item]) -> None:
    """Round trip 1: filter edited entries by their rule record; the records to write."""
    wanted = list(dict.fromkeys(item.entry.id for item in items if item.matches))
    if not wanted:
        return
    async with engine.client.pipeline(transaction=False) as pipe:
        for entry_id in wanted:
            pipe.get(engine.keys.matched(entry_id))
        stored = dict(zip(wanted, await pipe.execute(), strict=True))
    known: dict[str, set[str]] = {}  # records as this batch leaves them, in entry order
    for item in items:
        if not item.matches:
            continue
        entry_id = item.entry.id
        if entry_id not in known:
            raw = stored[entry_id]
            known[entry_id] = set(json.loads(raw)) if raw else set()
        earlier = known[entry_id]
        if item.edited:
            item.matches = [m for m in item.matches if m.rule_id not in earlier]
        if item.matches:
            known[entry_id] = earlier | {m.rule_id for m in item.matches}
            item.record = json.dumps(sorted(known[entry_id]))


async def _throttle(engine: Engine, items: list[_Item]) -> None:
    """Round trip 2: the realert windows, in entry order; ``kept`` are the matches let through."""
    asked: list[tuple[_Item, Match]] = []
    async with engine.client.pipeline(transaction=False) as pipe:
        for item in items:
            for match in item.matches:
                metrics.MATCHES.labels(rule=match.rule_id).inc()
                if match.realert_seconds > 0 and match.throttle_key:
                    asked.append((item, match))
                    await engine.throttle_script(
                        keys=[engine.keys.throttle(match.rule_id, match.throttle_key)],
                        args=[
                            alert_id(match.rule_id, item.entry.id),
                            max(1, int(match.realert_seconds)),
                        ],
                        client=pipe,
                    )
        answers = await pipe.execute() if asked else []
    refused = {
        (id(item), id(match))
        for (item, match), allowed in zip(asked, answers, strict=True)
        if not int(allowed)
    }
    for item in items:
        for match in item.matches:
            if (id(item), id(match)) in refused:
                metrics.ALERTS_THROTTLED.labels(rule=match.rule_id).inc()
                log.info("alert_throttled", rule_id=match.rule_id, entry_id=item.entry.id)
            else:
                item.kept.append(match)


async def _publish(engine: Engine, items: list[_Item], acked: list[str], *, now: datetime) -> int:
    """Round trip 3: every alert, every rule record and one XACK for the batch."""
    keys = engine.keys
    published: list[tuple[int, Alert, str, Entry]] = []  # with the command's place
    sources: list[tuple[int, Alert]] = []
    commands = 0
    async with engine.client.pipeline(transaction=False) as pipe:
        for item in items:
            if item.source is not None:
                commands = await _queue_source(engine, pipe, item, item.source, now, sources,
                                               commands)  # fmt: skip
            for channel, match in by_channel(item.kept):
                alert = Alert.from_match(match, item.entry, channel, now)
                alert = replace(alert, event=item.event, story=item.story)
                published.append((commands, alert, channel, item.entry))
                commands += 1
                await engine.publish_script(
                    keys=[
                        keys.alert_made(f"{alert.id}:{channel}"),
                        keys.alerts(channel),
                        keys.channels,
                    ],
                    args=[
                        engine.made_ttl,
                        alert.to_json(),
                        alert.id,
                        alert.rule_id,
                        alert.severity.label,
                        channel,
                    ],
                    client=pipe,
                )
                if item.story is not None:
                    story_channels = keys.story_channels(item.story)
                    pipe.sadd(story_channels, channel)
                    pipe.expire(story_channels, STORY_TTL_SECONDS)
                    commands += 2
            if item.story is not None:
                for entry, source, channels in item.late:
                    commands = await _queue_late(engine, pipe, (entry, source, item.story),
                                                 channels, now, sources, commands)  # fmt: skip
            if item.record is not None:
                pipe.set(keys.matched(item.entry.id), item.record, ex=engine.matched_ttl)
                commands += 1
        pipe.xack(keys.entries, engine.consumer.group, *acked)
        answers = await pipe.execute()
    await _rejoin(engine, items, answers, now)
    made = 0
    for place, alert, channel, entry in published:
        if int(answers[place]):
            made += 1
            count_published(alert, channel, entry)
    for place, alert in sources:
        if not int(answers[place]):
            continue  # published before (a redelivery)
        log.info("source_published", alert_id=alert.id, story=alert.story, channel=alert.channel,
                 entry_id=alert.entry.id)  # fmt: skip
    return made


async def _rejoin(engine: Engine, items: list[_Item], answers: list[Any], now: datetime) -> None:
    """Sources whose wait was refused (a story opened in their buckets since they looked, maybe
    by another engine that did not see them waiting) join it now, or wait again."""
    refused = [
        (item.entry, item.source)
        for item in items
        if item.source is not None and item.wait_reply is not None and int(answers[item.wait_reply])
    ]
    if not refused:
        return
    for entry, source, joined in await engine.stories.rejoin(refused, now):
        await engine.join_source(entry, source, joined, now)


async def _queue_source(
    engine: Engine, pipe: aioredis.Redis, item: _Item, source: Event, now: datetime,
    sources: list[tuple[int, Alert]], commands: int,
) -> int:  # fmt: skip
    """Queue a source of the batch: its decision, or its wait, and its publication; the number
    of commands queued so far."""
    if item.story is None:
        if item.source_waits:
            item.wait_reply = commands
            commands += await engine.stories.wait(pipe, item.entry, source, now,
                                                  item.source_versions)  # fmt: skip
        return commands
    if item.source_decided:
        channels = item.source_channels
        for channel in channels:
            alert = source_alert(item.entry, source, item.story, channel, now)
            await publish_source(engine, alert, pipe)
            sources.append((commands, alert))
            commands += 1
        return commands
    joined = (item.entry, source, item.story)
    return await _queue_late(engine, pipe, joined, item.source_channels, now, sources, commands)


async def _queue_late(
    engine: Engine, pipe: aioredis.Redis, joined: tuple[Entry, Event, str],
    channels: tuple[str, ...], now: datetime, sources: list[tuple[int, Alert]], commands: int,
) -> int:  # fmt: skip
    """Queue a source's join (its decision, then one record per channel)."""
    entry, source, story = joined
    engine.stories.decide(pipe, entry.id, (story, channels, False), source)
    commands += 2
    for channel in channels:
        alert = source_alert(entry, source, story, channel, now)
        await publish_source(engine, alert, pipe)
        sources.append((commands, alert))
        commands += 1
    return commands


def _channels_before(items: Sequence[_Item], place: int, story: str | None) -> set[str]:
    """The channels the batch's alerts of ``story`` before ``place`` go to (not yet in the
    story's set: it is written as they are published)."""
    return {
        channel
        for item in items[:place]
        if story is not None and item.story == story and item.source is None
        for channel, _ in by_channel(item.kept)
    }


def source_alert(entry: Entry, source: Event, story: str, channel: str, now: datetime) -> Alert:
    """A follow-up source on its way to the notifiers of ``channel``: never an alert of its own
    (published in a stream's ``source`` field; a notifier only counts it in an open thread)."""
    return Alert(
        id=alert_id(SOURCE_RULE, entry.id), channel=channel, rule_id=SOURCE_RULE,
        rule_title="Follow-up source", severity=Severity.INFO, tags=(), entry=entry, spans=(),
        created_at=now, event=source, story=story,
    )  # fmt: skip


async def publish_source(engine: Engine, alert: Alert, client: aioredis.Redis) -> Any:
    """Queue (``client``: a pipeline) or run the publish-once of a follow-up source (run: 1
    when newly published)."""
    return await engine.source_script(
        keys=[
            engine.keys.alert_made(f"{alert.id}:{alert.channel}"),
            engine.keys.alerts(alert.channel),
        ],
        args=[engine.made_ttl, alert.to_json(), alert.id, alert.story or ""],
        client=client,
    )


def count_published(alert: Alert, channel: str, entry: Entry) -> None:
    """Count and log an alert newly added to a channel stream (both engine paths)."""
    metrics.ALERTS_PUBLISHED.labels(channel=channel).inc()
    log.info(
        "alert_published",
        alert_id=alert.id,
        rule_id=alert.rule_id,
        channel=channel,
        entry_id=entry.id,
    )

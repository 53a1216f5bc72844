"""The engine role: entries stream → rules → one alert per channel, each published exactly once.

Reads ``<prefix>:entries`` in the consumer group ``engine``. For every entry it runs the current
rule set, applies each rule's realert window, and adds the alert to ``<prefix>:alerts:<channel>``.
Publishing is idempotent (a Lua script: SET NX on the alert's key, then XADD), so an entry
evaluated twice after a crash yields no second alert. The entry is acknowledged last. The running
engine reads, publishes and acknowledges a batch at a time (:mod:`monitor.engine_batch`).

The entry's event (treaty, actors, development, due date) is computed once and its story assigned
once, through Redis (:class:`monitor.events.store.RedisStories`); every channel's alert of the
entry carries both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Protocol

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError, ResponseError

from monitor import metrics
from monitor.alerts.alert import Alert, alert_id
from monitor.alerts.attempts import sleep_or_stop
from monitor.engine_batch import count_published, handle_batch, publish_source, source_alert
from monitor.events.actors import ActorTable, load_actors
from monitor.events.extract import Extractor, extractor_for
from monitor.events.model import Event
from monitor.events.store import STORY_TTL_SECONDS, Joined, RedisStories
from monitor.events.stories import Story
from monitor.feeds.entry import Entry
from monitor.rules.combine import by_channel
from monitor.rules.match import Match
from monitor.streams import ENGINE_GROUP, GroupConsumer, Keys, Message

log = structlog.get_logger(__name__)

# Idempotency keys outlive any plausible redelivery; throttle keys live for the rule's window.
MADE_TTL_SECONDS = 14 * 86400
MATCHED_TTL_SECONDS = 30 * 86400

# KEYS: made-key, channel stream, channels set. ARGV: ttl, alert json, alert id, rule, severity,
# channel, maxlen hint (unused: trimming is done separately, never past pending entries).
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'alert', ARGV[2], 'id', ARGV[3], 'rule', ARGV[4],
             'severity', ARGV[5])
  redis.call('SADD', KEYS[3], ARGV[6])
  return 1
end
return 0
"""

# A follow-up source (an entry that alerts on nothing but joins a story) goes to the story's
# channels in a ``source`` field, so readers of alerts never take it for an alert.
# KEYS: made-key, channel stream. ARGV: ttl, source json, its id, the story.
_PUBLISH_SOURCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('XADD', KEYS[2], '*', 'source', ARGV[2], 'id', ARGV[3], 'story', ARGV[4])
  return 1
end
return 0
"""

# KEYS: throttle key. ARGV: alert id, window seconds. Returns 1 when this alert may fire: the window
# is free, or it is already held by this very alert (a retry after a crash).
_THROTTLE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then return 1 end
return 0
"""


class Matcher(Protocol):
    """Anything that turns an entry into matches (the compiled rule set)."""

    def match(self, entry: Entry) -> list[Match]:
        """The rules that match ``entry``."""
        ...


class Engine:
    """Consumes entries in the ``engine`` group and publishes alerts."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        rules: Callable[[], Matcher],
        *,
        consumer: str,
        claim_idle_ms: int = 60_000,
        batch: int = 100,
    ) -> None:
        self.client = client
        self.keys = keys
        self.rules = rules
        self.batch = batch
        self.consumer = GroupConsumer(
            client, keys.entries, ENGINE_GROUP, consumer, claim_idle_ms=claim_idle_ms
        )
        self._publish = client.register_script(_PUBLISH_ONCE)
        self._throttle = client.register_script(_THROTTLE)
        # What the batched path (monitor.engine_batch) runs in its pipelines.
        self.publish_script, self.throttle_script = self._publish, self._throttle
        self.source_script = client.register_script(_PUBLISH_SOURCE)
        self.made_ttl, self.matched_ttl = MADE_TTL_SECONDS, MATCHED_TTL_SECONDS
        self.stories = RedisStories(client, keys)
        self.actors: ActorTable = load_actors()
        self._extractor: tuple[object, Extractor] | None = None
        self.beat: Callable[[], None] = lambda: None

    async def run(self, stop: asyncio.Event) -> None:
        """Process entries until ``stop`` is set; in-flight batches finish first."""
        await self.consumer.ensure_group()
        log.info("engine_started", consumer=self.consumer.consumer)
        await self._finish_own_pending(stop)
        while not stop.is_set():
            self.beat()
            try:
                messages = await self.consumer.claim_idle(self.batch)
                messages += await self.consumer.read(self.batch, block_ms=500)
                await handle_batch(self, messages)
            except (RedisError, OSError) as exc:
                log.warning("engine_redis_error", error=str(exc))
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    # The stream or group vanished (a Redis without persistence restarted, or a
                    # flush): recreate it rather than spin on the error forever.
                    await self.consumer.ensure_group()
                await sleep_or_stop(1.0, stop)
        log.info("engine_stopped")

    async def _finish_own_pending(self, stop: asyncio.Event) -> None:
        """First what this consumer name was given and did not acknowledge: a restarted engine
        worker keeps its name, so it takes up its killed predecessor's batch at once."""
        while not stop.is_set():
            try:
                messages = await self.consumer.read_own_pending(self.batch)
                if not messages:
                    return
                log.info("engine_pending_resumed", messages=len(messages))
                await handle_batch(self, messages)
            except (RedisError, OSError) as exc:
                log.warning("engine_redis_error", error=str(exc))
                return  # the main loop's claim of idle messages covers them

    async def handle(self, message: Message) -> int:
        """Evaluate one entries-stream message, publish its alerts, acknowledge; alerts made.

        One entry at a time, 3–4 round trips each: ``run`` goes through
        :func:`monitor.engine_batch.handle_batch` (the same effects per batch, in three round
        trips); this path stays as its reference.
        """
        raw = message.fields.get("entry")
        if raw is None:
            log.error("entry_payload_missing", stream_id=message.id, stream=message.stream)
            await self.consumer.ack(message.id)
            return 0
        try:
            entry = Entry.from_json(raw)
        except (ValueError, TypeError, KeyError) as exc:
            log.error("entry_payload_invalid", stream_id=message.id, error=str(exc))
            await self.consumer.ack(message.id)
            return 0
        rules = self.rules()
        matches = rules.match(entry)
        metrics.ENTRIES_EVALUATED.inc()
        earlier: set[str] | None = None
        if message.fields.get("edited") == "1":
            earlier = await self._matched_before(entry)
            matches = [m for m in matches if m.rule_id not in earlier]
        made = await self.publish(
            entry, matches, now=datetime.now(UTC), rules=rules, may_source=earlier is None
        )
        await self._remember_rules(entry, matches, earlier)
        await self.consumer.ack(message.id)
        return made

    def event(self, entry: Entry, matches: Sequence[Match], rules: Matcher) -> Event | None:
        """The entry's event, with the canonical ids of the rule set that matched it."""
        cached = self._extractor
        if cached is None or cached[0] is not rules:
            cached = self._extractor = (rules, extractor_for(rules, self.actors))
        return cached[1].event(entry, matches)

    def source(self, entry: Entry, rules: Matcher) -> Event | None:
        """A quiet entry's treaty and actors, when it may be a story's follow-up source."""
        cached = self._extractor
        if cached is None or cached[0] is not rules:
            cached = self._extractor = (rules, extractor_for(rules, self.actors))
        return cached[1].source(entry)

    async def publish(
        self,
        entry: Entry,
        matches: Sequence[Match],
        *,
        now: datetime,
        rules: Matcher | None = None,
        may_source: bool = True,
    ) -> int:
        """Publish one alert per channel (its matches combined); returns alerts newly added.

        An entry that matches nothing (and is no edit: ``may_source``) may join a story as a
        follow-up source instead."""
        made = 0
        kept: list[Match] = []
        for match in matches:
            metrics.MATCHES.labels(rule=match.rule_id).inc()
            if match.realert_seconds > 0 and match.throttle_key:
                allowed = await self._throttle(
                    keys=[self.keys.throttle(match.rule_id, match.throttle_key)],
                    args=[alert_id(match.rule_id, entry.id), max(1, int(match.realert_seconds))],
                )
                if not int(allowed):
                    metrics.ALERTS_THROTTLED.labels(rule=match.rule_id).inc()
                    log.info("alert_throttled", rule_id=match.rule_id, entry_id=entry.id)
                    continue
            kept.append(match)
        # A story that is several developments at once gives each channel one alert, not one
        # per rule: the matches routed to a channel fold into one carrying all their tags.
        routed = by_channel(kept)
        if not matches:
            if may_source:
                await self._publish_source(entry, rules or self.rules(), now)
            return 0
        event = self.event(entry, matches, rules or self.rules()) if routed else None
        opened: list[Story] = []
        story = None
        if event is not None:
            items = [(entry.id, event, entry.title)]
            routes = [tuple(sorted({channel for channel, _ in routed}))]
            [story] = await self.stories.assign_many(items, now, opened, routes)
        for channel, match in routed:
            alert = replace(Alert.from_match(match, entry, channel, now), event=event, story=story)
            added = await self._publish(
                keys=[
                    self.keys.alert_made(f"{alert.id}:{channel}"),
                    self.keys.alerts(channel),
                    self.keys.channels,
                ],
                args=[
                    MADE_TTL_SECONDS,
                    alert.to_json(),
                    alert.id,
                    alert.rule_id,
                    alert.severity.label,
                    channel,
                ],
            )
            if int(added):
                made += 1
                count_published(alert, channel, entry)
            if story is not None:
                await self.client.sadd(self.keys.story_channels(story), channel)
                await self.client.expire(self.keys.story_channels(story), STORY_TTL_SECONDS)
        channels = tuple(sorted({channel for channel, _ in routed}))
        for new, waiting in await self.stories.waiting_for(opened):
            for source_entry, source in waiting:  # sources that waited for this story
                await self.join_source(source_entry, source, (new.id, channels, False), now)
        return made

    async def _publish_source(self, entry: Entry, rules: Matcher, now: datetime) -> None:
        """An entry that matched nothing joins a story as a follow-up source, if it names one."""
        source = self.source(entry, rules)
        if source is None:
            return
        versions: dict[str, str] = {}
        item = (entry.id, source, entry.title)
        [joined] = await self.stories.join_many([item], now, versions=versions)
        await self.join_source(entry, source, joined, now, versions)

    async def join_source(
        self,
        entry: Entry,
        source: Event,
        joined: Joined,
        now: datetime,
        versions: dict[str, str] | None = None,
    ) -> None:
        """Record a source's join (or its wait for a story) and publish it on its channels.
        With ``versions`` (the story buckets :meth:`RedisStories.join_many` read) a source
        waits only if no story was opened there since; else it looks again."""
        story, channels, decided = joined
        if not decided:
            async with self.client.pipeline(transaction=False) as pipe:
                if story is None:
                    await self.stories.wait(pipe, entry, source, now, versions)
                else:
                    self.stories.decide(pipe, entry.id, joined, source)
                replies = await pipe.execute()
            if story is None and versions is not None and int(replies[0]):
                for again in await self.stories.rejoin([(entry, source)], now):
                    await self.join_source(*again, now)
                return
        if story is None:
            return
        for channel in channels:
            alert = source_alert(entry, source, story, channel, now)
            if not int(await publish_source(self, alert, self.client)):
                continue  # published before (a redelivery)
            log.info("source_published", alert_id=alert.id, story=story, channel=channel,
                     entry_id=entry.id)  # fmt: skip

    async def _matched_before(self, entry: Entry) -> set[str]:
        before = await self.client.get(self.keys.matched(entry.id))
        return set(json.loads(before)) if before else set()

    async def _remember_rules(
        self, entry: Entry, matches: Sequence[Match], earlier: set[str] | None
    ) -> None:
        """Add the matched rules to the entry's record (``earlier``: that record, if read)."""
        if not matches:
            return
        rules = earlier if earlier is not None else await self._matched_before(entry)
        rules = rules | {m.rule_id for m in matches}
        await self.client.set(
            self.keys.matched(entry.id), json.dumps(sorted(rules)), ex=MATCHED_TTL_SECONDS
        )

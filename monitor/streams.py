"""Every Redis key and stream of treaty-monitor, and the consumer-group plumbing.

Stream names (documented for anyone subscribing with plain Redis commands):

- ``<prefix>:entries`` — new feed entries; field ``entry`` holds the entry as JSON.
- ``<prefix>:alerts:<channel>`` — alerts of one channel; field ``alert`` holds the alert as JSON
  (see :meth:`monitor.alerts.alert.Alert.to_dict`), ``id``, ``rule``, ``severity`` for filtering.
- ``<prefix>:dlq`` — alerts that could not be delivered; fields ``alert``, ``subscription``,
  ``error``, ``attempts``.

Consumer groups: ``engine`` on the entries stream; ``sub:<subscription>`` on each channel stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

ENGINE_GROUP = "engine"
TRIM_STEP = 10_000  # the most entries one trim call reads and removes

StreamId = str
Fields = dict[str, str]


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one configurable prefix."""

    prefix: str = "tm"

    @property
    def entries(self) -> str:
        """The stream of new entries."""
        return f"{self.prefix}:entries"

    def alerts(self, channel: str) -> str:
        """The stream of one channel's alerts."""
        return f"{self.prefix}:alerts:{channel}"

    @property
    def channels(self) -> str:
        """Set of channel names that have ever received an alert."""
        return f"{self.prefix}:channels"

    @property
    def dead_letters(self) -> str:
        """The dead-letter stream."""
        return f"{self.prefix}:dlq"

    def seen(self, feed: str) -> str:
        """Hash: entry id → content fingerprint, for the entries of one feed already published."""
        return f"{self.prefix}:seen:{feed}"

    def feed_state(self, feed: str) -> str:
        """Hash: a feed's fetch state and health (etag, last status, errors, next due...)."""
        return f"{self.prefix}:feed:{feed}"

    @property
    def feeds(self) -> str:
        """Set of feed names known to the fetchers."""
        return f"{self.prefix}:feeds"

    def feed_lease(self, feed: str) -> str:
        """Per-feed lease so only one fetcher fetches a feed per interval."""
        return f"{self.prefix}:lease:{feed}"

    def alert_made(self, alert_id: str) -> str:
        """Idempotency key: this alert was already published (engine side)."""
        return f"{self.prefix}:made:{alert_id}"

    def matched(self, entry_id: str) -> str:
        """JSON list of the rule ids an entry has matched (to re-alert edits only on new rules)."""
        return f"{self.prefix}:matched:{entry_id}"

    def delivered(self, subscription: str, alert_id: str) -> str:
        """Idempotency key: this alert was already delivered to this subscription."""
        return f"{self.prefix}:delivered:{subscription}:{alert_id}"

    def sending(self, subscription: str, delivery_id: str) -> str:
        """Lease: one consumer is sending this alert to this subscription right now."""
        return f"{self.prefix}:sending:{subscription}:{delivery_id}"

    def smtp_recipients(self, subscription: str, message_id: str) -> str:
        """Hash: an email in a partial retry: recipients still owed, and refused for good."""
        return f"{self.prefix}:smtp:{subscription}:{message_id}"

    def throttle(self, rule_id: str, key: str) -> str:
        """Realert window marker for one rule and throttle key."""
        return f"{self.prefix}:throttle:{rule_id}:{key}"

    def story(self, story_key: str) -> str:
        """Story grouping record (which sources reported one story)."""
        return f"{self.prefix}:story:{story_key}"

    def story_bucket(self, bucket: str) -> str:
        """Hash: story id -> story JSON, the stories of one treaty first reported in one time slot
        (``<treaty>@<slot>``; engine side, see :mod:`monitor.events.stories`)."""
        return f"{self.prefix}:stories:{bucket}"

    def story_of(self, entry_id: str) -> str:
        """The story id an entry was assigned (so a redelivered entry keeps its story)."""
        return f"{self.prefix}:story-of:{entry_id}"

    def source_of(self, entry_id: str) -> str:
        """String: a follow-up source's decision (JSON: its story or null, the channels it goes
        to), so a redelivered source is published exactly as the first time."""
        return f"{self.prefix}:source-of:{entry_id}"

    def waiting_sources(self, bucket: str) -> str:
        """Hash: follow-up sources that joined no story yet, of one treaty and time slot
        (``<treaty>@<slot>``): entry id -> JSON (entry, source reading)."""
        return f"{self.prefix}:waiting-sources:{bucket}"

    def story_channels(self, story: str) -> str:
        """Set: the channels a story's alerts went to (where its follow-up sources go)."""
        return f"{self.prefix}:story-channels:{story}"

    def thread(self, subscription: str, story: str) -> str:
        """String: one story's thread in one subscription (JSON: first message, sources, ref)."""
        return f"{self.prefix}:thread:{subscription}:{story}"

    def threads_due(self, subscription: str) -> str:
        """Sorted set: story id → when its thread next needs the notifier (hold end, follow-up)."""
        return f"{self.prefix}:threads:{subscription}"

    def reminders(self, subscription: str) -> str:
        """Sorted set: story id → when its next deadline reminder falls."""
        return f"{self.prefix}:reminders:{subscription}"

    def reminded(self, subscription: str, story: str, offset: str) -> str:
        """Claim: this reminder of this story is being sent (owner) or was sent (``sent``)."""
        return f"{self.prefix}:reminded:{subscription}:{story}:{offset}"

    def digest(self, subscription: str) -> str:
        """Hash: alerts collected for a subscription's next digest (alert id → alert JSON)."""
        return f"{self.prefix}:digest:{subscription}"

    @property
    def heartbeats(self) -> str:
        """Hash: instance → last heartbeat (for status)."""
        return f"{self.prefix}:instances"

    @property
    def rules_status(self) -> str:
        """Hash: the running rule set's version and last reload error."""
        return f"{self.prefix}:rules"

    @property
    def silences(self) -> str:
        """Hash: silence id → silence JSON (expired ones kept for a while, then dropped)."""
        return f"{self.prefix}:silences"

    @property
    def silenced(self) -> str:
        """Stream (capped): alerts a silence held back; fields alert, subscription, silence."""
        return f"{self.prefix}:silenced"

    def history_story(self, story: str) -> str:
        """String: one story's record for the desk (JSON)."""
        return f"{self.prefix}:hist:story:{story}"

    def history_index(self, label: str, value: str) -> str:
        """Sorted set: story ids with one filter value, scored by publication time."""
        return f"{self.prefix}:hist:ix:{label}:{value}"

    @property
    def history_all(self) -> str:
        """Sorted set: every recorded story id, scored by publication time."""
        return f"{self.prefix}:hist:all"

    @property
    def history_updates(self) -> str:
        """Stream (capped): field ``story`` whenever a story record changes (the live feed)."""
        return f"{self.prefix}:hist:updates"

    def history_values(self, label: str) -> str:
        """Sorted set: the values one filter label has had, scored by their latest story."""
        return f"{self.prefix}:hist:values:{label}"

    @property
    def history_acks(self) -> str:
        """Hash: story id → acknowledgement JSON (who handled it, when, a note)."""
        return f"{self.prefix}:hist:acks"

    @property
    def history_due(self) -> str:
        """Sorted set: story ids that have a due date, scored by it (midnight UTC)."""
        return f"{self.prefix}:hist:due"

    @property
    def history_seen(self) -> str:
        """Sorted set: every recorded story id, scored by when it was first recorded (retention)."""
        return f"{self.prefix}:hist:seen"

    @property
    def runtime_subscriptions(self) -> str:
        """Hash: subscription name → JSON of a subscription created through the API."""
        return f"{self.prefix}:subs"

    @property
    def runtime_subscriptions_version(self) -> str:
        """Counter bumped on every change of the runtime subscriptions (notifiers poll it)."""
        return f"{self.prefix}:subs:version"


def subscription_group(name: str) -> str:
    """The consumer-group name of one subscription on a channel stream."""
    return f"sub:{name}"


def decode_fields(raw: Mapping[Any, Any]) -> Fields:
    """Stream fields as ``str`` whatever the client's ``decode_responses`` setting."""
    return {as_text(k): as_text(v) for k, v in raw.items()}


def as_text(value: Any) -> str:
    """A Redis reply value as ``str`` whatever the client's ``decode_responses`` setting."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class Message:
    """One stream entry handed to a consumer. ``fields`` is empty if the payload was trimmed."""

    stream: str
    id: StreamId
    fields: Fields


def messages_from_reply(reply: Any) -> list[Message]:
    """The messages of an XREAD/XREADGROUP reply (any number of streams)."""
    return [
        Message(as_text(stream), as_text(mid), decode_fields(fields or {}))
        for stream, entries in reply or ()
        for mid, fields in entries
    ]


class GroupConsumer:
    """Reads one stream through one consumer group: new messages, and idle ones claimed back.

    Acknowledge with :meth:`ack` only after the work is done; unacknowledged messages are claimed
    by any consumer of the group once idle for ``claim_idle_ms`` (XAUTOCLAIM), so a crash loses
    nothing.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        stream: str,
        group: str,
        consumer: str,
        *,
        claim_idle_ms: int = 60_000,
        start_id: str = "0",
    ) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.claim_idle_ms = claim_idle_ms
        self.start_id = start_id
        self._claim_cursor = "0-0"

    async def ensure_group(self) -> None:
        """Create the group (and the stream) if missing."""
        await ensure_group(self.client, self.stream, self.group, self.start_id)

    async def claim_idle(self, count: int = 100) -> list[Message]:
        """Take over messages idle longer than ``claim_idle_ms`` from any consumer (XAUTOCLAIM)."""
        reply = await self.client.xautoclaim(
            self.stream,
            self.group,
            self.consumer,
            min_idle_time=self.claim_idle_ms,
            start_id=self._claim_cursor,
            count=count,
        )
        self._claim_cursor = as_text(reply[0])
        claimed = reply[1]
        # Redis >= 7 also returns ids whose payload was trimmed away; 6.2 returns them with nil.
        deleted: Sequence[Any] = reply[2] if len(reply) > 2 else ()
        messages = [
            Message(self.stream, as_text(mid), decode_fields(fields or {}))
            for mid, fields in claimed
        ]
        messages.extend(Message(self.stream, as_text(mid), {}) for mid in deleted)
        return messages

    async def read(self, count: int = 100, block_ms: int | None = 1000) -> list[Message]:
        """New messages for this consumer, waiting up to ``block_ms``."""
        reply: Any = await self.client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=count, block=block_ms
        )
        return messages_from_reply(reply)

    async def read_own_pending(self, count: int = 100) -> list[Message]:
        """Messages delivered to this consumer name and not acknowledged (a predecessor's, after
        a restart under the same name), oldest first."""
        reply: Any = await self.client.xreadgroup(
            self.group, self.consumer, {self.stream: "0"}, count=count
        )
        return messages_from_reply(reply)

    async def ack(self, *ids: StreamId) -> None:
        """Acknowledge finished messages."""
        if ids:
            await self.client.xack(self.stream, self.group, *ids)


async def ensure_group(
    client: aioredis.Redis, stream: str, group: str, start_id: str = "0"
) -> None:
    """XGROUP CREATE ... MKSTREAM, tolerating an existing group."""
    try:
        await client.xgroup_create(stream, group, id=start_id, mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def safe_trim(
    client: aioredis.Redis, stream: str, maxlen: int, *, step: int = TRIM_STEP
) -> int:
    """Trim ``stream`` towards ``maxlen`` entries, never past one a group has not finished.

    A message is kept while any group has it pending or has not yet delivered it. Only the surplus
    is read (at most ``step`` entries per call), never the entries that stay.
    """
    surplus = int(await client.xlen(stream)) - maxlen
    if surplus <= 0:
        return 0
    oldest: Any = await client.xrange(stream, min="-", max="+", count=min(surplus, step))
    if not oldest:
        return 0
    limit = _next_id(parse_id(as_text(oldest[-1][0])))
    groups: list[dict[str, Any]] = await client.xinfo_groups(stream)
    for group in groups:
        limit = min(limit, _next_id(parse_id(as_text(group["last-delivered-id"]))))
        pending = await client.xpending(stream, as_text(group["name"]))
        if pending and pending.get("pending"):
            limit = min(limit, parse_id(as_text(pending["min"])))
    return int(await client.xtrim(stream, minid=f"{limit[0]}-{limit[1]}", approximate=False))


def parse_id(value: str) -> tuple[int, int]:
    """A stream id as (milliseconds, sequence)."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


def _next_id(value: tuple[int, int]) -> tuple[int, int]:
    return value[0], value[1] + 1

"""The notifier: one subscription's consumer group on its channel streams, feeding one sink.

Guarantees (see docs/delivery.md): a message is acknowledged only after the sink accepted it or
it went to the dead-letter stream; after a successful send ``delivered:<subscription>:<alert>``
is set (NX, with a TTL) in the same MULTI/EXEC as the acknowledgement, so a message seen again
is not sent again; a ``sending`` lease keeps two consumers from sending one alert at once; idle
pending messages of crashed consumers are claimed back (XAUTOCLAIM). Alerts carrying a story id
go through :class:`~monitor.alerts.storyflow.StoryFlow`: one message per story, then follow-ups
and deadline reminders.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from monitor.alerts.alert import Alert
from monitor.alerts.attempts import Attempts, Outcome, sleep_or_stop
from monitor.alerts.collect import DigestBox, StoryBook, followup_alert
from monitor.alerts.deadletter import DLQ_MAXLEN, dead_letter_fields
from monitor.alerts.filters import accepts
from monitor.alerts.grouping import Story, followup_due
from monitor.alerts.ledger import Ledger
from monitor.alerts.recipients import RedisRecipients
from monitor.alerts.render import Digest
from monitor.alerts.retry import backoff_delay
from monitor.alerts.sinks import Pacer, Sink, build_sink
from monitor.alerts.storyflow import StoryFlow
from monitor.alerts.threadbook import ThreadBook
from monitor.config import DeliverySettings, Settings, SubscriptionSettings
from monitor.metrics import DEAD_LETTERS, DELIVERIES
from monitor.silences.store import SilenceStore
from monitor.streams import GroupConsumer, Keys, Message, messages_from_reply, subscription_group

log = structlog.get_logger(__name__)

Checkpoint = Callable[[str, str], None]
# A new subscription group starts this far back, so alerts published while the daemon was
# starting reach it, without replaying a channel's whole history into a new Slack channel.
NEW_GROUP_BACKFILL_MS = 3_600_000
_READ_BLOCK_MS = 500
_BATCH = 20  # small batches: messages read but not yet started are not idle for long
# A sending lease outlives one send (sink timeouts default to 10 s) and is renewed per retry.
LEASE_MIN_SECONDS = 30.0
_TICK_SECONDS = 0.1  # how often follow-ups and digests are checked (one HGETALL each)


class Notifier:
    """Delivers one subscription's alerts to its sink until stopped."""

    def __init__(
        self,
        subscription: SubscriptionSettings,
        sink: Sink,
        client: aioredis.Redis,
        keys: Keys,
        delivery: DeliverySettings,
        *,
        consumer: str,
        checkpoint: Checkpoint | None = None,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.subscription = subscription
        self.sink = sink
        self.client = client
        self.keys = keys
        self.delivery = delivery
        self.group = subscription_group(subscription.name)
        self.consumers = {
            keys.alerts(ch): GroupConsumer(
                client, keys.alerts(ch), self.group, consumer,
                claim_idle_ms=int(delivery.claim_idle * 1000),
            )
            for ch in subscription.channels
        }  # fmt: skip
        self.consumer = consumer
        self._checkpoint = checkpoint or (lambda stage, alert_id: None)
        self._clock = clock
        self._jitter = jitter
        self._backlog = True  # our own pending messages are read first (after a restart)
        self._next_claim = 0.0
        self._next_tick = 0.0
        self.ledger = Ledger(
            client, keys, subscription.name, owner=consumer, delivered_ttl=delivery.delivered_ttl,
            lease_seconds=max(2 * delivery.claim_idle, LEASE_MIN_SECONDS),
        )  # fmt: skip
        self._backlog_at: dict[str, str] = {}
        self.silences = SilenceStore(client, keys)
        self.stories = StoryBook(client, keys, subscription.name, delivery.group_window)
        period = subscription.digest or 0.0
        self.digests = DigestBox(client, keys, subscription.name, period) if period else None
        self.log = log.bind(subscription=subscription.name, sink=sink.name)
        self.attempts = Attempts(sink.name, delivery, jitter=jitter, log=self.log)
        book = ThreadBook(
            client, keys, subscription.name, hold=delivery.merge_delay,
            followup_delay=delivery.followup_delay,
            keep=max(delivery.delivered_ttl, delivery.group_window),
            offsets=subscription.reminders,
        )  # fmt: skip
        self.threads = StoryFlow(
            book, sink, exclusive=self._exclusive, attempts=self.attempts,
            dead_letter=self._dead_letter_alert, clock=clock, owner=consumer,
            lease_ms=self.ledger.lease_ms, log=self.log, silenced=self._silenced,
        )  # fmt: skip
        # Called after every healthy loop turn (at least every 0.5 s): a liveness hook.
        self.beat: Callable[[], None] = lambda: None

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; an in-flight send gets ``shutdown_grace`` to finish."""
        work = asyncio.create_task(self._loop(stop))
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({work, stopped}, return_when=asyncio.FIRST_COMPLETED)
            if not work.done():
                await asyncio.wait({work}, timeout=self.delivery.shutdown_grace)
            if not work.done():
                if self.attempts.in_flight:
                    # Handed back: the message stays pending and is delivered after a restart.
                    self.log.warning("notifier_send_abandoned_at_shutdown")
                work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        finally:
            stopped.cancel()
            work.cancel()
            await self.sink.aclose()

    async def _loop(self, stop: asyncio.Event) -> None:
        failures, groups_ready = 0, False
        while not stop.is_set():
            try:
                if not groups_ready:
                    await self._ensure_groups()
                    groups_ready = True
                await self._handle_batch(await self._next_messages(), stop)
                await self._tick(stop)
                failures = 0
                self.beat()
            except RedisError as exc:
                failures += 1
                self._backlog = True
                delay = backoff_delay(failures, base=0.2, cap=5.0, jitter=self._jitter())
                self.log.warning("notifier_redis_error", error=str(exc), retry_in=round(delay, 2))
                groups_ready = False  # a restarted Redis without data lost the groups too
                if await sleep_or_stop(delay, stop):
                    return
            except Exception:
                # A bug must not silence a subscription for good: log it, pause, carry on.
                failures += 1
                self._backlog = True
                self.log.exception("notifier_error")
                if await sleep_or_stop(min(5.0 * failures, 60.0), stop):
                    return

    async def _ensure_groups(self) -> None:
        start = f"{max(int(self._clock() * 1000) - NEW_GROUP_BACKFILL_MS, 0)}-0"
        for consumer in self.consumers.values():
            consumer.start_id = start
            await consumer.ensure_group()

    async def _next_messages(self) -> list[Message]:
        """Own pending backlog first, then idle claims from dead consumers, then new messages."""
        if self._backlog:
            # Walk our own pending entries once, with a cursor (a skipped one must not spin).
            positions = {s: self._backlog_at.get(s, "0") for s in self.consumers}
            messages = await self._read(positions, block_ms=None)
            for message in messages:
                self._backlog_at[message.stream] = message.id
            if messages:
                return messages
            self._backlog, self._backlog_at = False, {}
        now = self._clock()
        if now >= self._next_claim:
            self._next_claim = now + max(self.delivery.claim_idle / 2, 1.0)
            claimed = [m for c in self.consumers.values() for m in await c.claim_idle()]
            if claimed:
                return claimed
        return await self._read(dict.fromkeys(self.consumers, ">"), block_ms=_READ_BLOCK_MS)

    async def _read(self, positions: dict[str, str], *, block_ms: int | None) -> list[Message]:
        streams: dict[Any, Any] = dict(positions)
        reply: Any = await self.client.xreadgroup(
            self.group, self.consumer, streams, count=_BATCH, block=block_ms
        )
        return messages_from_reply(reply)

    async def _handle_batch(self, messages: list[Message], stop: asyncio.Event) -> None:
        """Handle a batch, up to ``delivery.concurrency`` at once.

        Alerts of one rule stay in order in one lane when grouping is on, so a story's first
        report is recorded before its repeats are compared with it.
        """
        lanes: dict[str, list[Message]] = {}
        for message in messages:
            key = message.fields.get("rule", "") if self.delivery.group_window > 0 else message.id
            lanes.setdefault(key, []).append(message)
        gate = asyncio.Semaphore(self.delivery.concurrency)

        async def lane(queue: list[Message]) -> None:
            for message in queue:
                if stop.is_set():
                    return
                async with gate:
                    await self._handle(message, stop)

        if len(lanes) == 1 or self.delivery.concurrency == 1:
            for queue in lanes.values():
                await lane(queue)
            return
        try:
            async with asyncio.TaskGroup() as group:
                for queue in lanes.values():
                    group.create_task(lane(queue))
        except BaseExceptionGroup as errors:
            # The loop handles one error at a time; the others' messages stay pending anyway.
            raise errors.exceptions[0] from None

    # --- one message --------------------------------------------------------------------------

    async def _ack(self, message: Message, outcome: str) -> None:
        await self.consumers[message.stream].ack(message.id)
        DELIVERIES.labels(sink=self.sink.name, outcome=outcome).inc()

    async def _handle(self, message: Message, stop: asyncio.Event) -> None:
        if "source" in message.fields:
            await self._source(message)
            return
        raw = message.fields.get("alert")
        if not raw:
            # The stream was trimmed past this pending entry: say so loudly, never send blanks.
            self.log.error("alert_payload_missing", stream=message.stream, message_id=message.id)
            DELIVERIES.labels(sink=self.sink.name, outcome="payload_missing").inc()
            await self._dead_letter(message, "", "alert payload missing (stream trimmed?)", 0)
            return
        target = message.fields.get("subscription")
        if target and target != self.subscription.name:
            await self._ack(message, "not_for_us")  # a dead letter replayed for another
            return
        try:
            alert = Alert.from_json(raw)
        except Exception as exc:  # any malformed payload is a dead letter, not a crash
            self.log.error("alert_unreadable", message_id=message.id, error=str(exc)[:200])
            await self._dead_letter(message, raw, f"unreadable alert: {exc}", 0)
            return
        if not accepts(self.subscription, alert):
            await self._ack(message, "filtered")
            return
        if await self._silenced(alert):
            await self._ack(message, "silenced")
            return
        now = self._clock()
        if self.digests is not None:
            stream = message.stream
            await self.digests.add(alert, stream, self.group, message.id, now)
            DELIVERIES.labels(sink=self.sink.name, outcome="digested").inc()
            return
        if alert.story and self.delivery.group_window > 0:
            await self.threads.arrive(alert, message, self.group)
            return
        if self.delivery.group_window > 0 and await self.stories.absorb_or_open(alert, now):
            self.log.info("alert_grouped", alert_id=alert.id, rule_id=alert.rule_id)
            await self._ack(message, "grouped")
            return
        await self._deliver_message(message, alert, stop)

    async def _source(self, message: Message) -> None:
        """A follow-up source: counted in its story's thread when this subscription has one and
        threads stories; acknowledged either way, never sent as an alert."""
        try:
            source = Alert.from_json(message.fields["source"])
        except Exception as exc:  # an unreadable source is dropped: it would only be a count
            self.log.error("source_unreadable", message_id=message.id, error=str(exc)[:200])
            await self._ack(message, "source_unreadable")
            return
        feeds = self.subscription.feeds
        threaded = self.delivery.group_window > 0 and self.digests is None
        if not source.story or not threaded or (feeds and source.entry.feed not in feeds):
            await self._ack(message, "source_ignored")
            return
        await self.threads.add_source(source, message, self.group)

    async def _silenced(self, alert: Alert) -> bool:
        """Record ``alert`` as held back when an active silence matches it."""
        silence = await self.silences.holding(alert, datetime.fromtimestamp(self._clock(), UTC))
        if silence is None:
            return False
        await self.silences.record(alert, self.subscription.name, silence)
        self.log.info("alert_silenced", alert_id=alert.id, silence_id=silence.id)
        return True

    async def _deliver_message(self, message: Message, alert: Alert, stop: asyncio.Event) -> None:
        outcome = await self._exclusive(alert.id, lambda: self.sink.send(alert), stop, message)
        if outcome.status in ("abandoned", "elsewhere"):
            return  # stays pending: delivered after a restart, or by the consumer holding it
        if outcome.status == "duplicate":
            await self._ack(message, "duplicate")
            return
        if outcome.status == "dead":
            await self._dead_letter(message, alert.to_json(), outcome.error, outcome.attempts)
            if self.delivery.group_window > 0:
                await self.stories.drop(alert.id)  # nobody saw it: a repeat may open it again
            return
        DELIVERIES.labels(sink=self.sink.name, outcome="delivered").inc()
        self.log.info("alert_delivered", alert_id=alert.id, rule_id=alert.rule_id)

    async def _exclusive(
        self,
        delivery_id: str,
        send: Callable[[], Awaitable[object]],
        stop: asyncio.Event,
        message: Message | None = None,
    ) -> Outcome:
        """Send under the subscription's lease for this id; mark it delivered on success.

        ``elsewhere``: another consumer is sending it now; ``duplicate``: it was delivered.
        """
        mine, done = await self.ledger.begin(delivery_id)
        if not mine:
            DELIVERIES.labels(sink=self.sink.name, outcome="in_flight_elsewhere").inc()
            return Outcome("elsewhere")
        if done:
            await self.ledger.release(delivery_id)
            return Outcome("duplicate")
        try:
            outcome = await self.attempts.run(
                delivery_id, send, stop, lambda: self._keep_fresh(delivery_id, message)
            )
        except BaseException:
            with contextlib.suppress(RedisError):
                await self.ledger.release(delivery_id)
            raise
        if outcome.status != "delivered":
            await self.ledger.release(delivery_id)
            return outcome
        self._checkpoint("sent", delivery_id)
        ack = (message.stream, self.group, message.id) if message is not None else None
        await self.ledger.finish(delivery_id, ack)
        self._checkpoint("marked", delivery_id)
        return outcome

    async def _keep_fresh(self, delivery_id: str, message: Message | None) -> None:
        # Renew the lease, and reset the message's idle time so no other consumer claims it
        # while we are still retrying.
        await self.ledger.refresh(delivery_id)
        if message is not None:
            await self.client.xclaim(
                message.stream, self.group, self.consumer, 0, [message.id], justid=True
            )

    async def _dead_letter(self, message: Message, raw: str, error: str, attempts: int) -> None:
        channel = message.stream.removeprefix(self.keys.alerts(""))
        fields = dead_letter_fields(
            alert=raw, subscription=self.subscription.name, error=error, attempts=attempts,
            sink=self.sink.name, channel=channel, stream_id=message.id, now=datetime.now(UTC),
        )  # fmt: skip
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.keys.dead_letters, fields, maxlen=DLQ_MAXLEN, approximate=True)  # type: ignore[arg-type]
            pipe.xack(message.stream, self.group, message.id)
            await pipe.execute()
        DELIVERIES.labels(sink=self.sink.name, outcome="dead_letter").inc()
        DEAD_LETTERS.labels(sink=self.sink.name).inc()
        self.log.warning("alert_dead_lettered", message_id=message.id, error=error,
                         attempts=attempts)  # fmt: skip

    # --- periodic: follow-ups and digests -----------------------------------------------------

    async def _tick(self, stop: asyncio.Event) -> None:
        now = self._clock()
        if now < self._next_tick:
            return
        self._next_tick = now + _TICK_SECONDS
        if self.digests is not None:
            await self._flush_digest(now, stop)
        elif self.delivery.group_window > 0:
            for story in await self.stories.stories(now):
                if followup_due(story, now=now, delay=self.delivery.followup_delay):
                    await self._send_followup(followup_alert(story), story, stop)
            await self.threads.tick(now, stop)

    async def _send_followup(self, alert: Alert, story: Story, stop: asyncio.Event) -> None:
        outcome = await self._exclusive(alert.id, lambda: self.sink.send(alert), stop)
        if outcome.status in ("abandoned", "elsewhere"):
            return
        if outcome.status == "dead":
            self.log.warning("followup_dropped", alert_id=alert.id, error=outcome.error)
        elif outcome.status == "delivered":
            DELIVERIES.labels(sink=self.sink.name, outcome="followup").inc()
        await self.stories.reported(story.id, len(story.sources), self._clock())

    async def _flush_digest(self, now: float, stop: asyncio.Event) -> None:
        assert self.digests is not None
        due = await self.digests.due(now)
        if due is None:
            return
        digest_id, alerts = due
        digest = Digest(id=digest_id, subscription=self.subscription.name, alerts=tuple(alerts))
        outcome = await self._exclusive(digest_id, lambda: self.sink.send_digest(digest), stop)
        if outcome.status in ("abandoned", "elsewhere"):
            return
        if outcome.status == "dead":
            await self._dead_letter_digest(alerts, outcome)
        elif outcome.status == "delivered":
            DELIVERIES.labels(sink=self.sink.name, outcome="digest").inc()
            self.log.info("digest_delivered", digest_id=digest_id, alerts=len(alerts))
        await self.digests.clear(alerts, self._clock())

    async def _dead_letter_alert(self, alert: Alert, outcome: Outcome) -> None:
        """Dead-letter a story's message or reminder (its stream copies were acknowledged)."""
        await self._dead_letter_digest([alert], outcome, event="story_dead_lettered")

    async def _dead_letter_digest(
        self, alerts: list[Alert], outcome: Outcome, event: str = "digest_dead_lettered"
    ) -> None:
        for alert in alerts:
            fields = dead_letter_fields(
                alert=alert.to_json(), subscription=self.subscription.name, error=outcome.error,
                attempts=outcome.attempts, sink=self.sink.name, channel=alert.channel,
                stream_id="", now=datetime.now(UTC),
            )  # fmt: skip
            await self.client.xadd(self.keys.dead_letters, fields, maxlen=DLQ_MAXLEN)  # type: ignore[arg-type]
            DEAD_LETTERS.labels(sink=self.sink.name).inc()
        self.log.warning(event, alerts=len(alerts), error=outcome.error)


def build_notifiers(
    settings: Settings, client: aioredis.Redis, keys: Keys, *, consumer: str
) -> list[Notifier]:
    """One notifier per configured subscription, its sink built from ``settings.sinks``."""
    pacers: dict[str, Pacer] = {}
    notifiers = []
    for sub in settings.subscriptions:
        recipients = RedisRecipients(client, keys, sub.name, ttl=settings.delivery.delivered_ttl)
        sink = build_sink(
            settings.sink(sub.sink), pacers, subscription=sub.name,
            backoff_max=settings.delivery.backoff_max, recipients=recipients,
        )  # fmt: skip
        notifiers.append(Notifier(sub, sink, client, keys, settings.delivery, consumer=consumer))
    return notifiers

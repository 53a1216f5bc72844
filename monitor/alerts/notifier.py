"""The notifier: one subscription's consumer group on its channel streams, feeding one sink.

Guarantees (see docs/delivery.md): a message is acknowledged only after the sink accepted it or
it went to the dead-letter stream; ``delivered:<subscription>:<alert>`` is set (NX, with a TTL)
after a successful send and before the acknowledgement, so a crash after the send does not send
again; idle pending messages of crashed consumers are claimed back (XAUTOCLAIM).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from monitor.alerts.alert import Alert
from monitor.alerts.collect import DigestBox, StoryBook, followup_alert
from monitor.alerts.deadletter import DLQ_MAXLEN, dead_letter_fields
from monitor.alerts.filters import accepts
from monitor.alerts.grouping import Story, followup_due
from monitor.alerts.render import Digest
from monitor.alerts.retry import backoff_delay
from monitor.alerts.sinks import Pacer, Sink, build_sink
from monitor.config import DeliverySettings, Settings, SubscriptionSettings
from monitor.errors import PermanentDelivery, RetryableDelivery
from monitor.metrics import DEAD_LETTERS, DELIVERIES
from monitor.streams import GroupConsumer, Keys, Message, decode_fields, subscription_group

log = structlog.get_logger(__name__)

Checkpoint = Callable[[str, str], None]
# A new subscription group starts this far back, so alerts published while the daemon was
# starting reach it, without replaying a channel's whole history into a new Slack channel.
NEW_GROUP_BACKFILL_MS = 3_600_000
_READ_BLOCK_MS = 500
# KEYS: stream. ARGV: group, consumer, message id. Resets the message's idle time and returns 1
# only while this consumer still owns it: one that waited longer than claim_idle in our batch or
# in a retry backoff may have been claimed, and delivered, by another notifier meanwhile.
_RENEW_IF_OURS = """
local rows = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if rows[1] and rows[1][2] == ARGV[2] then
  redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one delivery ended: ``delivered``, ``dead`` or ``abandoned`` (stopping)."""

    status: str
    error: str = ""
    attempts: int = 0


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _sleep_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep; True if ``stop`` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
    return stop.is_set()


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
        self._sending = False
        self._renew = client.register_script(_RENEW_IF_OURS)
        self.stories = StoryBook(client, keys, subscription.name, delivery.group_window)
        period = subscription.digest or 0.0
        self.digests = DigestBox(client, keys, subscription.name, period) if period else None
        self.log = log.bind(subscription=subscription.name, sink=sink.name)

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
                if self._sending:
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
        await self._ensure_groups()
        failures = 0
        while not stop.is_set():
            try:
                for message in await self._next_messages():
                    if stop.is_set():
                        return
                    await self._handle(message, stop)
                await self._tick(stop)
                failures = 0
            except RedisError as exc:
                failures += 1
                self._backlog = True
                delay = backoff_delay(failures, base=0.2, cap=5.0, jitter=self._jitter())
                self.log.warning("notifier_redis_error", error=str(exc), retry_in=round(delay, 2))
                if await _sleep_or_stop(delay, stop):
                    return
                with contextlib.suppress(RedisError):
                    await self._ensure_groups()

    async def _ensure_groups(self) -> None:
        start = f"{max(int(self._clock() * 1000) - NEW_GROUP_BACKFILL_MS, 0)}-0"
        for consumer in self.consumers.values():
            consumer.start_id = start
            await consumer.ensure_group()

    async def _next_messages(self) -> list[Message]:
        """Own pending backlog first, then idle claims from dead consumers, then new messages."""
        if self._backlog:
            messages = await self._read("0", block_ms=None)
            if messages:
                return messages
            self._backlog = False
        now = self._clock()
        if now >= self._next_claim:
            self._next_claim = now + max(self.delivery.claim_idle / 2, 1.0)
            claimed = [m for c in self.consumers.values() for m in await c.claim_idle()]
            if claimed:
                return claimed
        return await self._read(">", block_ms=_READ_BLOCK_MS)

    async def _read(self, position: str, *, block_ms: int | None) -> list[Message]:
        reply: Any = await self.client.xreadgroup(
            self.group, self.consumer, dict.fromkeys(self.consumers, position),
            count=100, block=block_ms,
        )  # fmt: skip
        messages = []
        for stream, entries in reply or ():
            for mid, fields in entries:
                name, ident = _text(stream), _text(mid)
                messages.append(Message(name, ident, decode_fields(fields or {})))
        return messages

    # --- one message --------------------------------------------------------------------------

    async def _ack(self, message: Message, outcome: str) -> None:
        await self.consumers[message.stream].ack(message.id)
        DELIVERIES.labels(sink=self.sink.name, outcome=outcome).inc()

    async def _handle(self, message: Message, stop: asyncio.Event) -> None:
        raw = message.fields.get("alert")
        if not raw:
            # The stream was trimmed past this pending entry: say so loudly, never send blanks.
            self.log.error("alert_payload_missing", stream=message.stream, message_id=message.id)
            await self._dead_letter(message, "", "alert payload missing (stream trimmed?)", 0)
            return
        target = message.fields.get("subscription")
        if target and target != self.subscription.name:
            await self._ack(message, "not_for_us")  # a dead letter replayed for another
            return
        try:
            alert = Alert.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            self.log.error("alert_unreadable", message_id=message.id, error=str(exc)[:200])
            await self._dead_letter(message, raw, f"unreadable alert: {exc}", 0)
            return
        if not accepts(self.subscription, alert):
            await self._ack(message, "filtered")
            return
        if await self.client.exists(self.keys.delivered(self.subscription.name, alert.id)):
            await self._ack(message, "duplicate")
            return
        now = self._clock()
        if self.digests is not None:
            stream = message.stream
            await self.digests.add(alert, stream, self.group, message.id, now)
            DELIVERIES.labels(sink=self.sink.name, outcome="digested").inc()
            return
        if self.delivery.group_window > 0 and await self.stories.absorb(alert, now):
            self.log.info("alert_grouped", alert_id=alert.id, rule_id=alert.rule_id)
            await self._ack(message, "grouped")
            return
        await self._deliver_message(message, alert, stop)

    async def _deliver_message(self, message: Message, alert: Alert, stop: asyncio.Event) -> None:
        if not await self._keep_claim(message):
            self.log.info("alert_claimed_elsewhere", message_id=message.id, alert_id=alert.id)
            return
        outcome = await self._attempt(alert.id, lambda: self.sink.send(alert), stop, message)
        if outcome.status == "abandoned":
            return
        if outcome.status == "dead":
            await self._dead_letter(message, alert.to_json(), outcome.error, outcome.attempts)
            return
        self._checkpoint("sent", alert.id)
        await self._mark_delivered(alert.id)
        self._checkpoint("marked", alert.id)
        if self.delivery.group_window > 0:
            await self.stories.open(alert, self._clock())
        await self._ack(message, "delivered")
        self.log.info("alert_delivered", alert_id=alert.id, rule_id=alert.rule_id)

    async def _mark_delivered(self, delivery_id: str) -> None:
        key = self.keys.delivered(self.subscription.name, delivery_id)
        await self.client.set(key, "1", nx=True, ex=max(int(self.delivery.delivered_ttl), 1))

    async def _attempt(
        self,
        delivery_id: str,
        send: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
        message: Message | None = None,
    ) -> Outcome:
        """Send with retries by failure class; never raises a delivery error."""
        attempts, throttled = 0, 0
        while True:
            attempts += 1
            try:
                self._sending = True
                await send()
                return Outcome("delivered", attempts=attempts)
            except PermanentDelivery as exc:
                return Outcome("dead", str(exc), attempts)
            except RetryableDelivery as exc:
                error, retry_after = str(exc), exc.retry_after
            except Exception as exc:  # a sink bug must not kill the notifier: retry, then DLQ
                error, retry_after = f"{type(exc).__name__}: {exc}"[:300], None
            finally:
                self._sending = False
            if retry_after is not None and throttled < 10 * self.delivery.max_attempts:
                # Rate limited: the service told us when; that is not a failed attempt.
                attempts, throttled = attempts - 1, throttled + 1
                delay = min(retry_after, self.delivery.backoff_max)
            elif attempts >= self.delivery.max_attempts:
                return Outcome("dead", error, attempts)
            else:
                delay = self._backoff(attempts)
            DELIVERIES.labels(sink=self.sink.name, outcome="retry").inc()
            self.log.warning("delivery_retry", delivery_id=delivery_id, error=error,
                             attempt=attempts, retry_in=round(delay, 3))  # fmt: skip
            if await _sleep_or_stop(delay, stop):
                return Outcome("abandoned", error, attempts)
            if message is not None and not await self._keep_claim(message):
                return Outcome("abandoned", error, attempts)

    def _backoff(self, attempts: int) -> float:
        cfg = self.delivery
        return backoff_delay(
            attempts, base=cfg.backoff_base, cap=cfg.backoff_max, jitter=self._jitter()
        )

    async def _keep_claim(self, message: Message) -> bool:
        """Reset the idle time of a message we still own, so no other consumer claims it."""
        args = [self.group, self.consumer, message.id]
        return bool(int(await self._renew(keys=[message.stream], args=args)))

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
        if self.digests is not None:
            await self._flush_digest(now, stop)
        elif self.delivery.group_window > 0:
            for story in await self.stories.stories(now):
                if followup_due(story, now=now, delay=self.delivery.followup_delay):
                    await self._send_followup(followup_alert(story), story, stop)

    async def _send_followup(self, alert: Alert, story: Story, stop: asyncio.Event) -> None:
        if not await self.client.exists(self.keys.delivered(self.subscription.name, alert.id)):
            outcome = await self._attempt(alert.id, lambda: self.sink.send(alert), stop)
            if outcome.status == "abandoned":
                return
            if outcome.status == "dead":
                self.log.warning("followup_dropped", alert_id=alert.id, error=outcome.error)
            else:
                await self._mark_delivered(alert.id)
                DELIVERIES.labels(sink=self.sink.name, outcome="followup").inc()
        now = self._clock()
        await self.stories.save(replace(story, reported=len(story.sources), last_sent=now))

    async def _flush_digest(self, now: float, stop: asyncio.Event) -> None:
        assert self.digests is not None
        due = await self.digests.due(now)
        if due is None:
            return
        digest_id, alerts = due
        digest = Digest(id=digest_id, subscription=self.subscription.name, alerts=tuple(alerts))
        if not await self.client.exists(self.keys.delivered(self.subscription.name, digest_id)):
            outcome = await self._attempt(digest_id, lambda: self.sink.send_digest(digest), stop)
            if outcome.status == "abandoned":
                return
            if outcome.status == "dead":
                await self._dead_letter_digest(alerts, outcome)
            else:
                await self._mark_delivered(digest_id)
                DELIVERIES.labels(sink=self.sink.name, outcome="digest").inc()
                self.log.info("digest_delivered", digest_id=digest_id, alerts=len(alerts))
        await self.digests.clear(alerts, self._clock())

    async def _dead_letter_digest(self, alerts: list[Alert], outcome: Outcome) -> None:
        for alert in alerts:
            fields = dead_letter_fields(
                alert=alert.to_json(), subscription=self.subscription.name, error=outcome.error,
                attempts=outcome.attempts, sink=self.sink.name, channel=alert.channel,
                stream_id="", now=datetime.now(UTC),
            )  # fmt: skip
            await self.client.xadd(self.keys.dead_letters, fields, maxlen=DLQ_MAXLEN)  # type: ignore[arg-type]
            DEAD_LETTERS.labels(sink=self.sink.name).inc()
        self.log.warning("digest_dead_lettered", alerts=len(alerts), error=outcome.error)


def build_notifiers(
    settings: Settings, client: aioredis.Redis, keys: Keys, *, consumer: str
) -> list[Notifier]:
    """One notifier per configured subscription, its sink built from ``settings.sinks``."""
    pacers: dict[str, Pacer] = {}
    notifiers = []
    for sub in settings.subscriptions:
        sink = build_sink(settings.sink(sub.sink), pacers, subscription=sub.name)
        notifiers.append(Notifier(sub, sink, client, keys, settings.delivery, consumer=consumer))
    return notifiers

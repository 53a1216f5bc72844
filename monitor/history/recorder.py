"""The history recorder: reads every channel's alert stream (group ``history``) into the store.

It runs beside the notifiers. Channels are discovered from the engine's channel set, so a new
channel is recorded without a restart; a message is acknowledged only after its story record is
written, so a crash records it again (folding the same alert twice changes nothing).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from monitor.alerts.alert import Alert
from monitor.alerts.attempts import sleep_or_stop
from monitor.history.store import HistoryStore
from monitor.streams import GroupConsumer, Keys, Message, as_text, messages_from_reply

log = structlog.get_logger(__name__)

HISTORY_GROUP = "history"
CHANNELS_EVERY_SECONDS = 5.0
PRUNE_EVERY_SECONDS = 3600.0


class HistoryRecorder:
    """Folds every published alert into the desk's story records."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        *,
        consumer: str,
        retention: timedelta,
        claim_idle_ms: int = 60_000,
    ) -> None:
        self.client = client
        self.keys = keys
        self.store = HistoryStore(client, keys)
        self.consumer = consumer
        self.retention = retention
        self.claim_idle_ms = claim_idle_ms
        self.streams: dict[str, GroupConsumer] = {}
        self._channels_at = float("-inf")
        self._pruned_at = float("-inf")

    async def run(self, stop: asyncio.Event) -> None:
        """Record until ``stop`` is set."""
        log.info("history_recorder_started", consumer=self.consumer)
        while not stop.is_set():
            try:
                await self.step(block_ms=500)
            except (RedisError, OSError) as exc:
                log.warning("history_redis_error", error=str(exc))
                self._channels_at = float("-inf")  # re-create groups after a Redis restart
                await sleep_or_stop(1.0, stop)
        log.info("history_recorder_stopped")

    async def step(self, block_ms: int | None = None) -> int:
        """One turn: refresh channels, record what arrived, prune when due; returns recorded."""
        now = time.monotonic()
        if now - self._channels_at > CHANNELS_EVERY_SECONDS:
            await self._follow_channels()
            self._channels_at = now
        if now - self._pruned_at > PRUNE_EVERY_SECONDS:
            dropped = await self.store.prune(datetime.now(UTC), self.retention)
            if dropped:
                log.info("history_pruned", stories=dropped)
            self._pruned_at = now
        messages: list[Message] = []
        for consumer in self.streams.values():
            messages += await consumer.claim_idle(100)
        messages += await self._read(block_ms)
        for message in messages:
            await self._record(message)
        return len(messages)

    async def _follow_channels(self) -> None:
        for member in await self.client.smembers(self.keys.channels):
            stream = self.keys.alerts(as_text(member))
            if stream not in self.streams:
                consumer = GroupConsumer(
                    self.client, stream, HISTORY_GROUP, self.consumer,
                    claim_idle_ms=self.claim_idle_ms,
                )  # fmt: skip
                await consumer.ensure_group()
                self.streams[stream] = consumer

    async def _read(self, block_ms: int | None) -> list[Message]:
        if not self.streams:
            if block_ms:
                await asyncio.sleep(block_ms / 1000)
            return []

        reply = await self.client.xreadgroup(
            HISTORY_GROUP, self.consumer, dict.fromkeys(self.streams, ">"), count=100,
            block=block_ms,
        )  # fmt: skip
        return messages_from_reply(reply)

    async def _record(self, message: Message) -> None:
        raw = message.fields.get("alert")
        if raw:
            try:
                alert = Alert.from_json(raw)
            except Exception as exc:  # an unreadable payload is skipped, never a crash
                log.error("history_alert_unreadable", message_id=message.id, error=str(exc)[:200])
            else:
                await self.store.add(alert, datetime.now(UTC))
        await self.streams[message.stream].ack(message.id)

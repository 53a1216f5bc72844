"""Silences in Redis: one hash of silence records, and a capped stream of what they held back.

Every notifier reads the hash (briefly cached), so a silence added on one machine holds alerts
back on all of them within :data:`REFRESH_SECONDS`.
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
import structlog

from monitor.alerts.alert import Alert
from monitor.silences.model import Silence, SilenceError, State, first_silencing
from monitor.streams import Keys, decode_fields

log = structlog.get_logger(__name__)

# Expired silences stay listed (and can be looked up) this long, as Alertmanager keeps them 120 h.
RETENTION = timedelta(days=5)
REFRESH_SECONDS = 2.0
SILENCED_MAXLEN = 10_000


class SilenceNotFound(LookupError):
    """No silence with that id (or a prefix that names more than one)."""


class SilenceStore:
    """Add, list and expire silences; check alerts against the active ones."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._cached: list[Silence] = []
        self._cached_at = float("-inf")

    async def add(self, silence: Silence) -> None:
        """Store a new or changed silence."""
        await self.client.hset(self.keys.silences, silence.id, silence.to_json())

    async def all(self, now: datetime) -> list[Silence]:
        """Every silence, newest first; expired ones past :data:`RETENTION` are dropped."""
        raw = decode_fields(await self.client.hgetall(self.keys.silences))
        silences, gone = [], []
        for silence_id, value in raw.items():
            try:
                silence = Silence.from_dict(_json(value))
            except SilenceError as exc:
                log.error("silence_unreadable", silence_id=silence_id, error=str(exc))
                continue
            if silence.state(now) is State.EXPIRED and now - silence.ends_at > RETENTION:
                gone.append(silence_id)
            else:
                silences.append(silence)
        if gone:
            await self.client.hdel(self.keys.silences, *gone)
        return sorted(silences, key=lambda s: s.created_at, reverse=True)

    async def get(self, wanted: str, now: datetime) -> Silence:
        """The silence whose id is ``wanted`` or starts with it (unambiguously)."""
        found = [s for s in await self.all(now) if s.id.startswith(wanted)]
        if len(found) != 1 or not wanted:
            why = "no silence" if not found else "more than one silence"
            raise SilenceNotFound(f"{why} with id {wanted!r}")
        return found[0]

    async def expire(self, wanted: str, now: datetime) -> Silence:
        """End a silence now; returns it as stored."""
        silence = (await self.get(wanted, now)).expire(now)
        await self.add(silence)
        self._cached_at = float("-inf")
        return silence

    async def holding(self, alert: Alert, now: datetime) -> Silence | None:
        """The active silence that holds ``alert`` back, if any (silences cached briefly)."""
        if time.monotonic() - self._cached_at > REFRESH_SECONDS:
            self._cached = [s for s in await self.all(now) if s.state(now) is not State.EXPIRED]
            self._cached_at = time.monotonic()
        return first_silencing(self._cached, alert, now)

    async def record(self, alert: Alert, subscription: str, silence: Silence) -> None:
        """Keep a visible record of an alert a silence held back."""
        await self.client.xadd(
            self.keys.silenced,
            {"alert": alert.to_json(), "subscription": subscription, "silence": silence.id},
            maxlen=SILENCED_MAXLEN,
            approximate=True,
        )

    async def held_back(self, count: int = 100) -> list[dict[str, str]]:
        """The most recent records of held-back alerts, newest first."""
        rows = await self.client.xrevrange(self.keys.silenced, count=count)
        return [{"id": str(i), **decode_fields(fields or {})} for i, fields in rows or []]


def _json(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise SilenceError(f"a silence record is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SilenceError("a silence record is not an object")
    return data

"""The dead-letter stream: alerts no sink would take, kept for people to inspect and replay.

Fields of each entry: ``alert`` (the alert JSON, empty if its payload was lost), ``subscription``,
``error``, ``attempts``, ``sink``, ``channel``, ``stream_id`` (where it came from), ``failed_at``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from monitor.streams import Keys, decode_fields

DLQ_MAXLEN = 100_000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One entry of the dead-letter stream."""

    id: str
    alert: str
    subscription: str
    error: str
    attempts: int
    sink: str
    channel: str
    stream_id: str
    failed_at: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict (``alert`` parsed when it is JSON)."""
        try:
            alert: object = json.loads(self.alert) if self.alert else None
        except ValueError:
            alert = self.alert
        return {
            "id": self.id,
            "subscription": self.subscription,
            "sink": self.sink,
            "channel": self.channel,
            "stream_id": self.stream_id,
            "error": self.error,
            "attempts": self.attempts,
            "failed_at": self.failed_at,
            "alert": alert,
        }


def dead_letter_fields(
    *, alert: str, subscription: str, error: str, attempts: int, sink: str, channel: str,
    stream_id: str, now: datetime,
) -> dict[str, str]:  # fmt: skip
    """The stream fields of one dead letter."""
    return {
        "alert": alert,
        "subscription": subscription,
        "error": error[:1000],
        "attempts": str(attempts),
        "sink": sink,
        "channel": channel,
        "stream_id": stream_id,
        "failed_at": now.astimezone(UTC).isoformat(),
    }


def _from_entry(entry_id: str, raw: dict[str, str]) -> DeadLetter:
    return DeadLetter(
        id=entry_id,
        alert=raw.get("alert", ""),
        subscription=raw.get("subscription", ""),
        error=raw.get("error", ""),
        attempts=int(raw.get("attempts", "0") or 0),
        sink=raw.get("sink", ""),
        channel=raw.get("channel", ""),
        stream_id=raw.get("stream_id", ""),
        failed_at=raw.get("failed_at", ""),
    )


async def list_dead_letters(
    client: aioredis.Redis, keys: Keys, *, ids: tuple[str, ...] = (), limit: int = 1000
) -> list[DeadLetter]:
    """Dead letters, oldest first (only ``ids`` when given)."""
    found: list[Any] = []
    if ids:
        for entry_id in ids:
            rows = await client.xrange(keys.dead_letters, min=entry_id, max=entry_id, count=1)
            found.extend(rows or ())
    else:
        found = list(await client.xrange(keys.dead_letters, min="-", max="+", count=limit) or ())
    return [_from_entry(str(eid), decode_fields(fields)) for eid, fields in found]


async def replay(client: aioredis.Redis, keys: Keys, letter: DeadLetter) -> str | None:
    """Put the alert back on its channel stream for its subscription only; ``None`` if it can't.

    The replayed entry carries ``subscription`` so other subscriptions of the channel skip it.
    """
    if not letter.alert or not letter.channel:
        return None
    try:
        data = json.loads(letter.alert)
        alert_id, rule, severity = str(data["id"]), str(data["rule_id"]), str(data["severity"])
    except (ValueError, KeyError, TypeError):
        return None
    fields = {"alert": letter.alert, "id": alert_id, "rule": rule, "severity": severity,
              "subscription": letter.subscription}  # fmt: skip
    async with client.pipeline(transaction=True) as pipe:
        pipe.xadd(keys.alerts(letter.channel), fields)  # type: ignore[arg-type]
        pipe.xdel(keys.dead_letters, letter.id)
        new_id, _ = await pipe.execute()
    return str(new_id)


async def drop(client: aioredis.Redis, keys: Keys, ids: tuple[str, ...]) -> int:
    """Delete dead letters by id; returns how many existed."""
    return int(await client.xdel(keys.dead_letters, *ids)) if ids else 0


async def drop_all(client: aioredis.Redis, keys: Keys) -> int:
    """Delete the whole dead-letter stream; returns how many entries it held."""
    count = int(await client.xlen(keys.dead_letters))
    await client.delete(keys.dead_letters)
    return count

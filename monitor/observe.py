"""Read how the pipeline is doing from Redis: stream lag, dead letters, feeds, rules, instances.

Shared by the ``/metrics`` endpoint and ``treaty-monitor status``. Every reader returns frozen
values; nothing here writes to Redis. The reads are cheap (a few commands per stream, one
pipelined round trip for the feeds), so they run on every scrape.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from monitor.streams import Keys, as_text, decode_fields

# XINFO GROUPS reports ``lag`` from Redis 7; on 6.2 we count undelivered entries up to this cap.
LAG_COUNT_CAP = 10_000


@dataclass(frozen=True, slots=True)
class GroupLag:
    """One consumer group on one stream: entries not yet handed out, and handed out but unacked."""

    stream: str
    group: str
    lag: int
    pending: int
    consumers: int
    lag_capped: bool = False


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A feed's fetch state as the fetchers recorded it in ``keys.feed_state(feed)``."""

    name: str
    last_success: float | None
    last_status: str
    errors: int
    last_error: str
    fields: Mapping[str, str]

    def staleness(self, now: float) -> float | None:
        """Seconds since the last successful fetch (``None``: never fetched successfully)."""
        return None if self.last_success is None else max(0.0, now - self.last_success)


@dataclass(frozen=True, slots=True)
class RulesStatus:
    """The running rule set as the engine recorded it in ``keys.rules_status``."""

    version: str
    loaded_at: float | None
    error: str

    @property
    def ok(self) -> bool:
        """The last load or reload succeeded."""
        return bool(self.version) and not self.error


@dataclass(frozen=True, slots=True)
class Instance:
    """One running process, from its heartbeat in ``keys.heartbeats``."""

    name: str
    role: str
    pid: int | None
    host: str
    at: float | None
    # An engine worker process: the daemon that runs it, its number and entries evaluated so far.
    parent: str = ""
    worker: int | None = None
    evaluated: int | None = None
    # A daemon running engine worker processes: how many it runs.
    engine_workers: int | None = None

    def age(self, now: float) -> float | None:
        """Seconds since the last heartbeat."""
        return None if self.at is None else max(0.0, now - self.at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one ``/metrics`` scrape reads from Redis."""

    lags: tuple[GroupLag, ...]
    dead_letters: int
    feeds: tuple[FeedHealth, ...]
    rules: RulesStatus


def parse_time(value: object) -> float | None:
    """Unix seconds from a number, a numeric string or an ISO 8601 string; else ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _int(value: object, default: int = 0) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


def feed_health(name: str, fields: Mapping[str, str]) -> FeedHealth:
    """Interpret one feed-state hash; unknown or missing fields fall back to neutral values."""
    errors = fields.get("errors") or fields.get("consecutive_errors") or fields.get("failures")
    last_success = parse_time(fields.get("last_success"))
    return FeedHealth(
        name=name,
        # The fetchers store 0 for "never succeeded".
        last_success=last_success if last_success else None,
        last_status=fields.get("last_status") or fields.get("status") or "",
        errors=_int(errors or 0),
        last_error=fields.get("last_error") or fields.get("error") or "",
        fields=dict(fields),
    )


def instance_from(name: str, raw: str) -> Instance:
    """Interpret one heartbeat value (JSON ``{role, pid, host, at}``); garbage becomes blanks."""
    try:
        data: Any = json.loads(raw)
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    return Instance(
        name=name,
        role=str(data.get("role", "")),
        pid=_count(data.get("pid")),
        host=str(data.get("host", "")),
        at=parse_time(data.get("at")),
        parent=str(data.get("parent", "")),
        worker=_count(data.get("worker")),
        evaluated=_count(data.get("evaluated")),
        engine_workers=_count(data.get("engine_workers")),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def stream_groups(client: aioredis.Redis, stream: str) -> list[GroupLag]:
    """Lag and pending count of every consumer group on ``stream`` (empty if no stream)."""
    if not await client.exists(stream):
        return []
    groups: list[dict[str, Any]] = await client.xinfo_groups(stream)
    result = []
    for info in groups:
        fields = decode_fields(info)
        capped = False
        # Redis 7 may also report a nil lag (after XDEL or trimming): count then, too.
        if fields.get("lag", "None") == "None":
            lag, capped = await _count_after(client, stream, fields["last-delivered-id"])
        else:
            lag = _int(fields["lag"])
        result.append(
            GroupLag(
                stream=stream,
                group=fields["name"],
                lag=lag,
                pending=_int(fields.get("pending", 0)),
                consumers=_int(fields.get("consumers", 0)),
                lag_capped=capped,
            )
        )
    return result


async def _count_after(client: aioredis.Redis, stream: str, last_id: str) -> tuple[int, bool]:
    rows = await client.xrange(stream, min=f"({last_id}", max="+", count=LAG_COUNT_CAP) or []
    return len(rows), len(rows) >= LAG_COUNT_CAP


def _names(members: Any) -> list[str]:
    return sorted(as_text(m) for m in members)


async def channels(client: aioredis.Redis, keys: Keys) -> list[str]:
    """Channel names that have received alerts, sorted."""
    return _names(await client.smembers(keys.channels))


async def all_lags(client: aioredis.Redis, keys: Keys) -> list[GroupLag]:
    """Groups on the entries stream and on every channel stream."""
    lags = await stream_groups(client, keys.entries)
    for channel in await channels(client, keys):
        lags.extend(await stream_groups(client, keys.alerts(channel)))
    return lags


async def dead_letter_count(client: aioredis.Redis, keys: Keys) -> int:
    """Entries in the dead-letter stream."""
    return int(await client.xlen(keys.dead_letters))


async def feeds(client: aioredis.Redis, keys: Keys) -> list[FeedHealth]:
    """Health of every feed the fetchers know, sorted by name (one round trip for all)."""
    names = _names(await client.smembers(keys.feeds))
    if not names:
        return []
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.hgetall(keys.feed_state(name))
    states = await pipe.execute()
    return [feed_health(n, decode_fields(s or {})) for n, s in zip(names, states, strict=True)]


async def rules_status(client: aioredis.Redis, keys: Keys) -> RulesStatus:
    """The rule set the engine last loaded (blank when no engine has run)."""
    fields = decode_fields(await client.hgetall(keys.rules_status))
    return RulesStatus(
        version=fields.get("version", ""),
        loaded_at=parse_time(fields.get("loaded_at")),
        error=fields.get("error", ""),
    )


async def instances(client: aioredis.Redis, keys: Keys) -> list[Instance]:
    """Every process that has sent a heartbeat, sorted by role then name."""
    raw = decode_fields(await client.hgetall(keys.heartbeats))
    found = [instance_from(name, value) for name, value in raw.items()]
    return sorted(found, key=lambda i: (i.role, i.name))


async def last_alerts(
    client: aioredis.Redis, keys: Keys, per_channel: int = 3
) -> dict[str, list[dict[str, Any]]]:
    """The newest ``per_channel`` alerts (decoded JSON) of each channel, newest first."""
    found: dict[str, list[dict[str, Any]]] = {}
    for channel in await channels(client, keys):
        rows = await client.xrevrange(keys.alerts(channel), count=per_channel) or []
        alerts = []
        for _mid, raw in rows:
            try:
                data = json.loads(decode_fields(raw or {}).get("alert", ""))
            except ValueError:
                continue
            if isinstance(data, dict):
                alerts.append(data)
        found[channel] = alerts
    return found

"""Redis side of the fetchers: feed state and health, seen entries, publishing, leases.

Publishing is one Lua script per poll: for each entry, the first-seen record (``seen`` hash:
entry id → fingerprint) and the XADD to the entries stream happen together or not at all, so a
crash can neither publish an entry twice nor lose one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import redis.asyncio as aioredis

from monitor.streams import Keys, as_text, decode_fields

_PUBLISH = """
local new, edited = 0, 0
local rows = cjson.decode(ARGV[2])
local day = ARGV[3]
for i = 1, #rows do
  local id, fp, body = rows[i][1], rows[i][2], rows[i][3]
  local old = redis.call('HGET', KEYS[1], id)
  if not old then
    redis.call('HSET', KEYS[1], id, fp .. ':' .. day)
    redis.call('XADD', KEYS[2], '*', 'entry', body, 'feed', ARGV[1], 'id', id)
    new = new + 1
  elseif string.match(old, '^[^:]*') ~= fp then
    redis.call('HSET', KEYS[1], id, fp .. ':' .. day)
    redis.call('XADD', KEYS[2], '*', 'entry', body, 'feed', ARGV[1], 'id', id, 'edited', '1')
    edited = edited + 1
  end
end
if new > 0 then redis.call('HINCRBY', KEYS[3], 'entries_seen', new) end
if edited > 0 then redis.call('HINCRBY', KEYS[3], 'entries_edited', edited) end
return {new, edited}
"""

# Forget entries first seen before ARGV[1] (a day number), only in hashes above ARGV[2] fields:
# a small feed keeps every id forever, so an old item still listed can never alert again.
_PRUNE = """
if redis.call('HLEN', KEYS[1]) <= tonumber(ARGV[2]) then return 0 end
local cursor, removed, oldest = '0', 0, tonumber(ARGV[1])
repeat
  local reply = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', 1000)
  cursor = reply[1]
  local kv = reply[2]
  for i = 1, #kv, 2 do
    local day = tonumber(string.match(kv[i + 1], ':(%d+)$') or '')
    if day and day < oldest then
      redis.call("HDEL", KEYS[1], kv[i])
      removed = removed + 1
    end
  end
until cursor == '0'
return removed
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return false
"""


_KINDS: dict[type, type] = {int: int, float: float, str: str}


@dataclass(frozen=True, slots=True)
class FeedState:
    """One feed's stored fetch state and health (the ``feed:<name>`` hash)."""

    configured_url: str = ""
    url: str = ""
    status: str = ""
    http_status: int = 0
    last_attempt: float = 0.0
    last_success: float = 0.0
    consecutive_errors: int = 0
    error_kind: str = ""
    last_error: str = ""
    next_due: float = 0.0
    entries_seen: int = 0
    entries_edited: int = 0
    etag: str = ""
    last_modified: str = ""
    body_hash: str = ""
    item_hashes: str = ""
    muted: int = 0
    redirect_target: str = ""
    redirect_count: int = 0
    guid_shared: int = 0
    title: str = ""
    pruned_day: int = 0

    @classmethod
    def from_hash(cls, raw: Mapping[str, str]) -> FeedState:
        """Build from the Redis hash, ignoring unknown fields and bad numbers."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in raw:
                continue
            value = raw[f.name]
            kind = _KINDS.get(type(f.default), str)
            try:
                values[f.name] = kind(value)
            except ValueError:
                continue
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Health as a JSON-ready dict (without the bulky item hashes)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data.pop("item_hashes")
        return data

    def digests(self) -> frozenset[str]:
        """Digests of the raw items the last good fetch held."""
        return frozenset(self.item_hashes.split()) if self.item_hashes else frozenset()


class FeedStore:
    """Reads and writes feed state, publishes entries, holds leases."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self._publish = client.register_script(_PUBLISH)
        self._renew = client.register_script(_RENEW)
        self._prune = client.register_script(_PRUNE)
        self._registered: set[str] = set()

    async def load(self, feed: str) -> FeedState:
        """The stored state of ``feed`` (defaults when never fetched)."""
        raw = await self.client.hgetall(self.keys.feed_state(feed))
        return FeedState.from_hash(decode_fields(raw))

    async def save(self, feed: str, changes: Mapping[str, str | int | float]) -> None:
        """Write some fields of the state and register the feed."""
        mapping: dict[str | bytes, str | int | float] = {k: v for k, v in changes.items()}
        if feed in self._registered:
            await self.client.hset(self.keys.feed_state(feed), mapping=mapping)  # type: ignore[arg-type]
            return
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.hset(self.keys.feed_state(feed), mapping=mapping)  # type: ignore[arg-type]
            pipe.sadd(self.keys.feeds, feed)
            await pipe.execute()
        self._registered.add(feed)

    async def publish(
        self, feed: str, records: Sequence[tuple[str, str, str]], *, day: int = 0
    ) -> tuple[int, int]:
        """Publish (id, fingerprint, entry JSON) records not seen before or edited: → counts."""
        if not records:
            return 0, 0
        # One argument for all records: packing thousands of arguments costs more than JSON.
        payload = json.dumps(records, ensure_ascii=False, separators=(",", ":"))
        keys = [self.keys.seen(feed), self.keys.entries, self.keys.feed_state(feed)]
        new, edited = await self._publish(keys=keys, args=[feed, payload, day])
        return int(new), int(edited)

    async def prune_seen(self, feed: str, *, before_day: int, keep: int) -> int:
        """Forget ids first seen before ``before_day`` if the feed has seen over ``keep``."""
        return int(await self._prune(keys=[self.keys.seen(feed)], args=[before_day, keep]))

    async def acquire(self, feed: str, holder: str, ttl: float, *, take_from: str = "") -> bool:
        """Take the lease for ``ttl`` seconds (also from a holder starting with ``take_from``)."""
        key = self.keys.feed_lease(feed)
        ms = max(1, int(ttl * 1000))
        if await self.client.set(key, holder, nx=True, px=ms):
            return True
        if take_from:
            current = await self.client.get(key)
            if current is not None and as_text(current).startswith(take_from):
                return bool(await self.client.set(key, holder, xx=True, px=ms))
        return False

    async def extend(self, feed: str, holder: str, ttl: float) -> bool:
        """Keep holding the lease (until the feed is due again) if we still hold it."""
        ms = max(1, int(ttl * 1000))
        return bool(await self._renew(keys=[self.keys.feed_lease(feed)], args=[holder, ms]))

    async def lease_left(self, feed: str) -> float:
        """Seconds until someone else's lease on ``feed`` ends (0 if none)."""
        ms = await self.client.pttl(self.keys.feed_lease(feed))
        return max(0.0, int(ms) / 1000.0)

    async def states(self, feeds: Sequence[str]) -> list[FeedState]:
        """The states of several feeds at once."""
        async with self.client.pipeline(transaction=False) as pipe:
            for feed in feeds:
                pipe.hgetall(self.keys.feed_state(feed))
            rows = await pipe.execute()
        return [FeedState.from_hash(decode_fields(row)) for row in rows]

"""Per-recipient retry state of one email: who is still owed it, who refused it for good.

An SMTP server may accept a message for some recipients and answer 4xx for others; only those
are tried again. The notifier keeps that state in Redis (:class:`RedisRecipients`, a hash
``<prefix>:smtp:<subscription>:<message id>`` with a TTL), not in memory, so a notifier that
crashes between a partial 4xx and its retry, once restarted (or another instance that claims the
message), sends only to the recipients still owed. :class:`MemoryRecipients` serves a sink used
without Redis.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis

from monitor.streams import Keys, decode_fields


@dataclass(frozen=True, slots=True)
class RecipientState:
    """``owed``: recipients the next attempt goes to (``None``: no partial attempt yet, all)."""

    owed: tuple[str, ...] | None = None
    refused: dict[str, str] = field(default_factory=dict)  # recipient → "550 reason"


class RecipientStore(Protocol):
    """Where the state of messages in a partial retry is kept, by message id."""

    async def load(self, message_id: str) -> RecipientState:
        """The state of ``message_id`` (empty if none)."""
        ...

    async def save(self, message_id: str, state: RecipientState) -> None:
        """Record the state after a partial attempt."""
        ...

    async def clear(self, message_id: str) -> None:
        """Forget the state (the message is done, delivered or dead)."""
        ...


def encode_state(state: RecipientState) -> dict[str, str]:
    """The hash fields of a state."""
    return {"owed": json.dumps(list(state.owed or ())), "refused": json.dumps(state.refused)}


def decode_state(fields: dict[str, str]) -> RecipientState:
    """A state from its hash fields (no fields: no partial attempt yet)."""
    if "owed" not in fields:
        return RecipientState()
    owed = json.loads(fields["owed"])
    refused = json.loads(fields.get("refused") or "{}")
    return RecipientState(tuple(str(r) for r in owed), {str(k): str(v) for k, v in refused.items()})


class RedisRecipients:
    """The state in Redis, one hash per message, expiring after ``ttl`` seconds."""

    def __init__(
        self, client: aioredis.Redis, keys: Keys, subscription: str, *, ttl: float
    ) -> None:
        self.client = client
        self.keys = keys
        self.subscription = subscription
        self.ttl = max(int(ttl), 1)

    def _key(self, message_id: str) -> str:
        return self.keys.smtp_recipients(self.subscription, message_id)

    async def load(self, message_id: str) -> RecipientState:
        """The state of ``message_id`` (empty if none)."""
        return decode_state(decode_fields(await self.client.hgetall(self._key(message_id))))

    async def save(self, message_id: str, state: RecipientState) -> None:
        """Replace the state and (re)start its TTL, in one MULTI/EXEC."""
        key = self._key(message_id)
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=encode_state(state))  # type: ignore[arg-type]
            pipe.expire(key, self.ttl)
            await pipe.execute()

    async def clear(self, message_id: str) -> None:
        """Forget the state."""
        await self.client.delete(self._key(message_id))


class MemoryRecipients:
    """The state in this process only (lost on a crash), bounded to ``limit`` messages."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        self._states: OrderedDict[str, RecipientState] = OrderedDict()

    async def load(self, message_id: str) -> RecipientState:
        """The state of ``message_id`` (empty if none)."""
        return self._states.get(message_id, RecipientState())

    async def save(self, message_id: str, state: RecipientState) -> None:
        """Record the state; messages that ran out of attempts fall off the old end."""
        self._states[message_id] = state
        self._states.move_to_end(message_id)
        while len(self._states) > self.limit:
            self._states.popitem(last=False)

    async def clear(self, message_id: str) -> None:
        """Forget the state."""
        self._states.pop(message_id, None)

"""What a subscription has delivered, and who is delivering what right now (Redis keys).

``delivered:<sub>:<id>`` is written after the sink accepted and before the stream message is
acknowledged: a message seen again (claimed after a crash, published twice) is not sent again.
``sending:<sub>:<id>`` is a short lease so two consumers of one subscription never send the same
alert at once (one claimed it from the other while the first was still retrying).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from monitor.streams import Keys

# Delete the lease only if we still hold it (it may have expired and been taken over).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Ledger:
    """Delivered markers and sending leases of one subscription."""

    def __init__(
        self, client: aioredis.Redis, keys: Keys, subscription: str, *, owner: str,
        delivered_ttl: float, lease_seconds: float,
    ) -> None:  # fmt: skip
        self.client = client
        self.keys = keys
        self.subscription = subscription
        self.owner = owner
        self.delivered_ttl = max(int(delivered_ttl), 1)
        self.lease_ms = max(int(lease_seconds * 1000), 1000)

    async def begin(self, delivery_id: str) -> tuple[bool, bool]:
        """(lease is ours, already delivered) in one round trip.

        The lease is also ours when we held it before a restart under the same consumer name.
        """
        lease = self.keys.sending(self.subscription, delivery_id)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(lease, self.owner, nx=True, px=self.lease_ms)
            pipe.get(lease)
            pipe.exists(self.keys.delivered(self.subscription, delivery_id))
            took, holder, done = await pipe.execute()
        holder = holder.decode() if isinstance(holder, bytes) else holder
        if not took and holder == self.owner:
            await self.client.pexpire(lease, self.lease_ms)
        return bool(took) or holder == self.owner, bool(done)

    async def finish(self, delivery_id: str) -> None:
        """Record the delivery (SET NX with the TTL), then give the lease back, in one trip."""
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(self.keys.delivered(self.subscription, delivery_id), "1", nx=True,
                     ex=self.delivered_ttl)  # fmt: skip
            pipe.eval(_RELEASE, 1, self.keys.sending(self.subscription, delivery_id), self.owner)
            await pipe.execute()

    async def refresh(self, delivery_id: str) -> None:
        """Extend the lease while we are still retrying."""
        await self.client.pexpire(self.keys.sending(self.subscription, delivery_id), self.lease_ms)

    async def release(self, delivery_id: str) -> None:
        """Give the lease back (only if it is still ours)."""
        key = self.keys.sending(self.subscription, delivery_id)
        await self.client.eval(_RELEASE, 1, key, self.owner)

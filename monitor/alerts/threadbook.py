"""Redis state of story threads and deadline reminders of one subscription (thin I/O).

- ``thread:<sub>:<story>`` — the :class:`~monitor.alerts.threads.Thread` as JSON. Every change
  is a read-modify-write under WATCH/MULTI, retried when another notifier changed it first, so
  two notifiers (or two channel copies) can never both open a story.
- ``threads:<sub>`` — sorted set: story → when the thread next needs a notifier.
- ``reminders:<sub>`` — sorted set: story → when its next reminder falls.
- ``reminded:<sub>:<story>:<offset>`` — a reminder's claim: the owner while sending (a lease),
  ``sent`` once accepted (SET NX before sending, so each reminder goes out once).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from monitor.alerts import reminders
from monitor.alerts.alert import Alert
from monitor.alerts.threads import Thread, add_source, arrive, due_date_of, next_look
from monitor.streams import Keys, as_text

Change = Callable[[Thread | None], Thread | None]
_BATCH = 20
_SENT = "sent"
# Delete the claim only if we still hold it (it may have lapsed and been taken over).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class ThreadBook:
    """Threads, their schedule and their reminders' claims for one subscription."""

    def __init__(
        self, client: aioredis.Redis, keys: Keys, subscription: str, *, hold: float,
        followup_delay: float, keep: float, offsets: tuple[str, ...] = (),
    ) -> None:  # fmt: skip
        self.client = client
        self.keys = keys
        self.subscription = subscription
        self.hold = hold
        self.followup_delay = followup_delay
        self.keep = max(int(keep), 60)
        self.offsets = offsets
        self.due_key = keys.threads_due(subscription)
        self.reminder_key = keys.reminders(subscription)
        self.conflicts = 0  # WATCH conflicts retried (another notifier changed a thread first)

    def _key(self, story: str) -> str:
        return self.keys.thread(self.subscription, story)

    async def load(self, story: str) -> Thread | None:
        """The thread of ``story``, if any."""
        raw = await self.client.get(self._key(story))
        return Thread.from_json(raw) if raw else None

    async def arrive(self, alert: Alert, now: float, ack: tuple[str, str, str]) -> Thread:
        """Record one copy of a story and acknowledge its stream message, in one transaction."""

        def change(before: Thread | None) -> Thread:
            return arrive(before, alert, now=now, hold=self.hold)

        return await self.change(alert.story or alert.id, change, now=now, ack=ack)  # type: ignore[return-value]

    async def add_source(self, source: Alert, now: float, ack: tuple[str, str, str]) -> bool:
        """Count a follow-up source in its story's thread, if the subscription has one, and
        acknowledge its stream message, in one transaction; whether it was counted."""

        def count(before: Thread | None) -> tuple[Thread | None, bool]:
            after = add_source(before, source)
            return after, before is not None and after is not None and after != before

        _, after = await self._watched(source.story or "", count, now, ack)
        return after is not None

    async def change(
        self, story: str, change: Change, *, now: float, ack: tuple[str, str, str] | None = None
    ) -> Thread | None:
        """Apply ``change`` atomically (WATCH/MULTI, retried on conflict); None deletes."""
        _, after = await self._watched(story, lambda before: (change(before), True), now, ack)
        return after

    async def _watched(
        self,
        story: str,
        step: Callable[[Thread | None], tuple[Thread | None, bool]],
        now: float,
        ack: tuple[str, str, str] | None,
    ) -> tuple[Thread | None, Thread | None]:
        """Read the thread, let ``step`` give the new one and whether to write it, and write
        and acknowledge in one transaction (WATCH/MULTI, retried on conflict)."""
        key = self._key(story)
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    before = Thread.from_json(raw) if raw else None
                    after, write = step(before)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if write:
                        self._write(pipe, story, before, after, now)
                    if ack is not None:
                        pipe.xack(*ack)
                    await pipe.execute()
                    return before, after
                except WatchError:
                    self.conflicts += 1
                    continue

    def _write(
        self, pipe: Any, story: str, before: Thread | None, after: Thread | None, now: float
    ) -> None:
        if after is None:
            pipe.delete(self._key(story))
            pipe.zrem(self.due_key, story)
            pipe.zrem(self.reminder_key, story)
            return
        due = due_date_of(after.alert)
        keep = max(self.keep, reminders.lifetime(due, now)) if due else self.keep
        pipe.set(self._key(story), after.to_json(), ex=keep)
        look = next_look(after, followup_delay=self.followup_delay)
        if look is None:
            pipe.zrem(self.due_key, story)
        else:
            pipe.zadd(self.due_key, {story: look})
        told_due = before is not None and before.sent and due_date_of(before.alert) is not None
        if after.sent and due is not None and not told_due:
            self._schedule_reminders(pipe, story, due, after.opened_at)

    def _schedule_reminders(self, pipe: Any, story: str, due: date, seen: float) -> None:
        if not self.offsets:
            return
        first = reminders.first_schedule(due, self.offsets, seen=seen)
        if first is not None:
            pipe.zadd(self.reminder_key, {story: first}, nx=True)

    async def due(self, now: float) -> list[str]:
        """Stories whose thread needs a notifier at ``now`` (a few at a time)."""
        found = await self.client.zrangebyscore(self.due_key, "-inf", now, start=0, num=_BATCH)
        return [as_text(s) for s in found]

    async def reminders_due(self, now: float) -> list[str]:
        """Stories with a reminder due at ``now``."""
        found = await self.client.zrangebyscore(self.reminder_key, "-inf", now, start=0, num=_BATCH)
        return [as_text(s) for s in found]

    async def reschedule_reminder(self, story: str, at: float | None) -> None:
        """Move a story's next reminder to ``at``, or drop it (None)."""
        if at is None:
            await self.client.zrem(self.reminder_key, story)
        else:
            await self.client.zadd(self.reminder_key, {story: at}, xx=True)

    async def claim_reminder(self, story: str, offset: str, *, owner: str, lease_ms: int) -> str:
        """``mine`` (claimed now, or held by us before a restart), ``sent`` or ``busy``."""
        key = self.keys.reminded(self.subscription, story, offset)
        async with self.client.pipeline(transaction=False) as pipe:
            pipe.set(key, owner, nx=True, px=lease_ms)
            pipe.get(key)
            took, holder = await pipe.execute()
        holder = as_text(holder) if holder is not None else ""
        if took or holder == owner:
            return "mine"
        return "sent" if holder == _SENT else "busy"

    async def refresh_reminder(self, story: str, offset: str, *, lease_ms: int) -> None:
        """Extend a reminder's claim while its send is retried."""
        await self.client.pexpire(self.keys.reminded(self.subscription, story, offset), lease_ms)

    async def reminder_sent(self, story: str, offset: str, *, keep: int) -> None:
        """Mark a reminder sent for good (it outlives the due day)."""
        key = self.keys.reminded(self.subscription, story, offset)
        await self.client.set(key, _SENT, ex=keep)

    async def release_reminder(self, story: str, offset: str, *, owner: str) -> None:
        """Give a reminder's claim back (only if still ours), so it is sent later."""
        key = self.keys.reminded(self.subscription, story, offset)
        await self.client.eval(_RELEASE, 1, key, owner)

"""One message per story per subscription: the notifier's story threads and reminders.

Alerts carrying ``story`` are not sent as they are read. :meth:`StoryFlow.arrive` records each
copy in the story's thread (and acknowledges it) in one transaction; :meth:`StoryFlow.tick`
sends what is due: the first message when the merge hold ends, follow-ups, deadline reminders.
Sends go through the notifier's lease and delivered marker (``exclusive``), so two notifiers of
one subscription never send one message twice. A silence that holds the story back when a
message falls due holds that message back too (it counts as told: no later catch-up).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

from structlog.typing import FilteringBoundLogger

from monitor.alerts import reminders
from monitor.alerts.alert import Alert
from monitor.alerts.attempts import Attempts, Outcome
from monitor.alerts.sinks.base import Sink, send_followup
from monitor.alerts.threadbook import ThreadBook
from monitor.alerts.threads import (
    Followup,
    Thread,
    due_date_of,
    first_sent,
    followup_of,
    followup_sent,
    has_news,
)
from monitor.metrics import DELIVERIES
from monitor.streams import Message

Send = Callable[[], Awaitable[object]]
Exclusive = Callable[[str, Send, asyncio.Event], Awaitable[Outcome]]
DeadLetter = Callable[[Alert, Outcome], Awaitable[None]]
Silenced = Callable[[Alert], Awaitable[bool]]


async def _never(alert: Alert) -> bool:
    return False


class StoryFlow:
    """Story threads and reminders of one subscription."""

    def __init__(
        self, book: ThreadBook, sink: Sink, *, exclusive: Exclusive, attempts: Attempts,
        dead_letter: DeadLetter, clock: Callable[[], float], owner: str, lease_ms: int,
        log: FilteringBoundLogger, silenced: Silenced = _never,
    ) -> None:  # fmt: skip
        self.book = book
        self.sink = sink
        self.exclusive = exclusive
        self.attempts = attempts
        self.dead_letter = dead_letter
        self.clock = clock
        self.owner = owner
        self.lease_ms = lease_ms
        self.log = log
        self.silenced = silenced

    async def arrive(self, alert: Alert, message: Message, group: str) -> None:
        """Record one copy of a story; the stream message is acknowledged with it."""
        thread = await self.book.arrive(alert, self.clock(), (message.stream, group, message.id))
        outcome = "held" if not thread.sent else "absorbed"
        DELIVERIES.labels(sink=self.sink.name, outcome=outcome).inc()
        self.log.debug("story_copy_recorded", alert_id=alert.id, story=thread.story,
                      outcome=outcome, outlets=len(thread.outlets))  # fmt: skip

    async def add_source(self, source: Alert, message: Message, group: str) -> None:
        """Count a follow-up source in its story's thread (none: dropped, never an alert)."""
        ack = (message.stream, group, message.id)
        counted = await self.book.add_source(source, self.clock(), ack)
        outcome = "source" if counted else "source_unthreaded"
        DELIVERIES.labels(sink=self.sink.name, outcome=outcome).inc()
        self.log.debug("story_source_recorded", alert_id=source.id, story=source.story,
                       outcome=outcome)  # fmt: skip

    async def tick(self, now: float, stop: asyncio.Event) -> None:
        """Send the first messages, follow-ups and reminders that are due at ``now``."""
        for story in await self.book.due(now):
            if stop.is_set():
                return
            thread = await self.book.load(story)
            if thread is not None and not thread.sent and now >= thread.hold_until:
                await self._send_first(thread, stop)
            elif (
                thread is not None
                and has_news(thread)
                and (now >= thread.last_sent + self.book.followup_delay)
            ):
                await self._send_followup(thread, stop)
            else:
                await self.book.change(story, lambda t: t, now=now)  # reschedule (or drop)
        if self.book.offsets:
            for story in await self.book.reminders_due(now):
                if stop.is_set():
                    return
                await self._remind(story, now, stop)

    async def _send_first(self, thread: Thread, stop: asyncio.Event) -> None:
        message = thread.alert
        refs: list[str] = []
        if await self.silenced(message):
            await self._mark_first(thread, message, "")
            return

        async def send() -> None:
            ref = await self.sink.send(message)
            refs.append(ref if isinstance(ref, str) else "")

        outcome = await self.exclusive(thread.first_id, send, stop)
        if outcome.status in ("abandoned", "elsewhere"):
            return
        if outcome.status == "dead":
            # Nobody saw it: the story's next report may open it again. Closed before the dead
            # letter is written, so a crash in between leaves the copy to be read again.
            await self.book.change(thread.story, lambda t: None, now=self.clock())
            await self.dead_letter(message, outcome)
            return
        await self._mark_first(thread, message, refs[-1] if refs else "")
        if outcome.status == "delivered":
            DELIVERIES.labels(sink=self.sink.name, outcome="delivered").inc()
            self.log.info("alert_delivered", alert_id=message.id, story=thread.story,
                          severity=message.severity.label)  # fmt: skip

    async def _mark_first(self, thread: Thread, message: Alert, ref: str) -> None:
        now = self.clock()

        def mark(current: Thread | None) -> Thread | None:
            if current is None or current.sent:
                return current
            return first_sent(current, message, ref, now=now)

        await self.book.change(thread.story, mark, now=now)

    async def _send_followup(self, thread: Thread, stop: asyncio.Event) -> None:
        followup = followup_of(thread)
        if await self.silenced(followup.alert):
            await self._mark_followup(thread, followup)
            return
        outcome = await self.exclusive(
            followup.id, lambda: send_followup(self.sink, followup), stop
        )
        if outcome.status in ("abandoned", "elsewhere"):
            return
        if outcome.status == "dead":
            self.log.warning("followup_dropped", alert_id=followup.id, error=outcome.error)
        elif outcome.status == "delivered":
            DELIVERIES.labels(sink=self.sink.name, outcome="followup").inc()
            self.log.info("followup_delivered", alert_id=followup.id, story=thread.story,
                          sources=len(followup.sources), reason=followup.reason)  # fmt: skip
        await self._mark_followup(thread, followup)

    async def _mark_followup(self, thread: Thread, followup: Followup) -> None:
        now = self.clock()

        def mark(current: Thread | None) -> Thread | None:
            return followup_sent(current, followup, now=now) if current is not None else None

        await self.book.change(thread.story, mark, now=now)

    async def _remind(self, story: str, now: float, stop: asyncio.Event) -> None:
        thread = await self.book.load(story)
        due = due_date_of(thread.alert) if thread is not None else None
        if thread is None or due is None:
            await self.book.reschedule_reminder(story, None)
            return
        offsets = self.book.offsets
        offset = reminders.current(due, offsets, now=now)
        if offset is not None:
            claim = await self.book.claim_reminder(story, offset, owner=self.owner,
                                                   lease_ms=self.lease_ms)  # fmt: skip
            if claim == "busy":
                return  # another notifier is sending it, and reschedules after
            if claim == "mine" and not await self._send_reminder(thread, offset, due, stop):
                return
        await self.book.reschedule_reminder(story, reminders.after(due, offsets, now=now))

    async def _send_reminder(
        self, thread: Thread, offset: str, due: date, stop: asyncio.Event
    ) -> bool:
        """Send one claimed reminder; False when handed back (stopping)."""
        note = Followup(
            id=f"{thread.first_id}.r{offset}", story=thread.story, alert=thread.alert,
            total_sources=len(thread.outlets), thread=thread.ref, kind="reminder",
            reminder=offset,
        )  # fmt: skip

        async def refresh() -> None:
            await self.book.refresh_reminder(thread.story, offset, lease_ms=self.lease_ms)

        keep = reminders.lifetime(due, self.clock())
        if await self.silenced(note.alert):
            await self.book.reminder_sent(thread.story, offset, keep=keep)
            return True
        try:
            outcome = await self.attempts.run(
                note.id, lambda: send_followup(self.sink, note), stop, refresh
            )
        except BaseException:
            await self.book.release_reminder(thread.story, offset, owner=self.owner)
            raise
        if outcome.status == "abandoned":
            await self.book.release_reminder(thread.story, offset, owner=self.owner)
            return False
        if outcome.status == "dead":
            await self.dead_letter(note.alert, outcome)
        else:
            DELIVERIES.labels(sink=self.sink.name, outcome="reminder").inc()
            self.log.info("reminder_delivered", story=thread.story, reminder=offset,
                          due=due.isoformat())  # fmt: skip
        await self.book.reminder_sent(thread.story, offset, keep=keep)
        return True

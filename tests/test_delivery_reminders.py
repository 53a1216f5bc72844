"""Deadline reminders against a real Redis: once each, across notifiers and restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import redis.asyncio as aioredis

from monitor.alerts import reminders
from monitor.alerts.alert import Alert
from monitor.alerts.sinks.recording import RecordingSink
from monitor.alerts.threads import Followup
from monitor.streams import Keys
from tests.delivery_helpers import publish
from tests.story_helpers import DESK, STORY_DELIVERY, Clock, Running, copy, drained, start, until

OFFSETS = ("7d", "1d", "0d")
SUB = DESK.model_copy(update={"reminders": OFFSETS})


def _due_in(days: int) -> date:
    return datetime.now(UTC).date() + timedelta(days=days)


class _Shared(RecordingSink):
    def __init__(self, alerts: list[Alert], notes: list[Followup]) -> None:
        super().__init__("rec")
        self.alerts = alerts
        self.followups = notes


async def _deliver_story(
    client: aioredis.Redis, keys: Keys, clock: Clock, alerts: list[Alert], due: date
) -> None:
    await until(lambda: drained(client, keys, SUB))
    await publish(client, keys, copy("treaties", due=due))
    await until(lambda: drained(client, keys, SUB))
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: len(alerts) == 1)


def _pair(client: aioredis.Redis, keys: Keys, clock: Clock, alerts: list[Alert],
          notes: list[Followup]) -> list[Running]:  # fmt: skip
    return [start(client, keys, _Shared(alerts, notes), clock, sub=SUB, consumer=name)
            for name in ("a", "b")]  # fmt: skip


async def _settle() -> None:
    await asyncio.sleep(0.5)  # several ticks of both notifiers


async def test_each_reminder_is_sent_once_across_two_notifiers_and_a_restart(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """7d, 1d, 0d before the due date: each exactly once, though two notifiers watch the
    schedule and both are restarted between reminders; none after the due day."""
    alerts: list[Alert] = []
    notes: list[Followup] = []
    clock, due = Clock(), _due_in(10)
    at = dict((offset, moment) for moment, offset in reminders.moments(due, OFFSETS))
    runs = _pair(redis_client, keys, clock, alerts, notes)
    await _deliver_story(redis_client, keys, clock, alerts, due)
    clock.to(at["7d"] + 60)
    await until(lambda: len(notes) == 1)
    await _settle()
    for run in runs:
        await run.stop()
    runs = _pair(redis_client, keys, clock, alerts, notes)  # a restart
    await _settle()
    clock.to(at["1d"] + 60)
    await until(lambda: len(notes) == 2)
    await _settle()
    clock.to(at["0d"] + 60)
    await until(lambda: len(notes) == 3)
    await _settle()
    clock.to(reminders.due_start(due) + 2 * 86400)
    await _settle()
    for run in runs:
        await run.stop()
    assert [n.reminder for n in notes] == ["7d", "1d", "0d"]
    assert {n.kind for n in notes} == {"reminder"}
    assert {n.alert.deadline for n in notes} == {due}
    assert len(alerts) == 1
    assert await redis_client.zcard(keys.reminders("desk")) == 0


async def test_a_story_first_seen_after_its_due_date_gives_no_reminder(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A due date already past when the story arrives schedules nothing."""
    alerts: list[Alert] = []
    notes: list[Followup] = []
    clock = Clock()
    runs = _pair(redis_client, keys, clock, alerts, notes)
    await _deliver_story(redis_client, keys, clock, alerts, _due_in(-2))
    clock.advance(30 * 86400)
    await _settle()
    for run in runs:
        await run.stop()
    assert notes == []
    assert await redis_client.zcard(keys.reminders("desk")) == 0


async def test_reminders_missed_while_down_give_only_the_latest_once(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Down across the 7d and 1d moments, up again on the due day: one "0d" reminder only."""
    alerts: list[Alert] = []
    notes: list[Followup] = []
    clock, due = Clock(), _due_in(10)
    runs = _pair(redis_client, keys, clock, alerts, notes)
    await _deliver_story(redis_client, keys, clock, alerts, due)
    for run in runs:
        await run.stop()
    clock.to(reminders.due_start(due) + 3600)
    runs = _pair(redis_client, keys, clock, alerts, notes)
    await until(lambda: len(notes) == 1)
    await _settle()
    for run in runs:
        await run.stop()
    assert [n.reminder for n in notes] == ["0d"]


async def test_moments_already_past_at_first_sight_are_skipped(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """First seen three days before the due date: no 7d reminder, the 1d one comes."""
    alerts: list[Alert] = []
    notes: list[Followup] = []
    clock, due = Clock(), _due_in(3)
    runs = _pair(redis_client, keys, clock, alerts, notes)
    await _deliver_story(redis_client, keys, clock, alerts, due)
    await _settle()
    assert notes == []
    clock.to(reminders.due_start(due) - 86400 + 60)
    await until(lambda: len(notes) == 1)
    await _settle()
    for run in runs:
        await run.stop()
    assert [n.reminder for n in notes] == ["1d"]


async def test_a_failed_reminder_is_retried_and_sent_once(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A transient failure of the reminder's send is retried; the claim keeps it single."""
    from monitor.errors import RetryableDelivery

    alerts: list[Alert] = []
    notes: list[Followup] = []
    clock, due = Clock(), _due_in(10)
    sink = _Shared(alerts, notes)
    run = start(redis_client, keys, sink, clock, sub=SUB)
    await _deliver_story(redis_client, keys, clock, alerts, due)
    sink.fail_next(RetryableDelivery("webhook: HTTP 503"))
    clock.to(reminders.due_start(due) - 7 * 86400 + 60)
    await until(lambda: len(notes) == 1)
    await _settle()
    await run.stop()
    assert [n.reminder for n in notes] == ["7d"]
    claim = keys.reminded("desk", "story-1", "7d")
    assert await redis_client.get(claim) == "sent"

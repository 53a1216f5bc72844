"""Helpers for the story-delivery tests: copies of one story as the engine publishes them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date

import redis.asyncio as aioredis

from monitor.alerts.alert import Alert, alert_id
from monitor.alerts.notifier import Notifier
from monitor.config import DeliverySettings, SubscriptionSettings
from monitor.events.model import Event
from monitor.rules.match import Severity
from monitor.streams import Keys, parse_id
from tests.delivery_helpers import make_alert

STORY_DELIVERY = DeliverySettings(
    max_attempts=3, backoff_base=0.01, backoff_max=0.05, claim_idle=0.2, group_window=3600,
    followup_delay=60.0, merge_delay=30.0, shutdown_grace=0.3,
)  # fmt: skip
DESK = SubscriptionSettings(name="desk", channels=("treaties", "urgent"), sink="rec")


def event(due: date | None = None) -> Event:
    """Russia suspends New START, as the engine extracts it."""
    return Event(
        treaty="new-start", actors=("ru",), development="suspension", secondary=("deadline",),
        due=due, treaty_name="New START", actor_names=("Russia",),
    )  # fmt: skip


def copy(
    channel: str,
    *,
    feed: str = "tass",
    entry_id: str = "tass:1",
    story: str | None = "story-1",
    severity: Severity = Severity.MEDIUM,
    due: date | None = None,
    tags: tuple[str, ...] = ("suspension",),
    title: str = "Russia suspends New START",
    rule_id: str = "",
) -> Alert:
    """One copy of the story: the alert the engine publishes on ``channel`` for one entry."""
    rule = rule_id or f"{channel}-rule"
    alert = make_alert(title, entry_id=entry_id, feed=feed, rule_id=rule, severity=severity,
                       channel=channel, tags=tags, deadline=due)  # fmt: skip
    return replace(alert, id=alert_id(rule, entry_id), event=event(due), story=story)


class Clock:
    """Wall time plus a shift the test moves forward."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.time() + self.shift

    def to(self, when: float) -> None:
        """Jump to the Unix time ``when`` (never backwards)."""
        self.shift = max(self.shift, when - time.time())

    def advance(self, seconds: float) -> None:
        """Move ``seconds`` forward."""
        self.shift += seconds


class Running:
    """A notifier running in a task until :meth:`stop`."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(notifier.run(self.stop_event))

    async def stop(self) -> None:
        """Stop and wait for it."""
        self.stop_event.set()
        await asyncio.wait_for(self.task, 10)


async def first_marked(running: Running, story: str) -> bool:
    """The notifier has recorded ``story``'s first message as sent. A sink's receipt comes
    before that record, so a test clock moved in between would shift the follow-up's time."""
    thread = await running.notifier.threads.book.load(story)
    return thread is not None and thread.sent


def start(
    client: aioredis.Redis, keys: Keys, sink: object, clock: Clock, *,
    sub: SubscriptionSettings = DESK, delivery: DeliverySettings = STORY_DELIVERY,
    consumer: str = "c1",
) -> Running:  # fmt: skip
    """Run a notifier of ``sub`` on ``sink`` with ``clock``."""
    notifier = Notifier(sub, sink, client, keys, delivery, consumer=consumer, clock=clock)  # type: ignore[arg-type]
    return Running(notifier)


async def until(check: Callable[[], bool | Awaitable[bool]], within: float = 10.0) -> None:
    """Wait for ``check`` to hold (fail after ``within`` seconds)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def drained(client: aioredis.Redis, keys: Keys, sub: SubscriptionSettings = DESK) -> bool:
    """Every channel stream of ``sub`` exists, and was read and acknowledged by its group."""
    for channel in sub.channels:
        stream = keys.alerts(channel)
        if not await client.exists(stream):
            return False
        last = (await client.xinfo_stream(stream))["last-generated-id"]
        groups = [g for g in await client.xinfo_groups(stream) if g["name"] == f"sub:{sub.name}"]
        if not groups or groups[0]["pending"]:
            return False
        if parse_id(groups[0]["last-delivered-id"]) < parse_id(last):
            return False
    return True

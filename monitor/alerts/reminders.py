"""Deadline reminders: when each falls, which one is due now. Pure (``now`` is passed in).

A subscription's ``reminders = ["7d", "1d", "0d"]`` are offsets before a story's due date. The
moment of a reminder is the start of the due day (00:00 UTC) minus its offset, so ``0d`` comes
as the due day begins. Policy (docs/delivery.md):

- A story first seen after its due day has passed gives no reminder at all.
- Moments already past when the story is first seen are skipped (the first alert carries the
  due date); only later moments are scheduled.
- When several moments passed while no notifier ran, only the most recent one is sent, once,
  and only while the due day has not ended.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from monitor.config import parse_duration

_DAY = 86400.0


def due_start(due: date) -> float:
    """The due day's start (00:00 UTC) as a Unix time."""
    return datetime.combine(due, time(0), tzinfo=UTC).timestamp()


def moments(due: date, offsets: tuple[str, ...]) -> list[tuple[float, str]]:
    """(moment, offset) for each configured offset, earliest first."""
    start = due_start(due)
    return sorted((start - parse_duration(o), o) for o in offsets)


def is_over(due: date, now: float) -> bool:
    """Whether the due day has ended at ``now``."""
    return now >= due_start(due) + _DAY


def first_schedule(due: date, offsets: tuple[str, ...], *, seen: float) -> float | None:
    """When the first reminder of a story first seen at ``seen`` falls; None for no reminder."""
    if is_over(due, seen):
        return None
    return next((at for at, _ in moments(due, offsets) if at > seen), None)


def current(due: date, offsets: tuple[str, ...], *, now: float) -> str | None:
    """The reminder that stands at ``now``: the latest moment passed, while the day lasts."""
    if is_over(due, now):
        return None
    passed = [offset for at, offset in moments(due, offsets) if at <= now]
    return passed[-1] if passed else None


def after(due: date, offsets: tuple[str, ...], *, now: float) -> float | None:
    """The next moment after ``now`` (None when no reminder is left)."""
    if is_over(due, now):
        return None
    return next((at for at, _ in moments(due, offsets) if at > now), None)


def phrase(offset: str) -> str:
    """How a reminder reads: ``due today``, ``due tomorrow``, ``due in 7 days``, ``in 12 hours``."""
    seconds = parse_duration(offset)
    if seconds % _DAY == 0:
        days = int(seconds // _DAY)
        return {0: "due today", 1: "due tomorrow"}.get(days, f"due in {days} days")
    hours = seconds / 3600
    return f"due in {hours:g} hours"


def lifetime(due: date, now: float) -> int:
    """Seconds a reminder's claim must live: until two days after the due day."""
    return max(int(due_start(due) + 3 * _DAY - now), 60)

"""Story threads and reminder arithmetic: pure tables, no Redis."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from monitor.alerts import reminders
from monitor.alerts.threads import (
    Thread,
    arrive,
    first_sent,
    followup_of,
    followup_sent,
    has_news,
    merge,
    next_look,
)
from monitor.config import SubscriptionSettings
from monitor.rules.match import Severity
from tests.story_helpers import copy

DUE = date(2023, 3, 1)
START = datetime(2023, 3, 1, tzinfo=UTC).timestamp()
DAY = 86400.0


def test_merge_takes_the_higher_severity_the_union_of_tags_and_the_known_due_date() -> None:
    """The urgent copy's severity and channel, the treaties copy's due date, all tags."""
    treaties = copy("treaties", due=DUE, tags=("suspension", "deadline"))
    urgent = copy("urgent", severity=Severity.CRITICAL, tags=("urgent", "suspension"))
    merged = merge(treaties, urgent)
    assert merged.severity is Severity.CRITICAL
    assert merged.channel == "urgent"
    assert merged.rule_id == "urgent-rule"
    assert merged.tags == ("urgent", "suspension", "deadline")
    assert merged.deadline == DUE
    assert merged.event is not None
    assert merged.event.due == DUE
    assert merged.id == treaties.id  # the held copy's id: stable delivery id


def test_merge_keeps_the_held_copy_on_equal_severity() -> None:
    """A copy no more severe than the held one changes neither severity nor channel."""
    held = copy("treaties", severity=Severity.HIGH)
    merged = merge(held, copy("urgent", severity=Severity.HIGH))
    assert (merged.channel, merged.severity) == ("treaties", Severity.HIGH)


def test_a_thread_counts_each_outlet_once_in_order_of_first_report() -> None:
    """Opened by tass; reuters, tass again (other channel) and ap: three outlets."""
    thread = arrive(None, copy("treaties"), now=100.0, hold=5.0)
    assert (thread.hold_until, thread.outlets, thread.sent) == (105.0, ("tass",), False)
    for feed, channel in [("reuters", "treaties"), ("tass", "urgent"), ("ap", "treaties")]:
        thread = arrive(thread, copy(channel, feed=feed, entry_id=f"{feed}:1"), now=101.0,
                        hold=5.0)  # fmt: skip
    assert thread.outlets == ("tass", "reuters", "ap")
    assert thread.story == "story-1"


def _sent(thread: Thread) -> Thread:
    return first_sent(thread, thread.alert, "1700000000.000100", now=200.0)


@pytest.mark.parametrize(
    ("later", "news"),
    [
        (copy("urgent"), False),  # the same outlet on another channel, same severity
        (copy("urgent", severity=Severity.CRITICAL), True),  # raised severity
        (copy("treaties", feed="ap", entry_id="ap:1"), True),  # another outlet
    ],
)
def test_only_new_outlets_or_a_raised_severity_are_news_after_the_first_message(
    later: object, news: bool
) -> None:
    """What arrives after the first message is news only if it adds an outlet or severity."""
    thread = _sent(arrive(None, copy("treaties"), now=100.0, hold=5.0))
    after = arrive(thread, later, now=300.0, hold=5.0)  # type: ignore[arg-type]
    assert has_news(after) is news
    assert (next_look(after, followup_delay=60.0) == 260.0) is news


def test_followups_have_stable_ids_and_report_only_what_is_new() -> None:
    """The first follow-up lists the outlets since the first message; the next only later ones."""
    thread = _sent(arrive(None, copy("treaties", due=DUE), now=100.0, hold=5.0))
    thread = arrive(thread, copy("treaties", feed="ap", entry_id="ap:1"), now=300.0, hold=5.0)
    one = followup_of(thread)
    assert one == followup_of(thread)
    assert (one.sources, one.total_sources, one.thread) == (("ap",), 2, "1700000000.000100")
    assert one.alert.deadline == DUE
    thread = followup_sent(thread, one, now=400.0)
    assert not has_news(thread)
    thread = arrive(thread, copy("treaties", feed="ria", entry_id="ria:1"), now=500.0, hold=5.0)
    two = followup_of(thread)
    assert two.sources == ("ria",)
    assert two.id != one.id


def test_a_thread_round_trips_through_json() -> None:
    """What Redis stores reads back equal."""
    thread = _sent(arrive(None, copy("treaties", due=DUE), now=100.0, hold=5.0))
    assert Thread.from_json(thread.to_json()) == thread


OFFSETS = ("7d", "1d", "0d")


@pytest.mark.parametrize(
    ("seen", "first"),
    [
        (START - 10 * DAY, START - 7 * DAY),
        (START - 3 * DAY, START - DAY),  # 7d already past at first sight: skipped
        (START - 3600, START),  # the day before: only 0d
        (START + 3600, None),  # on the due day, after 00:00: 0d already past
        (START + 2 * DAY, None),  # the due date has passed
    ],
)
def test_the_first_reminder_is_the_next_moment_after_first_sight(
    seen: float, first: float | None
) -> None:
    """Moments are the due day's 00:00 UTC minus each offset; past ones are not scheduled."""
    assert reminders.first_schedule(DUE, OFFSETS, seen=seen) == first


@pytest.mark.parametrize(
    ("now", "standing", "next_at"),
    [
        (START - 8 * DAY, None, START - 7 * DAY),
        (START - 7 * DAY, "7d", START - DAY),
        (START - 2 * DAY, "7d", START - DAY),
        (START - 3600, "1d", START),
        (START + 3600, "0d", None),  # 7d and 1d missed while down: only the latest stands
        (START + DAY, None, None),  # the due day is over
    ],
)
def test_the_standing_reminder_is_the_latest_moment_passed_while_the_day_lasts(
    now: float, standing: str | None, next_at: float | None
) -> None:
    """current() picks one reminder however many moments passed; after() the next one."""
    assert reminders.current(DUE, OFFSETS, now=now) == standing
    assert reminders.after(DUE, OFFSETS, now=now) == next_at


@pytest.mark.parametrize(
    ("offset", "text"),
    [
        ("0d", "due today"),
        ("1d", "due tomorrow"),
        ("7d", "due in 7 days"),
        ("12h", "due in 12 hours"),
    ],
)
def test_reminders_read_as_plain_words(offset: str, text: str) -> None:
    """The phrase a reminder message shows."""
    assert reminders.phrase(offset) == text


@pytest.mark.parametrize("bad", [["7x"], ["1d", "1d"], [7]])
def test_a_subscription_refuses_unreadable_or_repeated_reminders(bad: list[object]) -> None:
    """Reminder offsets are durations, each listed once."""
    with pytest.raises(ValueError, match="reminder"):
        SubscriptionSettings(name="d", channels=("x",), sink="s", reminders=bad)  # type: ignore[arg-type]


def test_a_due_date_learned_after_the_first_message_is_news_told_once() -> None:
    """The urgent copy went out without a due date; the lagging treaties copy (same outlet, lower
    severity) brings one: a follow-up says so, and after it nothing is news."""
    thread = _sent(arrive(None, copy("urgent", severity=Severity.CRITICAL), now=100.0, hold=5.0))
    assert not has_news(thread)
    thread = arrive(thread, copy("treaties", due=DUE), now=300.0, hold=5.0)
    assert has_news(thread)
    note = followup_of(thread)
    assert (note.reason, note.sources, note.alert.deadline) == ("due", (), DUE)
    assert note.alert.severity is Severity.CRITICAL
    assert not has_news(followup_sent(thread, note, now=400.0))


def test_a_first_message_with_its_due_date_leaves_nothing_to_tell() -> None:
    """A thread sent with the due date has no news until another outlet or severity comes."""
    thread = _sent(arrive(None, copy("treaties", due=DUE), now=100.0, hold=5.0))
    assert not has_news(arrive(thread, copy("urgent", due=DUE), now=300.0, hold=5.0))

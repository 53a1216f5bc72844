"""A story's thread in one subscription: its first message and what followed. Pure.

Every copy of one story (``alert.story``) that reaches a subscription — one per channel it
follows, one per outlet — lands in one :class:`Thread`. The first copy opens it *held* for the
merge delay; copies arriving meanwhile are merged into the one first message (the highest
severity, the union of tags, the due date of whichever copy has it). After the first message,
new outlets and a raised severity become follow-ups, never a new alert. A follow-up source (a
report that alerted on nothing but joined the story, :mod:`monitor.events.sources`) only adds
its outlet to a thread the subscription already has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from monitor.alerts.alert import Alert


@dataclass(frozen=True, slots=True)
class Followup:
    """A later message of a thread: more outlets, a raised severity, or a deadline reminder.

    ``alert`` is the story's message as it stands (merged copies, the due date included);
    ``sources`` the outlets new since the last message; ``thread`` the sink's handle of the first
    message (a Slack ``ts``, an email Message-ID) when it gave one.
    """

    id: str
    story: str
    alert: Alert
    sources: tuple[str, ...] = ()
    total_sources: int = 1
    thread: str = ""
    kind: str = "followup"  # followup | reminder
    reminder: str = ""  # the reminder's offset as configured ("7d")
    # What a follow-up tells: "sources" (new outlets), "severity" (raised), "due" (a due date
    # the messages so far did not carry).
    reason: str = "sources"


@dataclass(frozen=True, slots=True)
class Thread:
    """One story as one subscription has seen and been told it."""

    story: str
    first_id: str
    alert: Alert
    opened_at: float
    hold_until: float
    outlets: tuple[str, ...]
    sent: bool = False
    reported: int = 0
    sent_severity: int = 0
    followups: int = 0
    last_sent: float = 0.0
    ref: str = ""
    due_told: bool = False  # whether a message sent so far carried the due date

    def to_json(self) -> str:
        """Serialise for Redis."""
        data: dict[str, Any] = {
            "story": self.story,
            "first_id": self.first_id,
            "alert": self.alert.to_dict(),
            "opened_at": self.opened_at,
            "hold_until": self.hold_until,
            "outlets": list(self.outlets),
            "sent": self.sent,
            "reported": self.reported,
            "sent_severity": self.sent_severity,
            "followups": self.followups,
            "last_sent": self.last_sent,
            "ref": self.ref,
            "due_told": self.due_told,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Thread:
        """Inverse of :meth:`to_json`."""
        data = json.loads(raw)
        return cls(
            story=str(data["story"]),
            first_id=str(data["first_id"]),
            alert=Alert.from_dict(data["alert"]),
            opened_at=float(data["opened_at"]),
            hold_until=float(data["hold_until"]),
            outlets=tuple(data["outlets"]),
            sent=bool(data["sent"]),
            reported=int(data["reported"]),
            sent_severity=int(data["sent_severity"]),
            followups=int(data["followups"]),
            last_sent=float(data["last_sent"]),
            ref=str(data.get("ref", "")),
            due_told=bool(data.get("due_told", False)),
        )


def merge(held: Alert, copy: Alert) -> Alert:
    """One message from two copies of a story: the more severe one's rule, channel and severity,
    the union of tags, the first due date known; the held copy's id and entry stay."""
    primary, other = (copy, held) if copy.severity > held.severity else (held, copy)
    deadline = primary.deadline or other.deadline
    event = primary.event or other.event
    if event is not None and event.due is None:
        due = other.event.due if other.event is not None else None
        event = replace(event, due=due or deadline)
    return replace(
        held,
        channel=primary.channel,
        rule_id=primary.rule_id,
        rule_title=primary.rule_title,
        severity=primary.severity,
        tags=tuple(dict.fromkeys((*primary.tags, *other.tags))),
        spans=tuple(dict.fromkeys((*primary.spans, *other.spans))),
        deadline=deadline or (event.due if event is not None else None),
        event=event,
        story=held.story or copy.story,
    )


def arrive(thread: Thread | None, alert: Alert, *, now: float, hold: float) -> Thread:
    """The thread after ``alert`` (one copy of its story) arrived: opened, merged or counted."""
    feed = alert.entry.feed
    if thread is None:
        return Thread(
            story=alert.story or alert.id, first_id=alert.id, alert=alert, opened_at=now,
            hold_until=now + hold, outlets=(feed,),
        )  # fmt: skip
    outlets = thread.outlets if feed in thread.outlets else (*thread.outlets, feed)
    return replace(thread, alert=merge(thread.alert, alert), outlets=outlets)


def add_source(thread: Thread | None, source: Alert) -> Thread | None:
    """The thread after a follow-up source (an outlet's report that alerted on nothing) arrived:
    its outlet counted when the thread is open; no thread is ever opened by one."""
    if thread is None:
        return None
    feed = source.entry.feed
    return thread if feed in thread.outlets else replace(thread, outlets=(*thread.outlets, feed))


def due_date_of(alert: Alert) -> date | None:
    """The date the story falls due (the alert's deadline, else its event's due), or None."""
    if alert.deadline is not None:
        return alert.deadline
    return alert.event.due if alert.event is not None else None


def has_news(thread: Thread) -> bool:
    """Whether a sent thread has something its messages have not said yet."""
    return thread.sent and (
        len(thread.outlets) > thread.reported
        or thread.alert.severity > thread.sent_severity
        or (not thread.due_told and due_date_of(thread.alert) is not None)
    )


def next_look(thread: Thread, *, followup_delay: float) -> float | None:
    """When the thread next needs the notifier: the hold's end, a follow-up's time, or never."""
    if not thread.sent:
        return thread.hold_until
    if has_news(thread):
        return thread.last_sent + followup_delay
    return None


def followup_of(thread: Thread) -> Followup:
    """The follow-up a thread with news sends next (its id stable until it is sent)."""
    sequence = thread.followups + 1
    sources = thread.outlets[thread.reported :]
    reason = "sources" if sources else "due"
    if not sources and thread.alert.severity > thread.sent_severity:
        reason = "severity"
    return Followup(
        reason=reason,
        id=f"{thread.first_id}.{sequence}",
        story=thread.story,
        alert=replace(thread.alert, id=f"{thread.first_id}.{sequence}"),
        sources=sources,
        total_sources=len(thread.outlets),
        thread=thread.ref,
    )


def first_sent(thread: Thread, message: Alert, ref: str, *, now: float) -> Thread:
    """``thread`` after its first message (``message``, as sent) was accepted."""
    return replace(
        thread, sent=True, reported=1, sent_severity=int(message.severity), last_sent=now,
        ref=ref or thread.ref, due_told=due_date_of(message) is not None,
    )  # fmt: skip


def followup_sent(thread: Thread, followup: Followup, *, now: float) -> Thread:
    """``thread`` after ``followup`` was accepted (what it reported is no longer news)."""
    return replace(
        thread,
        reported=max(thread.reported, followup.total_sources),
        sent_severity=max(thread.sent_severity, int(followup.alert.severity)),
        followups=thread.followups + 1,
        last_sent=now,
        due_told=thread.due_told or due_date_of(followup.alert) is not None,
    )

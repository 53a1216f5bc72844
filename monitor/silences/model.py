"""A silence and its matchers (pure: values in, values out; ``now`` is passed in)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import re2

from monitor.alerts.alert import Alert

# What a matcher can look at, and how each is read off an alert (several values: any may match).
LABELS = ("rule", "tag", "treaty", "actor", "feed", "channel", "story", "severity")
OPERATORS = ("=~", "!~", "!=", "=")  # longest first, so "=~" is not read as "="


class SilenceError(ValueError):
    """A matcher or silence that cannot be used; the message says which part and why."""


def alert_labels(alert: Alert) -> dict[str, tuple[str, ...]]:
    """The values each label has on ``alert``."""
    event = alert.event
    return {
        "rule": (alert.rule_id,),
        "tag": alert.tags,
        "treaty": (event.treaty,) if event and event.treaty else (),
        "actor": event.actors if event else (),
        "feed": (alert.entry.feed,),
        "channel": (alert.channel,),
        "story": (alert.story,) if alert.story else (alert.id,),
        "severity": (alert.severity.label,),
    }


@dataclass(frozen=True, slots=True)
class Matcher:
    """``label op value``: ``=`` equal, ``!=`` not equal, ``=~``/``!~`` full RE2 match or not."""

    label: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise SilenceError(f"unknown label {self.label!r} (one of: {', '.join(LABELS)})")
        if self.op not in OPERATORS:
            raise SilenceError(f"unknown operator {self.op!r} (one of: = != =~ !~)")
        if "~" in self.op:
            try:
                re2.compile(self.value)
            except re2.error as exc:
                raise SilenceError(f"{self}: bad pattern: {exc}") from exc

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``treaty=inf``, ``tag!=talks``, ``feed=~"tass|ria"`` → a matcher."""
        for op in OPERATORS:
            label, sep, value = text.partition(op)
            if sep and label.strip() and "=" not in label and "!" not in label:
                return cls(label.strip(), op, value.strip().strip('"'))
        raise SilenceError(f"cannot read matcher {text!r} (expected e.g. treaty=inf, tag!=talks)")

    def matches(self, values: tuple[str, ...]) -> bool:
        """Whether the label's values on an alert satisfy this matcher."""
        if self.op == "=":
            return self.value in values
        if self.op == "!=":
            return self.value not in values
        pattern = re2.compile(self.value)
        hit = any(pattern.fullmatch(v) for v in values)
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f"{self.label}{self.op}{self.value}"


class State(enum.StrEnum):
    """Where a silence is in its life."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Silence:
    """Holds back every alert all of whose matchers match, from ``starts_at`` to ``ends_at``."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    updated_at: datetime | None = field(default=None)

    def __post_init__(self) -> None:
        if not self.matchers:
            raise SilenceError("a silence needs at least one matcher")
        if self.ends_at < self.starts_at:
            raise SilenceError("a silence must end after it starts")
        if not self.created_by.strip():
            raise SilenceError("a silence needs an author")

    def state(self, now: datetime) -> State:
        """Pending before its start, active until its end, expired after."""
        if now < self.starts_at:
            return State.PENDING
        return State.ACTIVE if now < self.ends_at else State.EXPIRED

    def silences(self, alert: Alert, now: datetime) -> bool:
        """Whether this silence holds ``alert`` back at ``now``."""
        if self.state(now) is not State.ACTIVE:
            return False
        labels = alert_labels(alert)
        return all(m.matches(labels[m.label]) for m in self.matchers)

    def expire(self, now: datetime) -> Silence:
        """This silence ended at ``now`` (a pending one ends before it began: never active)."""
        if self.state(now) is State.EXPIRED:
            return self
        return replace(self, starts_at=min(self.starts_at, now), ends_at=now, updated_at=now)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (also the API's shape)."""
        return {
            "id": self.id,
            "matchers": [{"label": m.label, "op": m.op, "value": m.value} for m in self.matchers],
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "created_by": self.created_by,
            "comment": self.comment,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
        }

    def to_json(self) -> str:
        """Serialise for Redis."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Silence:
        """Inverse of :meth:`to_dict`; raises :class:`SilenceError` on a bad record."""
        try:
            updated = data.get("updated_at")
            return cls(
                id=str(data["id"]),
                matchers=tuple(
                    Matcher(str(m["label"]), str(m["op"]), str(m["value"]))
                    for m in data["matchers"]
                ),
                starts_at=datetime.fromisoformat(data["starts_at"]),
                ends_at=datetime.fromisoformat(data["ends_at"]),
                created_by=str(data["created_by"]),
                comment=str(data.get("comment", "")),
                created_at=datetime.fromisoformat(data["created_at"]),
                updated_at=datetime.fromisoformat(updated) if updated else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SilenceError(f"unreadable silence: {exc}") from exc


def new_silence(
    silence_id: str,
    matchers: tuple[Matcher, ...],
    *,
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> Silence:
    """A silence as a person asks for it: it must end after it starts and after ``now``."""
    if ends_at <= starts_at:
        raise SilenceError("a silence must end after it starts")
    if ends_at <= now:
        raise SilenceError("a silence must end in the future")
    return Silence(silence_id, matchers, starts_at, ends_at, created_by, comment, created_at=now)


def first_silencing(silences: list[Silence], alert: Alert, now: datetime) -> Silence | None:
    """The first active silence that holds ``alert`` back, if any."""
    return next((s for s in silences if s.silences(alert, now)), None)

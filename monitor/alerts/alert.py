"""The alert: one rule matched one entry, on its way to one channel's subscribers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from monitor.events.model import Event
from monitor.feeds.entry import Entry
from monitor.rules.match import Match, Severity, Span


def alert_id(rule_id: str, entry_id: str) -> str:
    """Deterministic id, so re-evaluating an entry after a crash yields the same alert."""
    digest = hashlib.sha256(f"{rule_id}\x00{entry_id}".encode()).hexdigest()
    return digest[:24]


@dataclass(frozen=True, slots=True)
class Alert:
    """What a subscriber receives. Serialised as JSON in the ``alert`` field of a stream entry."""

    id: str
    channel: str
    rule_id: str
    rule_title: str
    severity: Severity
    tags: tuple[str, ...]
    entry: Entry
    spans: tuple[Span, ...]
    deadline: date | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sources: tuple[str, ...] = ()
    # The treaty event the alert reports and the story it belongs to (None: not yet known, as in
    # alerts published before events existed).
    event: Event | None = None
    story: str | None = None

    @classmethod
    def from_match(cls, match: Match, entry: Entry, channel: str, now: datetime) -> Alert:
        """Build the alert for one channel of a match."""
        return cls(
            id=alert_id(match.rule_id, entry.id),
            channel=channel,
            rule_id=match.rule_id,
            rule_title=match.rule_title,
            severity=match.severity,
            tags=match.tags,
            entry=entry,
            spans=match.spans,
            deadline=match.deadline,
            created_at=now,
        )

    @property
    def matched_terms(self) -> tuple[str, ...]:
        """Distinct matched texts in order of appearance (case-folded duplicates dropped)."""
        seen: dict[str, str] = {}
        for span in self.spans:
            seen.setdefault(span.text.casefold(), span.text)
        return tuple(seen.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the documented wire format of ``alerts:<channel>`` streams."""
        return {
            "id": self.id,
            "channel": self.channel,
            "rule_id": self.rule_id,
            "rule_title": self.rule_title,
            "severity": self.severity.label,
            "tags": list(self.tags),
            "entry": self.entry.to_dict(),
            "spans": [s.to_dict() for s in self.spans],
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "created_at": self.created_at.isoformat(),
            "sources": list(self.sources),
            "event": self.event.to_dict() if self.event else None,
            "story": self.story,
        }

    def to_json(self) -> str:
        """Serialise for the stream."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        """Inverse of :meth:`to_dict`."""
        deadline, event = data.get("deadline"), data.get("event")
        return cls(
            id=str(data["id"]),
            channel=str(data["channel"]),
            rule_id=str(data["rule_id"]),
            rule_title=str(data["rule_title"]),
            severity=Severity.parse(str(data["severity"])),
            tags=tuple(data.get("tags", ())),
            entry=Entry.from_dict(data["entry"]),
            spans=tuple(Span.from_dict(s) for s in data.get("spans", ())),
            deadline=date.fromisoformat(deadline) if deadline else None,
            created_at=datetime.fromisoformat(data["created_at"]),
            sources=tuple(data.get("sources", ())),
            event=Event.from_dict(event) if event else None,
            story=data.get("story"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Alert:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(raw))

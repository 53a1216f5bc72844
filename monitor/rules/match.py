"""What a rule decided about an entry: severities, spans and matches (plain values)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from typing import Any


class Severity(enum.IntEnum):
    """Alert severity, ordered so that ``max()`` picks the most severe."""

    INFO = 10
    LOW = 20
    MEDIUM = 30
    HIGH = 40
    CRITICAL = 50

    @classmethod
    def parse(cls, value: str) -> Severity:
        """Parse ``"high"`` (any case); raises ``ValueError`` naming the allowed values."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            allowed = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {value!r} (allowed: {allowed})") from None

    @property
    def label(self) -> str:
        """Lower-case name as written in rule files."""
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of one field of an entry that made a rule match."""

    field: str
    start: int
    end: int
    text: str
    term: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "field": self.field,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "term": self.term,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Span:
        """Inverse of :meth:`to_dict`."""
        return cls(
            field=str(data["field"]),
            start=int(data["start"]),
            end=int(data["end"]),
            text=str(data["text"]),
            term=str(data["term"]),
        )


@dataclass(frozen=True, slots=True)
class Match:
    """One rule matched one entry."""

    rule_id: str
    rule_title: str
    severity: Severity
    channels: tuple[str, ...]
    tags: tuple[str, ...]
    spans: tuple[Span, ...]
    deadline: date | None = None
    throttle_key: str = ""
    realert_seconds: float = 0.0

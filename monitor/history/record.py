"""A story as the desk shows it: the first alert, the channels and outlets since. Pure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from monitor.alerts.alert import Alert
from monitor.rules.match import Severity

# Labels the timeline and the API filter by (each one has an index in Redis).
FILTERS = ("channel", "tag", "treaty", "actor", "feed", "severity", "rule")


@dataclass(frozen=True, slots=True)
class Source:
    """One outlet's report of a story."""

    feed: str
    title: str
    link: str
    published: str
    alert_id: str
    language: str = ""  # records stored before languages were carried have none

    def to_dict(self) -> dict[str, str]:
        """JSON-ready dict."""
        return {
            "feed": self.feed,
            "title": self.title,
            "link": self.link,
            "published": self.published,
            "alert_id": self.alert_id,
            "language": self.language,
        }


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """Everything the desk shows of one story; ``first`` is the alert that opened it."""

    story: str
    first: Alert
    channels: tuple[str, ...]
    tags: tuple[str, ...]
    rules: tuple[str, ...]
    severity: Severity
    sources: tuple[Source, ...]
    first_seen: datetime
    last_seen: datetime

    @property
    def due(self) -> date | None:
        """The story's due date, if the text gave one."""
        if self.first.deadline is not None:
            return self.first.deadline
        return self.first.event.due if self.first.event else None

    @property
    def when(self) -> datetime:
        """The time the timeline sorts by: the first report's publication time."""
        return self.first.entry.published

    def labels(self) -> dict[str, tuple[str, ...]]:
        """The values of each filter label (the indexes the record belongs to)."""
        event = self.first.event
        return {
            "channel": self.channels,
            "tag": self.tags,
            "treaty": (event.treaty,) if event and event.treaty else (),
            "actor": event.actors if event else (),
            "feed": tuple(dict.fromkeys(s.feed for s in self.sources)),
            "severity": (self.severity.label,),
            "rule": self.rules,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the API's story object."""
        first = self.first
        return {
            "story": self.story,
            "event": first.event.to_dict() if first.event else None,
            "title": first.entry.title,
            "summary": first.entry.summary,
            "link": first.entry.link,
            "feed": first.entry.feed,
            "language": first.entry.language,
            "published": first.entry.published.isoformat(),
            "severity": self.severity.label,
            "channels": list(self.channels),
            "tags": list(self.tags),
            "rules": list(self.rules),
            "deadline": first.deadline.isoformat() if first.deadline else None,
            "spans": [s.to_dict() for s in first.spans],
            "sources": [s.to_dict() for s in self.sources],
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "alert": first.to_dict(),
        }

    def to_json(self) -> str:
        """Serialise for Redis."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> StoryRecord:
        """Inverse of :meth:`to_json`."""
        data = json.loads(raw)
        return cls(
            story=str(data["story"]),
            first=Alert.from_dict(data["alert"]),
            channels=tuple(data["channels"]),
            tags=tuple(data["tags"]),
            rules=tuple(data["rules"]),
            severity=Severity.parse(str(data["severity"])),
            sources=tuple(Source(**s) for s in data["sources"]),
            first_seen=datetime.fromisoformat(data["first_seen"]),
            last_seen=datetime.fromisoformat(data["last_seen"]),
        )


def story_of(alert: Alert) -> str:
    """The story an alert belongs to (its own id when the engine gave it none)."""
    return alert.story or alert.id


def _source(alert: Alert) -> Source:
    entry = alert.entry
    published = entry.published.isoformat()
    return Source(entry.feed, entry.title, entry.link, published, alert.id, entry.language)


def _union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*a, *b)))


def fold(record: StoryRecord | None, alert: Alert, now: datetime) -> StoryRecord:
    """``record`` with ``alert`` (another channel's copy, or another outlet's report) folded in."""
    if record is None:
        return StoryRecord(
            story=story_of(alert),
            first=alert,
            channels=(alert.channel,),
            tags=alert.tags,
            rules=(alert.rule_id,),
            severity=alert.severity,
            sources=(_source(alert),),
            first_seen=now,
            last_seen=now,
        )
    sources = record.sources
    if all(s.alert_id != alert.id and s.feed != alert.entry.feed for s in sources):
        sources = (*sources, _source(alert))
    first = record.first
    if first.deadline is None and alert.deadline is not None:
        first = replace(first, deadline=alert.deadline)
    return replace(
        record,
        first=first,
        channels=_union(record.channels, (alert.channel,)),
        tags=_union(record.tags, alert.tags),
        rules=_union(record.rules, (alert.rule_id,)),
        severity=max(record.severity, alert.severity),
        sources=sources,
        last_seen=max(record.last_seen, now),
    )


def wanted(record: StoryRecord, filters: Mapping[str, str], text: str = "") -> bool:
    """Whether ``record`` passes every filter and contains ``text`` (title or summary, any case)."""
    labels = record.labels()
    if any(value not in labels.get(label, ()) for label, value in filters.items()):
        return False
    if not text:
        return True
    needle = text.casefold()
    return any(needle in s.title.casefold() for s in record.sources) or (
        needle in record.first.entry.summary.casefold()
    )


# Characters JSON writes escaped: text holding one may not appear verbatim in a stored record.
_ESCAPED = frozenset('"\\' + "".join(map(chr, range(32))))


def may_contain(raw: str, text: str) -> bool:
    """False when a stored record (its JSON, unparsed) surely has no title or summary with ``text``.

    Titles and summaries are stored verbatim (``ensure_ascii=False``) and case folding works
    character by character, so text found in one is found in the folded JSON. When the text holds
    a character JSON escapes, or the record has ``\\u`` escapes, the answer is True (parse it).
    """
    needle = text.casefold()
    if not needle or "\\u" in raw or not _ESCAPED.isdisjoint(needle):
        return True
    return needle in raw.casefold()


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """An analyst marked a story as handled."""

    story: str
    by: str
    note: str
    at: datetime

    def __post_init__(self) -> None:
        if not self.by.strip():
            raise ValueError("an acknowledgement needs a name")
        if len(self.note) > 2000:
            raise ValueError("an acknowledgement note has at most 2000 characters")

    def to_dict(self) -> dict[str, str]:
        """JSON-ready dict."""
        return {"story": self.story, "by": self.by, "note": self.note, "at": self.at.isoformat()}

    def to_json(self) -> str:
        """Serialise for Redis."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Acknowledgement:
        """Inverse of :meth:`to_json`."""
        data = json.loads(raw)
        return cls(str(data["story"]), str(data["by"]), str(data["note"]),
                   datetime.fromisoformat(data["at"]))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page ends: the score and id of its last story (the next page starts below)."""

    score: float
    story: str

    def encode(self) -> str:
        """Opaque text for ``next``."""
        return f"{self.score!r}:{self.story}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Inverse of :meth:`encode`; raises ``ValueError`` on anything else."""
        score, sep, story = text.partition(":")
        if not sep or not story:
            raise ValueError(f"bad cursor {text!r}")
        return cls(float(score), story)

"""What the desk shows of a story: plain display values, matched text as marked segments. Pure.

Templates autoescape every value; nothing here builds markup. Links are kept only when they are
http(s), so a ``javascript:`` link in a feed never becomes a clickable one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from monitor.alerts.textsafe import http_link, one_line, strip_terminal
from monitor.history.record import Acknowledgement, StoryRecord

_EXCERPT_CHARS = 400


@dataclass(frozen=True, slots=True)
class Segment:
    """A piece of text, marked when a rule matched it."""

    text: str
    marked: bool


@dataclass(frozen=True, slots=True)
class StoryView:
    """One story row of the timeline."""

    story: str
    title: str
    link: str
    feed: str
    published: str
    severity: str
    event_line: str
    due: str
    due_in: str
    channels: tuple[str, ...]
    tags: tuple[str, ...]
    sources: tuple[str, ...]
    more_sources: int
    title_segments: tuple[Segment, ...]
    summary_segments: tuple[Segment, ...]
    ack: str = ""


def marked(text: str, spans: list[tuple[int, int]], limit: int = 0) -> tuple[Segment, ...]:
    """``text`` cut into segments, those inside ``spans`` marked (overlaps merged)."""
    out: list[Segment] = []
    position = 0
    for start, end in sorted(_merge(spans)):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        if start > position:
            out.append(Segment(strip_terminal(text[position:start]), False))
        out.append(Segment(strip_terminal(text[start:end]), True))
        position = end
    if position < len(text):
        out.append(Segment(strip_terminal(text[position:]), False))
    if limit and len(text) > limit:
        return _clip(out, limit)
    return tuple(out)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _clip(segments: list[Segment], limit: int) -> tuple[Segment, ...]:
    out, used = [], 0
    for segment in segments:
        room = limit - used
        if room <= 0:
            break
        out.append(Segment(segment.text[:room], segment.marked))
        used += len(segment.text[:room])
    out.append(Segment("…", False))
    return tuple(out)


def countdown(due: date, today: date) -> str:
    """``in 5 days``, ``today``, ``3 days ago``."""
    days = (due - today).days
    if days == 0:
        return "today"
    if days > 0:
        return f"in {days} day{'s' * (days != 1)}"
    return f"{-days} day{'s' * (days != -1)} ago"


def story_view(record: StoryRecord, now: datetime, ack: Acknowledgement | None = None) -> StoryView:
    """The timeline row of ``record``."""
    alert = record.first
    entry = alert.entry
    spans = {
        f: [(s.start, s.end) for s in alert.spans if s.field == f] for f in ("title", "summary")
    }
    due = alert.deadline or (alert.event.due if alert.event else None)
    others = [s.feed for s in record.sources[1:]]
    return StoryView(
        story=record.story,
        title=one_line(entry.title, 300),
        link=http_link(entry.link),
        feed=one_line(entry.feed, 80),
        published=entry.published.strftime("%Y-%m-%d %H:%M UTC"),
        severity=record.severity.label,
        event_line=one_line(alert.event.line(), 200) if alert.event else "",
        due=due.isoformat() if due else "",
        due_in=countdown(due, now.date()) if due else "",
        channels=record.channels,
        tags=record.tags,
        sources=tuple(one_line(f, 80) for f in others),
        more_sources=len(others),
        title_segments=marked(entry.title, spans["title"]),
        summary_segments=marked(entry.summary, spans["summary"], _EXCERPT_CHARS),
        ack=_ack_line(ack),
    )


def _ack_line(ack: Acknowledgement | None) -> str:
    if ack is None:
        return ""
    when = ack.at.strftime("%Y-%m-%d %H:%M UTC")
    note = f": {one_line(ack.note, 300)}" if ack.note.strip() else ""
    return f"handled by {one_line(ack.by, 80)} at {when}{note}"

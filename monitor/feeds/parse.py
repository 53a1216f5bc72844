"""Feed bytes → entries. Pure: never touches the network or the file system.

feedparser receives the body as ``bytes``: given a ``str`` it would treat it as a path or URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from monitor.errors import ParseError
from monitor.feeds.entry import Entry
from monitor.feeds.text import html_to_text, safe_link


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document held."""

    title: str
    entries: tuple[Entry, ...]
    bozo: bool = False


def parse_feed(
    body: bytes,
    *,
    feed: str,
    feed_url: str,
    now: datetime,
    max_items: int = 500,
    feed_tags: Sequence[str] = (),
) -> ParsedFeed:
    """Parse a feed document into normalised entries (newest items first, at most ``max_items``)."""
    if not isinstance(body, bytes):
        raise TypeError("parse_feed takes the body as bytes")
    parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=False)
    if not parsed.entries and parsed.get("bozo") and not parsed.get("feed"):
        exc = parsed.get("bozo_exception")
        raise ParseError(f"parser: not a feed ({type(exc).__name__ if exc else 'unknown'})")
    entries = tuple(
        _entry(raw, feed=feed, feed_url=feed_url, now=now, feed_tags=tuple(feed_tags))
        for raw in parsed.entries[:max_items]
    )
    title = html_to_text(str(parsed.get("feed", {}).get("title", "")))
    return ParsedFeed(title=title, entries=entries, bozo=bool(parsed.get("bozo")))


def _entry(
    raw: Any, *, feed: str, feed_url: str, now: datetime, feed_tags: tuple[str, ...]
) -> Entry:
    title = html_to_text(str(raw.get("title", "")))
    summary = html_to_text(str(raw.get("summary", "")))
    content = "\n\n".join(
        html_to_text(str(part.get("value", ""))) for part in raw.get("content", ()) or ()
    )
    if content == summary:
        content = ""
    link = safe_link(str(raw.get("link", "")))
    guid = str(raw.get("id", "") or "")
    key = guid or link or _content_hash(title, summary)
    categories = tuple(
        html_to_text(str(tag.get("term", ""))) for tag in raw.get("tags", ()) or () if tag
    )
    return Entry(
        id=f"{feed}:{hashlib.sha256(key.encode()).hexdigest()[:32]}",
        feed=feed,
        feed_url=feed_url,
        guid=guid,
        title=title,
        link=link,
        summary=summary,
        content=content,
        categories=tuple(c for c in categories if c),
        published=_published(raw, now),
        fetched_at=now,
        feed_tags=feed_tags,
    )


def _content_hash(title: str, summary: str) -> str:
    return "h:" + hashlib.sha256(f"{title}\x00{summary}".encode()).hexdigest()


def _published(raw: Any, now: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                year, month, day, hour, minute, second = value[:6]
                when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError):
                continue
            return min(when, now)
    return now

"""Feed bytes → entries. Pure: never touches the network or the file system.

feedparser receives the body as ``bytes``: given a ``str`` it would treat it as a path or URL.
Documents with a DOCTYPE internal subset are refused before feedparser sees them (entity
definitions are how "billion laughs" and quadratic-blowup documents work).

A document without a feed element (feedparser finds no RSS, Atom or RDF version) and without
entries is not a feed: a :class:`ParseError`, naming the feeds a web page links to. A feed
element with no items is a feed that is empty right now, which is fine.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError
from monitor.feeds.discover import not_a_feed_message
from monitor.feeds.entry import Entry
from monitor.feeds.fastparse import fast_items
from monitor.feeds.language import detection_text, first_language, normalise_language
from monitor.feeds.text import html_to_text, one_line, plain_text, safe_link

_PROLOG_BYTES = 65536
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[|<!ENTITY", re.IGNORECASE)
_ROOT = re.compile(rb"<[A-Za-z_]")
_COMMENTS = re.compile(rb"<!--.*?-->|<\?.*?\?>", re.DOTALL)
_WORDS = re.compile(r"\w+")
_MAX_FIELD = 100_000
_ID_HEX = 32


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What one feed document held."""

    title: str
    entries: tuple[Entry, ...]
    bozo: bool = False
    shared_guid: bool = False


def parse_feed(
    body: bytes,
    *,
    feed: str,
    feed_url: str,
    now: datetime,
    max_items: int = 500,
    feed_tags: Sequence[str] = (),
    content_type: str = "",
    trust_guid: bool = True,
    slow_only: bool = False,
    language: str = "",
    detect: Callable[[str], str] | None = None,
) -> ParsedFeed:
    """Parse a feed document into normalised entries (document order, at most ``max_items``).

    An entry's language is the first of: ``language`` (the feed's configuration: the operator
    knows best), the entry's own (``dc:language``, ``xml:lang`` of its title, summary or
    content), the channel's (``<language>``, the root's ``xml:lang``), ``detect`` of its text.
    """
    if not isinstance(body, bytes):
        raise TypeError("parse_feed takes the body as bytes")
    if not body.strip():
        raise ParseError("parser: empty document")
    refuse_internal_subset(body)
    fast = None if slow_only else fast_items(body, content_type)
    if fast is not None:
        feed_title, raws, channel_language = fast.title, fast.items[:max_items], fast.language
        bozo = False
    else:
        feed_title, raws, bozo, channel_language = _feedparser_items(body, content_type, feed_url)
        raws = raws[:max_items]
    guids = [str(raw.get("id", "") or "") for raw in raws]
    shared = _guid_shared(guids, raws)
    entries = tuple(
        _entry(
            raw,
            feed=feed,
            feed_url=feed_url,
            now=now,
            feed_tags=tuple(feed_tags),
            trust_guid=trust_guid and not shared,
            languages=(language, channel_language),
            detect=detect,
        )
        for raw in raws
    )
    title = one_line(plain_text(feed_title))
    return ParsedFeed(title=title, entries=entries, bozo=bozo, shared_guid=shared)


def _feedparser_items(
    body: bytes, content_type: str, feed_url: str
) -> tuple[str, list[Any], bool, str]:
    headers = {"content-type": content_type} if content_type else {}
    try:
        # No sanitizer: every field is reduced to text by html_to_text, which drops scripts,
        # styles and embedded objects itself (and costs a fifth of feedparser's time less).
        parsed = feedparser.parse(
            body, sanitize_html=False, resolve_relative_uris=False, response_headers=headers
        )
    except (RecursionError, MemoryError) as exc:
        raise ParseError(f"parser: document too deep or too large ({type(exc).__name__})") from exc
    if not parsed.entries and not parsed.get("version"):
        problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
        why = "no RSS, Atom or RDF feed element"
        if problem is not None:
            why += f"; {type(problem).__name__}"
        raise ParseError(not_a_feed_message(body, feed_url, content_type, why))
    channel = parsed.get("feed", {})
    feed_title = _field_text(channel, "title")
    channel_language = str(channel.get("language", "") or "")
    return feed_title, list(parsed.entries), bool(parsed.get("bozo")), channel_language


def refuse_internal_subset(body: bytes) -> None:
    """Raise :class:`ParseError` if the prolog declares entities (a DOCTYPE internal subset)."""
    head = body[:_PROLOG_BYTES]
    if b"\x00" in head[:512]:
        head = head.replace(b"\x00", b"")  # UTF-16/32: look at the ASCII bytes alone
    head = head.removeprefix(b"\xef\xbb\xbf").removeprefix(b"\xff\xfe").removeprefix(b"\xfe\xff")
    head = _COMMENTS.sub(b" ", head)
    found = _INTERNAL_SUBSET.search(head)
    if found is None:
        return
    root = _ROOT.search(head)
    if root is None or found.start() < root.start():
        raise ParseError("parser: DOCTYPE with an internal subset refused (entity expansion)")


def fingerprint(entry: Entry) -> str:
    """Digest of the matchable text: changes only when an edit could change what rules see."""
    text = "\x1f".join(
        (entry.title, entry.summary, entry.content, "\x1e".join(entry.categories), entry.link)
    )
    words = " ".join(_WORDS.findall(text.casefold()))
    return hashlib.blake2b(words.encode(), digest_size=12).hexdigest()


def entry_id(feed: str, key: str) -> str:
    """The stable, feed-scoped id for an item key."""
    return f"{feed}:{hashlib.sha256(key.encode()).hexdigest()[:_ID_HEX]}"


def _guid_shared(guids: list[str], raws: list[Any]) -> bool:
    seen: dict[str, tuple[str, str]] = {}
    for guid, raw in zip(guids, raws, strict=True):
        if not guid:
            continue
        ident = (str(raw.get("link", "")), str(raw.get("title", "")))
        if seen.setdefault(guid, ident) != ident:
            return True
    return False


def _entry(
    raw: Any,
    *,
    feed: str,
    feed_url: str,
    now: datetime,
    feed_tags: tuple[str, ...],
    trust_guid: bool,
    languages: tuple[str, str],
    detect: Callable[[str], str] | None,
) -> Entry:
    title = one_line(_field_text(raw, "title"))
    summary = _field_text(raw, "summary")
    parts = []
    for part in raw.get("content", ()) or ():
        text = _text_of(str(part.get("value", "")), str(part.get("type", "")))
        if text and text != summary and text not in parts:
            parts.append(text)
    content = "\n\n".join(parts)[:_MAX_FIELD]
    link = safe_link(_absolute(str(raw.get("link", "") or ""), feed_url))
    guid = one_line(plain_text(str(raw.get("id", "") or "")))[:1000]
    key = (guid if trust_guid else "") or link or _content_key(title, summary, content)
    categories = tuple(
        one_line(html_to_text(str(tag.get("term", "") or "")))
        for tag in raw.get("tags", ()) or ()
        if tag
    )
    return Entry(
        id=entry_id(feed, key),
        feed=feed,
        feed_url=feed_url,
        guid=guid,
        title=title,
        link=link,
        summary=summary,
        content=content,
        categories=tuple(dict.fromkeys(c for c in categories if c)),
        published=_published(raw, now),
        fetched_at=now,
        feed_tags=feed_tags,
        language=_language(raw, languages, detect, (title, summary, content)),
    )


def _language(
    raw: Any,
    languages: tuple[str, str],
    detect: Callable[[str], str] | None,
    texts: tuple[str, str, str],
) -> str:
    configured, channel = languages
    own = [raw.get("language")]
    own.extend((raw.get(f"{name}_detail") or {}).get("language") for name in ("title", "summary"))
    own.extend(part.get("language") for part in raw.get("content", ()) or ())
    # feedparser hands the root's xml:lang down to every detail: a detail that says something
    # else is the entry's own word, and wins.
    channel = normalise_language(channel)
    distinct = (tag for tag in own if normalise_language(tag) != channel)
    found = first_language((configured, *distinct, channel))
    if not found and detect is not None:
        found = detect(detection_text(*texts))
    return found


def _absolute(link: str, feed_url: str) -> str:
    link = link.strip()
    if link and feed_url.startswith(("http://", "https://")) and "://" not in link[:12]:
        try:
            return urljoin(feed_url, link)
        except ValueError:
            return ""
    return link


def _field_text(raw: Any, name: str) -> str:
    detail = raw.get(f"{name}_detail") or {}
    return _text_of(str(raw.get(name, "") or ""), str(detail.get("type", "") or ""))[:_MAX_FIELD]


def _text_of(value: str, media_type: str) -> str:
    if media_type == "text/plain":
        return plain_text(value)
    return html_to_text(value)


def _content_key(title: str, summary: str, content: str) -> str:
    digest = hashlib.sha256(f"{title}\x00{summary}\x00{content}".encode()).hexdigest()
    return "h:" + digest


def _published(raw: Any, now: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        if value:
            try:
                year, month, day, hour, minute, second = value[:6]
                when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            return min(when, now)
    return now

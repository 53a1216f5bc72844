"""OPML feed lists in and out (``feeds import`` / ``feeds export``). Pure: bytes in, values out.

An OPML file is hostile input: it is read with defusedxml's expat reader (no DOCTYPE, no entity
declarations, no external references), with a cap on its feeds. Every ``<outline>`` with an
``xmlUrl`` is a feed; outlines around feeds are folders, whose names become tags, as do the
entries of a ``category`` attribute (``"/arms/nuclear,un"``). A feed listed in several folders
is one feed with the tags of all of them. What treaty-monitor knows beyond OPML (the feed's
name, interval, and whether it is enabled) travels in attributes of its own namespace, so an
export imports back to the same feeds.
"""

from __future__ import annotations

import io
import re
import unicodedata
import xml.etree.ElementTree as ET
import xml.sax
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl, InputSource, Locator

from defusedxml.common import DefusedXmlException
from defusedxml.expatreader import create_parser
from pydantic import ValidationError

from monitor.config import FeedSettings
from monitor.errors import FeedListError
from monitor.feeds.language import normalise_language
from monitor.feeds.netpolicy import AddressPolicy
from monitor.feeds.text import safe_link

NAMESPACE = "urn:treaty-monitor:opml:1"
MAX_FEEDS = 10_000
_SLUG = re.compile(r"[^a-z0-9]+")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MAX_NAME = 60
_MAX_TAG = 40
_REFUSED = {
    "DTDForbidden": "a DOCTYPE declaration",
    "EntitiesForbidden": "an entity declaration",
    "ExternalReferenceForbidden": "an external reference",
}


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    """One feed of an OPML file, with the line it was found on."""

    url: str
    line: int
    title: str = ""
    html_url: str = ""
    tags: tuple[str, ...] = ()
    language: str = ""
    name: str = ""
    interval: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class FeedList:
    """What an OPML file holds: its title, its feeds, and what was skipped (with lines)."""

    title: str
    feeds: tuple[OutlineFeed, ...]
    skipped: tuple[str, ...] = ()


def read_opml(data: bytes, source: str) -> FeedList:
    """The feeds of an OPML document; :class:`FeedListError` naming ``source`` and the line."""
    handler = _Outlines(source)
    parser = create_parser()
    parser.forbid_dtd = True  # OPML has no use for one; entities and external refs are off too
    parser.setFeature(feature_namespaces, True)
    parser.setContentHandler(handler)
    source_bytes = InputSource(source)
    source_bytes.setByteStream(io.BytesIO(data))
    try:
        parser.parse(source_bytes)
    except xml.sax.SAXParseException as exc:
        raise FeedListError(f"{source}:{exc.getLineNumber()}: not well-formed XML: "
                            f"{exc.getMessage()}") from None  # fmt: skip
    except DefusedXmlException as exc:
        what = _REFUSED.get(type(exc).__name__, "this construct")
        raise FeedListError(
            f"{source}:{handler.line()}: refused: {what} (not allowed in OPML)"
        ) from None
    if not handler.root_seen:
        raise FeedListError(f"{source}: empty document, not OPML")
    if not handler.feeds:
        raise FeedListError(f"{source}: no feeds (no <outline> with an xmlUrl attribute)")
    return FeedList(handler.title, handler.merged(), tuple(handler.skipped))


def slug(text: str, limit: int = _MAX_NAME) -> str:
    """Lower-case ASCII letters, digits and dashes (accents dropped), at most ``limit`` long."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_text.lower()).strip("-")[:limit].strip("-")


class _Outlines(ContentHandler):
    """SAX callbacks: a stack of open elements, the folder tags in force, the feeds found."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        self.title = ""
        self.root_seen = False
        self.feeds: list[OutlineFeed] = []
        self.skipped: list[str] = []
        self.stack: list[str] = []
        self.folders: list[str] = []  # one per open outline ("" for a feed or an unnamed one)
        self.text: list[str] | None = None
        self.locator: Locator | None = None

    def setDocumentLocator(self, locator: Locator) -> None:
        """Keep the locator, for line numbers."""
        self.locator = locator

    def line(self) -> int:
        """The line the parser is on."""
        return int(self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def startElementNS(
        self, name: tuple[str | None, str], qname: str | None, attrs: AttributesNSImpl
    ) -> None:
        """Check the root, collect the head's title, and read every outline."""
        local = name[1]
        if not self.root_seen:
            self.root_seen = True
            if local != "opml":
                raise FeedListError(
                    f"{self.source}:{self.line()}: not OPML (the root element is <{local}>)"
                )
        if self.stack == ["opml", "head"] and local == "title":
            self.text = []
        if local == "outline":
            self._outline({(ns or "", key.lower()): value for (ns, key), value in attrs.items()})
        self.stack.append(local)

    def endElementNS(self, name: tuple[str | None, str], qname: str | None) -> None:
        """Close an element (and a folder, for an outline)."""
        self.stack.pop()
        if name[1] == "outline":
            self.folders.pop()
        elif self.text is not None:
            self.title = _clean(" ".join("".join(self.text).split()))[:200]
            self.text = None

    def characters(self, content: str) -> None:
        """Text of the head's title."""
        if self.text is not None:
            self.text.append(content)

    def _outline(self, attrs: dict[tuple[str, str], str]) -> None:
        def get(key: str, namespace: str = "") -> str:
            return _clean(attrs.get((namespace, key.lower()), "")).strip()

        url = get("xmlUrl")
        label = get("text") or get("title")
        if not url:
            self.folders.append(slug(label, _MAX_TAG))
            return
        self.folders.append("")
        line = self.line()
        if urlsplit(url).scheme.lower() not in ("http", "https"):
            self.skipped.append(f"{self.source}:{line}: {url[:100]!r}: only http(s) feeds")
            return
        if not safe_link(url):
            self.skipped.append(f"{self.source}:{line}: {url[:100]!r}: not a valid URL")
            return
        if len(self.feeds) >= MAX_FEEDS:
            raise FeedListError(f"{self.source}:{line}: more than {MAX_FEEDS} feeds")
        categories = [c for part in get("category").split(",") for c in part.split("/")]
        tags = [t for t in (*self.folders, *(slug(c, _MAX_TAG) for c in categories)) if t]
        enabled = get("enabled", NAMESPACE).lower() not in ("false", "0", "no")
        self.feeds.append(
            OutlineFeed(
                url=url,
                line=line,
                title=" ".join((get("title") or label).split())[:200],
                html_url=get("htmlUrl"),
                tags=tuple(dict.fromkeys(tags)),
                language=normalise_language(get("language")),  # junk would break the config
                name=get("name", NAMESPACE),
                interval=get("interval", NAMESPACE),
                enabled=enabled,
            )
        )

    def merged(self) -> tuple[OutlineFeed, ...]:
        """The feeds, one per URL (the first), with the tags of every listing of that URL."""
        by_url: dict[str, OutlineFeed] = {}
        for feed in self.feeds:
            first = by_url.get(feed.url)
            if first is None:
                by_url[feed.url] = feed
                continue
            tags = tuple(dict.fromkeys((*first.tags, *feed.tags)))
            by_url[feed.url] = OutlineFeed(**{**_fields(first), "tags": tags})
        return tuple(by_url.values())


def _fields(feed: OutlineFeed) -> dict[str, Any]:
    return {name: getattr(feed, name) for name in OutlineFeed.__slots__}


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def feed_tables(
    feeds: Sequence[OutlineFeed],
    source: str,
    *,
    taken_names: set[str],
    taken_urls: dict[str, str],
    allow_private: bool = False,
) -> tuple[list[dict[str, Any]], list[str]]:
    """``[[feeds]]`` tables for the feeds not configured yet → (tables, what was left out and why).

    Names come from the export's own name attribute, else the title, else the host, made unique
    against ``taken_names``; ``taken_urls`` (URL → feed name) are already configured. Each table
    is validated as the config would validate it. A feed on a private address (``localhost``,
    ``10.0.0.5``) is left out unless ``allow_private``: a configured feed may reach its own
    private host, and a list from elsewhere must not point the daemon at internal services.
    """
    tables: list[dict[str, Any]] = []
    left_out: list[str] = []
    names = set(taken_names)
    policy = AddressPolicy(allow_private=allow_private)  # metadata addresses: refused always
    refused = "a metadata address" if allow_private else "a private address (see --allow-private)"
    for feed in feeds:
        where = f"{source}:{feed.line}"
        if feed.url in taken_urls:
            left_out.append(f"{where}: {feed.url} is already configured as {taken_urls[feed.url]}")
            continue
        if not policy.allows_host(urlsplit(feed.url).hostname or ""):
            left_out.append(f"{where}: {feed.url}: on {refused}")
            continue
        table = _table(feed, _unique(_name_for(feed), names))
        try:
            FeedSettings.model_validate(table)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            left_out.append(f"{where}: {feed.url[:100]}: {problems}")
            continue
        names.add(table["name"])
        tables.append(table)
    return tables, left_out


def _table(feed: OutlineFeed, name: str) -> dict[str, Any]:
    table: dict[str, Any] = {"name": name, "url": feed.url}
    if feed.tags:
        table["tags"] = list(feed.tags)
    if feed.language:
        table["language"] = feed.language
    if feed.interval:
        table["interval"] = feed.interval
    if not feed.enabled:
        table["enabled"] = False
    return table


def _name_for(feed: OutlineFeed) -> str:
    if _NAME.match(feed.name) and len(feed.name) <= _MAX_NAME:
        return feed.name
    parts = urlsplit(feed.url)
    return slug(feed.title) or slug(f"{parts.hostname or ''} {parts.path}") or "feed"


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    number = 2
    while f"{name}-{number}" in taken:
        number += 1
    return f"{name}-{number}"


def write_opml(feeds: Sequence[dict[str, Any]], *, title: str) -> bytes:
    """An OPML 2.0 document of ``feeds`` (dicts with name, url, tags, language, interval, ...)."""
    root = ET.Element("opml", {"version": "2.0", "xmlns:tm": NAMESPACE})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    body = ET.SubElement(root, "body")
    for feed in feeds:
        attrs = {
            "type": "rss",
            "text": feed["name"],
            "title": _clean(str(feed.get("title") or feed["name"])),
            "xmlUrl": _clean(feed["url"]),
            "tm:name": feed["name"],
        }
        if feed.get("tags"):
            attrs["category"] = ",".join(feed["tags"])
        if feed.get("language"):
            attrs["language"] = _clean(feed["language"])
        if feed.get("interval") is not None:
            attrs["tm:interval"] = f"{feed['interval']:g}"
        if feed.get("enabled") is False:
            attrs["tm:enabled"] = "false"
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True)) + b"\n"

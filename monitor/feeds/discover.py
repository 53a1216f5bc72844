"""Feed links an HTML page announces (``<link rel="alternate" type="application/rss+xml">``). Pure.

Used when a feed URL turns out to be a web page (the parse error then names the feeds the page
links to) and by ``treaty-monitor feeds discover URL``. The page is hostile: only absolute
http(s) links survive (resolved against the page URL, or its ``<base href>``), titles are plain
one-line text, and the number of links is capped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser

from monitor.feeds.text import html_to_text, one_line, safe_link

FEED_TYPES = {"application/rss+xml": "rss", "application/atom+xml": "atom"}
MAX_LINKS = 50
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_HTML_MARK = re.compile(rb"<(?:!doctype\s+html|html|head|body)[\s>]", re.IGNORECASE)
_SNIFF_BYTES = 65536
_MAX_TITLE = 200


@dataclass(frozen=True, slots=True)
class FeedLink:
    """One feed a page links to."""

    url: str
    kind: str  # "rss" or "atom"
    title: str = ""


def html_media_type(content_type: str) -> bool:
    """Whether a Content-Type header announces a web page."""
    return content_type.split(";", 1)[0].strip().lower() in _HTML_TYPES


def looks_like_html(body: bytes, content_type: str = "") -> bool:
    """Whether the document is a web page (by its Content-Type, else by its first tags)."""
    return html_media_type(content_type) or _HTML_MARK.search(body[:_SNIFF_BYTES]) is not None


def feed_links(body: bytes, page_url: str) -> tuple[FeedLink, ...]:
    """The RSS/Atom feeds ``body`` (an HTML page fetched from ``page_url``) links to, in order."""
    tree = LexborHTMLParser(body)
    base = page_url
    for node in tree.css("base[href]"):
        declared = _join(page_url, node.attributes.get("href") or "")
        if declared:
            base = declared
        break
    found: dict[str, FeedLink] = {}
    for node in tree.css("link[rel][href][type]"):
        attrs = node.attributes
        rels = (attrs.get("rel") or "").lower().split()
        media = (attrs.get("type") or "").split(";", 1)[0].strip().lower()
        if "alternate" not in rels or media not in FEED_TYPES:
            continue
        url = _join(base, attrs.get("href") or "")
        if not url or url in found:
            continue
        title = one_line(html_to_text(attrs.get("title") or ""))[:_MAX_TITLE]
        found[url] = FeedLink(url, FEED_TYPES[media], title)
        if len(found) >= MAX_LINKS:
            break
    return tuple(found.values())


def not_a_feed_message(body: bytes, page_url: str, content_type: str, why: str) -> str:
    """The parse error for a document that holds no feed: a web page names its feed links."""
    if not looks_like_html(body, content_type):
        return f"parser: not a feed ({why})"
    links = feed_links(body, page_url)
    if not links:
        return "parser: not a feed but an HTML page, which links to no RSS/Atom feed"
    shown: list[str] = []
    for link in links:
        if shown and sum(len(s) for s in shown) + len(link.url) > 150:
            break
        shown.append(link.url)
    more = f" (+{len(links) - len(shown)} more)" if len(links) > len(shown) else ""
    return (
        f"parser: not a feed but an HTML page; it links to the feed(s) {' '.join(shown)}{more}"
        " (treaty-monitor feeds discover URL lists them)"
    )


def _join(base: str, href: str) -> str:
    try:
        return safe_link(urljoin(base, href.strip()))
    except ValueError:
        return ""

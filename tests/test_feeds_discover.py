"""Not a feed: web pages and feedless documents are parse errors naming the feeds a page links to;
``feeds discover`` lists them, fetched through the guarded fetcher."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web

from monitor.config import FetchSettings
from monitor.errors import ParseError, PermanentFetchError
from monitor.feeds.discover import FeedLink, feed_links, looks_like_html
from monitor.feeds.netpolicy import StaticResolver
from monitor.feeds.oneshot import discover
from monitor.feeds.parse import parse_feed
from tests.feeds_helpers import FeedSite, rss, serve_site

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
PAGE_URL = "https://news.example/world/index.html"
PAGE = b"""<!doctype html><html><head><title>World news</title>
<base href="https://news.example/world/">
<link rel="stylesheet" href="/site.css">
<link rel="Alternate" type="application/rss+xml; charset=utf-8" href="rss.xml"
      title="World &amp; <b>more</b>">
<link rel="alternate feed" type="application/atom+xml" href="https://cdn.example/atom">
<link rel="alternate" type="application/rss+xml" href="rss.xml">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
<link rel="alternate" type="text/html" href="/fr/">
<link rel="canonical" type="application/rss+xml" href="/not-alternate.xml">
</head><body><h1>World</h1></body></html>"""


def _parse(body: bytes, content_type: str = "") -> int:
    parsed = parse_feed(
        body, feed="f", feed_url=PAGE_URL, now=NOW, content_type=content_type, slow_only=True
    )
    return len(parsed.entries)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>Not a feed</p></body></html>",
        b"<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'><head><title>Hi"
        b"</title></head><body><p>x</p></body></html>",
        b"<?xml version='1.0'?><catalog><book>x</book></catalog>",
        b'{"items": []}',
    ],
    ids=["html", "xhtml", "other-xml", "json"],
)
def test_a_document_without_a_feed_element_is_a_parse_error(body: bytes) -> None:
    """A page or other document with no RSS/Atom/RDF element is "not a feed", not 0 entries."""
    with pytest.raises(ParseError, match="not a feed"):
        _parse(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<?xml version='1.0'?><rss version='2.0'><channel><title>E</title></channel></rss>",
        b"<rss version='2.0'><channel></channel></rss>",
        b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><title>E</title></feed>",
        b"<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'"
        b" xmlns='http://purl.org/rss/1.0/'><channel><title>t</title></channel></rdf:RDF>",
    ],
    ids=["rss", "bare-rss", "atom", "rdf"],
)
def test_a_feed_element_with_no_items_is_an_empty_feed(body: bytes) -> None:
    """An RSS channel, Atom feed or RDF channel without items parses to no entries, no error."""
    assert _parse(body) == 0


def test_a_web_page_error_names_the_feeds_it_links_to_resolved_against_the_page() -> None:
    """The error for an HTML page lists its alternate RSS/Atom links as absolute URLs."""
    with pytest.raises(ParseError) as caught:
        _parse(PAGE, "text/html; charset=utf-8")
    message = str(caught.value)
    assert "HTML page" in message
    assert "https://news.example/world/rss.xml https://cdn.example/atom" in message
    assert "javascript" not in message
    assert "not-alternate" not in message


def test_a_web_page_without_feed_links_says_so() -> None:
    """An HTML page that announces no feed says that it links to none."""
    with pytest.raises(ParseError, match="links to no RSS/Atom feed"):
        _parse(b"<!doctype html><html><head><title>x</title></head><body></body></html>")


def test_feed_links_keep_only_absolute_http_alternates_once_with_plain_titles() -> None:
    """rel and type are read case-insensitively with parameters; base href, dedup, no scripts."""
    assert feed_links(PAGE, PAGE_URL) == (
        FeedLink("https://news.example/world/rss.xml", "rss", "World & more"),
        FeedLink("https://cdn.example/atom", "atom", ""),
    )


def test_feed_links_resolve_against_the_page_url_without_a_base() -> None:
    """Relative hrefs resolve against the URL the page was fetched from."""
    page = b'<html><head><link rel=alternate type=application/atom+xml href="../a.xml"></head>'
    assert feed_links(page, "http://h.example/x/y/page") == (
        FeedLink("http://h.example/x/a.xml", "atom", ""),
    )


@pytest.mark.parametrize(
    ("body", "content_type", "html"),
    [
        (b"<p>x</p>", "text/html", True),
        (b"<!DOCTYPE html><p>x</p>", "", True),
        (b"<?xml version='1.0'?><html><body/></html>", "application/xml", True),
        (rss(1), "application/rss+xml", False),
        (b"<catalog/>", "", False),
    ],
)
def test_html_is_told_by_content_type_or_its_first_tags(
    body: bytes, content_type: str, html: bool
) -> None:
    """A document counts as a web page by its Content-Type or an html/head/body tag."""
    assert looks_like_html(body, content_type) is html


@pytest.mark.slow
def test_the_feedparser_corpus_still_gives_entries_or_a_clear_error() -> None:
    """Every corpus document parses or fails with a ParseError saying what is wrong."""
    from tests.test_corpus_feedparser import CORPUS, _documents

    if CORPUS is None:
        pytest.skip("feedparser corpus not found at ../shared/corpus")
    outcomes = {"entries": 0, "empty": 0, "error": 0}
    unclear = []
    for path in _documents():
        try:
            outcomes["entries" if _parse(path.read_bytes()) else "empty"] += 1
        except ParseError as exc:
            outcomes["error"] += 1
            if not str(exc).startswith("parser: "):
                unclear.append((path, str(exc)))
    assert unclear == []
    assert outcomes["error"] <= 20, outcomes
    assert outcomes["entries"] > 1000, outcomes


@pytest.fixture
async def page_site() -> AsyncIterator[FeedSite]:
    """A site with a web page linking to its feeds, a feed, and a page with no feed links."""

    async def page(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=PAGE.replace(b"https://news.example/world/", b"/w/"),
                            content_type="text/html")  # fmt: skip

    async def bare(_request: web.Request) -> web.StreamResponse:
        return web.Response(text="<html><body>hello</body></html>", content_type="text/html")

    site = FeedSite(docs={"/w/rss.xml": rss(1)}, extra={"/": page, "/bare": bare})
    async with serve_site(site) as running:
        yield running


async def test_discover_lists_the_feeds_a_page_links_to(page_site: FeedSite) -> None:
    """A page's alternate links come back resolved against the URL it was fetched from."""
    links = await discover(page_site.url("/"), FetchSettings())
    assert [link.url for link in links] == [
        page_site.url("/w/rss.xml"),
        "https://cdn.example/atom",
    ]
    assert page_site.hits == {"/": 1}


async def test_discover_of_a_feed_url_gives_the_url_itself(page_site: FeedSite) -> None:
    """A URL that already is a feed is listed as itself, with its title."""
    links = await discover(page_site.url("/w/rss.xml"), FetchSettings())
    assert links == (FeedLink(page_site.url("/w/rss.xml"), "itself", "Test feed"),)


async def test_discover_goes_through_the_address_policy(page_site: FeedSite) -> None:
    """A public-looking name that resolves to loopback is refused before any request."""
    resolver = StaticResolver({"news.example": ["127.0.0.1"]})
    with pytest.raises(PermanentFetchError) as caught:
        await discover(page_site.url("/", "news.example"), FetchSettings(), resolver=resolver)
    assert caught.value.kind == "private_address"
    assert page_site.hits == {}


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "feeds", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a thread, so this test's server keeps answering it."""
    return await asyncio.to_thread(_cli, *args)


async def test_feeds_discover_command_prints_the_links_as_table_json_and_jsonl(
    page_site: FeedSite,
) -> None:
    """``feeds discover URL`` prints one row per feed in every list format."""
    url = page_site.url("/")
    table, as_json, as_jsonl = [
        await _run("discover", url, *fmt)
        for fmt in ((), ("--format", "json"), ("--format", "jsonl"))
    ]
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["URL", "TYPE", "TITLE"]
    assert lines[1].split() == [page_site.url("/w/rss.xml"), "rss", "World", "&", "more"]
    assert json.loads(as_json.stdout)[1] == {
        "url": "https://cdn.example/atom", "type": "atom", "title": ""
    }  # fmt: skip
    assert [json.loads(line)["type"] for line in as_jsonl.stdout.splitlines()] == ["rss", "atom"]


async def test_feeds_discover_on_a_page_without_feeds_exits_1_with_one_line(
    page_site: FeedSite,
) -> None:
    """A page with no feed links is an error naming the URL, without a traceback."""
    result = await _run("discover", page_site.url("/bare"))
    assert result.returncode == 1
    assert "links to no RSS/Atom feed" in result.stderr
    assert page_site.url("/bare") in result.stderr
    assert "Traceback" not in result.stderr

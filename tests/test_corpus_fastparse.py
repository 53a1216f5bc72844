"""The RSS fast path gives exactly the entries feedparser's path gives, wherever it accepts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import feedparser
import pytest

from monitor.errors import ParseError
from monitor.feeds.fastparse import fast_items
from monitor.feeds.parse import parse_feed
from tests.feeds_helpers import rss
from tests.test_corpus_feedparser import CORPUS

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _both(body: bytes, content_type: str = "") -> tuple[object, object]:
    def run(slow_only: bool) -> object:
        try:
            parsed = parse_feed(
                body,
                feed="x",
                feed_url="http://127.0.0.1/x",
                now=NOW,
                content_type=content_type,
                slow_only=slow_only,
            )
        except ParseError as exc:
            return type(exc)
        return [dataclasses.asdict(e) for e in parsed.entries]

    return run(False), run(True)


@pytest.mark.skipif(CORPUS is None, reason="feedparser corpus not found at ../shared/corpus")
def test_fast_path_matches_feedparser_on_every_corpus_document_it_accepts() -> None:
    """Hundreds of corpus RSS documents: identical entries from both paths (language included)."""
    assert CORPUS is not None
    accepted = 0
    differ: list[str] = []
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        body = path.read_bytes()
        if fast_items(body) is None:
            continue
        accepted += 1
        fast, slow = _both(body)
        if fast != slow:
            differ.append(str(path.relative_to(CORPUS)))
    assert accepted >= 300
    assert differ == []


@pytest.mark.skipif(CORPUS is None, reason="feedparser corpus not found at ../shared/corpus")
def test_fast_path_reads_the_channel_language_feedparser_reads() -> None:
    """Every corpus document the fast path takes: the same channel language as feedparser's."""
    assert CORPUS is not None
    compared: dict[str, tuple[str, str]] = {}
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file()):
        body = path.read_bytes()
        fast = fast_items(body)
        if fast is None:
            continue
        slow = feedparser.parse(body, response_headers={}).get("feed", {}).get("language", "")
        compared[str(path.relative_to(CORPUS))] = (fast.language, str(slow or ""))
    with_language = {k: v for k, v in compared.items() if v[1]}
    assert len(with_language) >= 5  # the lang/ documents: <language>, dc:language, ...
    assert {k: v for k, v in compared.items() if v[0] != v[1]} == {}


@pytest.mark.parametrize(
    "body",
    [
        rss(3),
        rss([("1", "US &amp; Russia &lt;b&gt;talk&lt;/b&gt;")]),
        b"<rss><channel><item><title>a</title><guid>http://x/1</guid></item></channel></rss>",
        b"<rss><channel><item><link> http://x/?a=1&amp;b=2 </link><title>caf\xc3\xa9</title>"
        b"<category>Arms</category><category></category><category>UN</category>"
        b"<pubDate>Thu, 01 Jan 2026 10:00:00 +0100</pubDate></item></channel></rss>",
        b"<rss><channel><item><description><![CDATA[<p>New <b>START</b></p>]]></description>"
        b"<content:encoded xmlns:content='http://purl.org/rss/1.0/modules/content/'>"
        b"<![CDATA[<p>Full text</p>]]></content:encoded></item></channel></rss>",
        b"<rss><channel><item><content:encoded xmlns:content='http://purl.org/rss/1.0/modules/"
        b"content/'>only content</content:encoded><guid isPermaLink='false'>k</guid>"
        b"</item></channel></rss>",
        b"<rss><channel><language> en-GB </language><item><title>a</title></item>"
        b"<language>fr</language></channel></rss>",
        b"<rss xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><dc:language>uk"
        b"</dc:language><item><title>a</title></item></channel></rss>",
    ],
    ids=[
        "plain",
        "html-title",
        "permalink-guid",
        "utf8-link-dates",
        "cdata-content",
        "content",
        "channel-languages",
        "dc-language",
    ],
)
def test_fast_path_matches_feedparser_on_typical_rss(body: bytes) -> None:
    """Typical RSS shapes are taken by the fast path and give the same entries."""
    assert fast_items(body) is not None
    fast, slow = _both(body)
    assert fast == slow


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><entry/></feed>', ""),
        (b'<?xml version="1.0" encoding="iso-8859-1"?><rss><channel/></rss>', ""),
        (b"<rss><channel><item><title>a<b>b</b></title></item></channel></rss>", ""),
        (b"<rss><channel><item><m:title xmlns:m='m'>x</m:title></item></channel></rss>", ""),
        (b"<rss><channel><item xml:base='http://x/'><link>a</link></item></channel></rss>", ""),
        (b"<rss><channel><item><title>&nbsp;</title></item></channel></rss>", ""),
        (rss(1), "text/xml"),
    ],
    ids=["atom", "latin1", "markup-in-title", "unknown-element", "xml-base", "entity", "text-xml"],
)
def test_anything_unusual_goes_to_feedparser(body: bytes, content_type: str) -> None:
    """Documents the fast path cannot reproduce exactly are left to feedparser."""
    assert fast_items(body, content_type) is None

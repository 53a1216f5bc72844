"""Pure feed logic: timing, item cutting, entry normalisation, text defusing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from monitor.errors import ParseError
from monitor.feeds.items import cut_items
from monitor.feeds.parse import fingerprint, parse_feed
from monitor.feeds.text import html_to_text, safe_link
from monitor.feeds.timing import (
    NetworkHealth,
    Pacing,
    confirm_redirect,
    error_delay,
    parse_max_age,
    success_delay,
)
from tests.feeds_helpers import rss

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("public, max-age=600", 600.0),
        ("max-age=60, s-maxage=900", 900.0),
        ("no-cache, max-age=600", None),
        ("private", None),
    ],
)
def test_cache_control_max_age(header: str, seconds: float | None) -> None:
    """max-age and s-maxage are read; no-cache ignores them."""
    assert parse_max_age(header) == seconds


def test_max_age_stretches_the_interval_only_up_to_the_cap() -> None:
    """A day-long max-age is clamped to cache_max; a short one never shortens the interval."""
    pacing = Pacing(interval=300, jitter=0.0, cache_max=3600)
    rnd = random.Random(1)
    assert success_delay(pacing, 86400, rnd) == 3600
    assert success_delay(pacing, 10, rnd) == 300


def test_backoff_grows_is_capped_and_never_stops() -> None:
    """Consecutive errors double the delay up to backoff_max, however many there are."""
    pacing = Pacing(interval=300, backoff_max=3600)
    rnd = random.Random(7)
    delays = [error_delay(pacing, n, None, rnd) for n in (1, 2, 3, 10, 1000)]
    assert 30 <= delays[0] <= 60
    assert delays[1] <= 120
    assert all(1800 <= d <= 3600 for d in delays[3:])


def test_retry_after_wins_over_a_shorter_backoff_but_is_clamped() -> None:
    """Retry-After is honoured, up to backoff_max."""
    pacing = Pacing(interval=300, backoff_max=3600)
    rnd = random.Random(3)
    assert error_delay(pacing, 1, 900, rnd) == 900
    assert error_delay(pacing, 1, 10**9, rnd) == 3600


def test_permanent_redirect_moves_the_feed_after_three_confirmations() -> None:
    """The same 301 target three polls in a row moves the feed; a change restarts the count."""
    state = ("", 0)
    moves = []
    for target in ("https://a/new", "https://a/new", "https://b/other", "https://b/other"):
        t, c, move = confirm_redirect(*state, target)
        state = (t, c)
        moves.append(move)
    t, c, move = confirm_redirect(*state, "https://b/other")
    assert moves == [False, False, False, False]
    assert move
    assert confirm_redirect("https://a/new", 2, None) == ("", 0, False)


def test_host_offline_needs_several_feeds_failing_and_no_success() -> None:
    """Three feeds failing on the network with nothing reached means our network is down."""
    health = NetworkHealth(feeds=10)
    for i, feed in enumerate(("a", "b")):
        health.record(100.0 + i, feed, reached=False)
    assert not health.offline(102.0)
    health.record(102.0, "c", reached=False)
    assert health.offline(102.0)
    health.record(103.0, "d", reached=True)
    assert not health.offline(103.0)
    assert not NetworkHealth(feeds=1).offline(0.0)


def test_cutting_keeps_items_apart_even_with_tricky_cdata() -> None:
    """Items are cut at their own tags, not at look-alikes inside CDATA or comments."""
    body = (
        b"<?xml version='1.0'?><!-- <item> --><rss><channel><title>t</title>"
        b"<item><title><![CDATA[</item><item>]]></title><guid>1</guid></item>"
        b"<item><title>b</title><guid>2</guid></item></channel></rss>"
    )
    cut = cut_items(body)
    assert cut is not None
    assert [i.guid_hint for i in cut.items] == [b"1", b"2"]
    only_second = cut.document(cut.items[1:])
    parsed = parse_feed(only_second, feed="f", feed_url="http://x/", now=NOW)
    assert [e.title for e in parsed.entries] == ["b"]


@pytest.mark.parametrize(
    "body",
    [b"<rss><channel><item/><item>x</item></channel></rss>", b"<rss><item><item></item>", b""],
    ids=["self-closing", "nested", "empty"],
)
def test_cutting_gives_up_on_documents_it_cannot_cut_safely(body: bytes) -> None:
    """Anything unusual falls back to a whole-document parse."""
    assert cut_items(body) is None


def test_ids_follow_guid_then_link_then_content_hash() -> None:
    """Entry ids come from the guid, else the link, else the text; scoped by feed."""
    body = (
        b"<rss><channel><item><guid>G</guid><link>https://x/1</link><title>a</title></item>"
        b"<item><link>https://x/2</link><title>b</title></item>"
        b"<item><title>c</title><description>only text</description></item></channel></rss>"
    )
    one = parse_feed(body, feed="one", feed_url="http://x/", now=NOW).entries
    two = parse_feed(body, feed="two", feed_url="http://x/", now=NOW).entries
    again = parse_feed(body, feed="one", feed_url="http://x/", now=NOW).entries
    assert [e.id for e in one] == [e.id for e in again]
    assert len({e.id for e in one}) == 3
    assert {e.id for e in one}.isdisjoint({e.id for e in two})
    assert one[0].guid == "G"


def test_dates_are_utc_missing_ones_first_seen_and_future_ones_clamped() -> None:
    """A date in +05:00 becomes UTC; none → now; next year → now."""
    future = (NOW + timedelta(days=365)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = (
        "<rss><channel>"
        "<item><guid>1</guid><pubDate>Sat, 10 Jan 2026 10:00:00 +0500</pubDate></item>"
        "<item><guid>2</guid></item>"
        f"<item><guid>3</guid><pubDate>{future}</pubDate></item>"
        "</channel></rss>"
    ).encode()
    entries = parse_feed(body, feed="f", feed_url="http://x/", now=NOW).entries
    assert entries[0].published == datetime(2026, 1, 10, 5, 0, tzinfo=UTC)
    assert entries[1].published == NOW
    assert entries[2].published == NOW


def test_entry_text_has_no_markup_and_links_are_http_only() -> None:
    """HTML is reduced to text with entities decoded once; javascript: links are dropped."""
    body = (
        b"<rss><channel><item><guid>1</guid><link>javascript:alert(1)</link>"
        b"<title>US &amp;amp; Russia</title>"
        b"<description>&lt;p&gt;Talks &lt;b&gt;resume&lt;/b&gt;&lt;script&gt;x()&lt;/script&gt;"
        b"&amp;amp;lt;script&amp;amp;gt;&lt;/p&gt;</description></item></channel></rss>"
    )
    entry = parse_feed(body, feed="f", feed_url="http://x/", now=NOW).entries[0]
    assert entry.link == ""
    assert entry.title == "US & Russia"
    assert "Talks resume" in entry.summary
    assert "<" not in entry.summary
    assert "x()" not in entry.summary


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>a</p><p>b</p>", "a\nb"),
        ("&lt;script&gt;alert(1)", "\u2039script>alert(1)"),
        ("see javascript:void(0)", "see javascript\uff1avoid(0)"),
        ("x\u200by\u202ez", "xyz"),
    ],
)
def test_text_is_defused(html: str, text: str) -> None:
    """Decoded text cannot open a tag or carry a script URL, and hides no invisible marks."""
    assert html_to_text(html) == text


@pytest.mark.parametrize(
    ("link", "kept"),
    [
        ("https://news.example/a?b=1", True),
        ("http://news.example/", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("//news.example/a", False),
        ("https://news.example/a b", False),
        ('https://news.example/"onmouseover', False),
    ],
)
def test_only_absolute_http_links_are_kept(link: str, kept: bool) -> None:
    """Links must be absolute http(s) without spaces or quotes."""
    assert (safe_link(link) == link) is kept


def test_fingerprint_ignores_case_and_punctuation_but_not_words() -> None:
    """Cosmetic edits keep the fingerprint; a new word changes it."""
    base = parse_feed(rss([("1", "Talks resume in Geneva")]), feed="f", feed_url="", now=NOW)
    loud = parse_feed(rss([("1", "TALKS RESUME, in Geneva!")]), feed="f", feed_url="", now=NOW)
    new = parse_feed(rss([("1", "Talks collapse in Geneva")]), feed="f", feed_url="", now=NOW)
    assert fingerprint(base.entries[0]) == fingerprint(loud.entries[0])
    assert fingerprint(base.entries[0]) != fingerprint(new.entries[0])


def test_internal_subset_is_refused_but_external_doctype_is_fine() -> None:
    """Entity declarations are refused; a public DOCTYPE is parsed."""
    with pytest.raises(ParseError, match="internal subset"):
        parse_feed(
            b'<!-- x --><!DOCTYPE rss [<!ENTITY a "b">]><rss><channel></channel></rss>',
            feed="f",
            feed_url="",
            now=NOW,
        )
    ok = parse_feed(
        b'<!DOCTYPE rss PUBLIC "-//Netscape//DTD RSS 0.91//EN" "http://x/rss.dtd">' + rss(1),
        feed="f",
        feed_url="",
        now=NOW,
    )
    assert len(ok.entries) == 1


def test_body_must_be_bytes() -> None:
    """A str body is refused (feedparser would open it as a path or URL)."""
    with pytest.raises(TypeError):
        parse_feed("/etc/passwd", feed="f", feed_url="", now=NOW)  # type: ignore[arg-type]

"""Hostile servers (raw sockets on 127.0.0.1): every trick ends as a recorded error class."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import resource
import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from monitor.feeds.fetch import Fetcher
from monitor.feeds.netpolicy import AddressPolicy
from monitor.feeds.poll import FeedPoller, PollOutcome
from monitor.feeds.store import FeedState, FeedStore
from monitor.feeds.workers import ParsePool
from monitor.streams import Keys
from tests.feeds_helpers import FeedSite, RawHandler, raw_server, rss, serve_site, settings


@pytest.fixture(scope="module")
def pool() -> ParsePool:
    """One parser pool for the module."""
    parse_pool = ParsePool(2, timeout=5, memory_bytes=1024 * 1024 * 1024)
    yield parse_pool  # type: ignore[misc]
    parse_pool.close()


@pytest.fixture
async def good_site() -> AsyncIterator[FeedSite]:
    """A well-behaved feed server next to the hostile one."""
    async with serve_site(FeedSite(docs={"/good": rss(2)})) as site:
        yield site


def _head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _poll_both(
    handler: RawHandler,
    good_site: FeedSite,
    client: aioredis.Redis,
    keys: Keys,
    pool: ParsePool,
    policy: AddressPolicy | None = None,
    bad_feed: dict[str, object] | None = None,
    **fetch: object,
) -> tuple[PollOutcome, FeedState, PollOutcome]:
    """Poll the hostile feed and a good one concurrently; → (bad outcome, bad state, good)."""
    async with raw_server(handler) as base:
        cfg = settings(
            [
                {"name": "bad", "url": f"{base}/feed", **(bad_feed or {})},
                {"name": "good", "url": good_site.url("/good")},
            ],
            **fetch,
        )
        poller = FeedPoller(cfg, FeedStore(client, keys), Fetcher(cfg.fetch, policy=policy), pool)
        try:
            bad, good = await asyncio.gather(poller.poll(cfg.feeds[0]), poller.poll(cfg.feeds[1]))
        finally:
            await poller.fetcher.close()
        state = await poller.store.load("bad")
    return bad, state, good


def _assert_good(good: PollOutcome) -> None:
    assert (good.status, good.new) == ("ok", 2)


async def test_byte_drip_is_cut_off_by_the_total_deadline(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A server sending one byte every 0.2 s is abandoned at the deadline, not per chunk."""

    async def drip(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Length="100000"))
        for byte in rss(50) * 10:
            w.write(bytes([byte]))
            await w.drain()
            await asyncio.sleep(0.2)

    started = time.monotonic()
    bad, state, good = await _poll_both(drip, good_site, redis_client, keys, pool, timeout=1.5)
    assert time.monotonic() - started < 5
    assert (bad.status, state.error_kind, state.consecutive_errors) == ("error", "timeout", 1)
    _assert_good(good)


async def test_gzip_bomb_stops_at_the_decompressed_size_cap(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A ~30 KB gzip body that inflates to 30 MB is refused once 1 MB is decoded."""
    bomb = gzip.compress(b"<rss>" + b" " * 30_000_000, compresslevel=9)
    assert len(bomb) < 200_000

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Encoding="gzip", Content_Length=str(len(bomb))) + bomb)
        await w.drain()

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    bad, state, good = await _poll_both(
        send, good_site, redis_client, keys, pool, max_bytes=1_000_000
    )
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert (bad.status, state.error_kind) == ("error", "too_large")
    assert grown_kb < 20_000
    _assert_good(good)


@pytest.mark.parametrize(
    ("declared", "kind"),
    [("999999", "truncated"), (None, "ok")],
    ids=["content-length-longer-than-body", "no-content-length-until-close"],
)
async def test_lying_or_missing_content_length(
    declared: str | None,
    kind: str,
    good_site: FeedSite,
    redis_client: aioredis.Redis,
    keys: Keys,
    pool: ParsePool,
) -> None:
    """A body shorter than announced is a retryable truncation; no length reads to close."""
    body = rss(3)

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        headers = {"Content_Length": declared} if declared else {"Connection": "close"}
        w.write(_head(**headers) + body)
        await w.drain()

    bad, state, good = await _poll_both(send, good_site, redis_client, keys, pool)
    if kind == "ok":
        assert (bad.status, bad.new) == ("ok", 3)
    else:
        assert (bad.status, state.error_kind) == ("error", kind)
    _assert_good(good)


async def test_content_length_above_the_cap_is_refused_before_reading(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """An announced 10 GB body is refused at once."""

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Length=str(10**10)) + b"<rss>")
        await w.drain()
        await asyncio.sleep(5)

    _bad, state, good = await _poll_both(send, good_site, redis_client, keys, pool)
    assert state.error_kind == "too_large"
    _assert_good(good)


async def test_redirect_loop_is_refused(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """/feed → /a → /feed is a loop, recorded as such."""

    async def loop(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head("302 Found", Location="/a", Content_Length="0"))
        await w.drain()
        await r.readuntil(b"\r\n\r\n")
        w.write(_head("302 Found", Location="/feed", Content_Length="0"))
        await w.drain()

    bad, state, good = await _poll_both(loop, good_site, redis_client, keys, pool)
    assert (bad.status, state.error_kind) == ("error", "redirect_loop")
    _assert_good(good)


async def test_endless_redirects_stop_at_the_limit(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """Redirects to ever-new paths stop after fetch.max_redirects."""
    counter = iter(range(1000))

    async def onward(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        while True:
            w.write(_head("307 Temporary", Location=f"/r{next(counter)}", Content_Length="0"))
            await w.drain()
            await r.readuntil(b"\r\n\r\n")

    bad, state, good = await _poll_both(
        onward, good_site, redis_client, keys, pool, max_redirects=3
    )
    assert (bad.status, state.error_kind) == ("error", "redirects")
    _assert_good(good)


async def test_redirect_to_a_private_address_is_refused(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """With private networks disallowed, a redirect to 127.0.0.2 is refused before connecting."""
    # The feed's own 127.0.0.1 stands in for a public address; 127.0.0.2 stays private.
    loopback_one_public = AddressPolicy(treat_as_public=(ipaddress.ip_network("127.0.0.1/32"),))
    async with serve_site(FeedSite(docs={"/secret": rss(1)}), host="127.0.0.2") as inner:

        async def to_private(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(_head("302 Found", Location=inner.url("/secret", "127.0.0.2")))
            await w.drain()

        bad, state, good = await _poll_both(
            to_private, good_site, redis_client, keys, pool, policy=loopback_one_public
        )
    assert (bad.status, state.error_kind) == ("error", "private_address")
    assert inner.hits == {}
    _assert_good(good)


@pytest.mark.parametrize("listed", [False, True])
async def test_private_feed_redirects_to_another_private_host_only_when_listed(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool, listed: bool
) -> None:
    """A feed on 127.0.0.1 reaches 127.0.0.2 only if the feed lists it in private_redirect_hosts."""
    async with serve_site(FeedSite(docs={"/secret": rss(1)}), host="127.0.0.2") as inner:

        async def to_other(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.write(_head("302 Found", Location=inner.url("/secret", "127.0.0.2")))
            await w.drain()

        hosts = [f"127.0.0.2:{inner.port}"] if listed else []
        bad, state, good = await _poll_both(
            to_other, good_site, redis_client, keys, pool,
            bad_feed={"private_redirect_hosts": hosts}, allow_private_networks=False,
        )  # fmt: skip
    if listed:
        assert (bad.status, bad.new, inner.hits) == ("ok", 1, {"/secret": 1})
    else:
        assert (bad.status, state.error_kind) == ("error", "private_address")
        assert inner.hits == {}
    _assert_good(good)


async def test_429_with_retry_after_delays_the_next_poll(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """429 with Retry-After: 900 schedules the next poll at least 900 s away."""

    async def limited(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head("429 Too Many Requests", Retry_After="900", Content_Length="0"))
        await w.drain()

    bad, state, good = await _poll_both(limited, good_site, redis_client, keys, pool)
    assert (bad.status, state.error_kind) == ("error", "rate_limited")
    assert bad.delay >= 900
    _assert_good(good)


@pytest.mark.parametrize("header", ["1e9", "120.5e7", "Fri, 31 Dec 9999 23:59:59"])
async def test_429_with_a_huge_retry_after_waits_backoff_max_at_most(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool, header: str
) -> None:
    """A 429 asking for ~10⁹ s (number or zoneless date) is honoured up to backoff_max only."""

    async def limited(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head("429 Too Many Requests", Retry_After=header, Content_Length="0"))
        await w.drain()

    bad, state, good = await _poll_both(
        limited, good_site, redis_client, keys, pool, backoff_max="1h"
    )
    assert (bad.status, state.error_kind) == ("error", "rate_limited")
    assert bad.delay == 3600.0
    assert state.next_due == pytest.approx(state.last_attempt + 3600.0)
    _assert_good(good)


async def test_503_counts_one_error_and_backs_off(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A 503 is a retryable error with a backoff delay."""

    async def down(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head("503 Service Unavailable", Content_Length="0"))
        await w.drain()

    bad, state, good = await _poll_both(down, good_site, redis_client, keys, pool)
    assert (bad.status, state.error_kind, state.consecutive_errors) == ("error", "http_5xx", 1)
    assert 0 < bad.delay <= 60
    _assert_good(good)


@pytest.mark.parametrize(
    "body",
    [b"<!doctype html><html><body><h1>Welcome</h1><p>Not a feed</p></body></html>", b""],
    ids=["html-page", "empty-body"],
)
async def test_html_page_or_empty_body_is_a_parse_error(
    body: bytes, good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A web page or nothing at all instead of a feed is recorded as a parse error."""

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Type="text/html", Content_Length=str(len(body))) + body)
        await w.drain()

    bad, state, good = await _poll_both(send, good_site, redis_client, keys, pool)
    assert (bad.status, state.error_kind) == ("error", "parse")
    _assert_good(good)


async def test_web_page_linking_to_its_feed_is_an_error_naming_that_feed(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A well-formed page (no parser complaint, 0 entries) is not "ok": its error names the
    feed the page links to, resolved against the page's URL."""
    page = (
        b"<html><head><title>News</title><link rel='alternate' type='application/rss+xml'"
        b" href='/news/rss.xml'/></head><body><p>Latest news</p></body></html>"
    )

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Type="text/html", Content_Length=str(len(page))) + page)
        await w.drain()

    bad, state, good = await _poll_both(send, good_site, redis_client, keys, pool)
    assert (bad.status, state.error_kind) == ("error", "parse")
    assert state.url.startswith("http://127.0.0.1:")
    assert f"{state.url.removesuffix('/feed')}/news/rss.xml" in state.last_error
    _assert_good(good)


async def test_feed_with_50000_items_publishes_only_max_items(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A 50,000-item feed is cut at fetch.max_items, quickly."""
    body = rss(50_000)

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Length=str(len(body))) + body)
        await w.drain()

    started = time.monotonic()
    bad, _state, good = await _poll_both(
        send, good_site, redis_client, keys, pool, max_items=100, max_bytes=20_000_000
    )
    assert (bad.status, bad.new) == ("ok", 100)
    assert time.monotonic() - started < 20
    _assert_good(good)


async def test_quadratic_entity_feed_is_refused_before_parsing(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A DOCTYPE defining a 50 KB entity used 50,000 times never reaches the parser."""
    entity = "x" * 50_000
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{entity}">]>'
        f"<rss><channel><item><title>{'&a;' * 50_000}</title></item></channel></rss>"
    ).encode()

    async def send(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head(Content_Length=str(len(body))) + body)
        await w.drain()

    bad, state, good = await _poll_both(send, good_site, redis_client, keys, pool)
    assert (bad.status, state.error_kind) == ("error", "parse")
    assert "internal subset" in state.last_error
    _assert_good(good)


async def test_410_mutes_the_feed_but_keeps_checking_rarely(
    good_site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """410 Gone marks the feed muted with a long delay, never removed."""

    async def gone(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.write(_head("410 Gone", Content_Length="0"))
        await w.drain()

    bad, state, good = await _poll_both(gone, good_site, redis_client, keys, pool)
    assert (bad.status, state.muted, state.error_kind) == ("muted", 1, "gone")
    assert bad.delay >= 3600
    _assert_good(good)

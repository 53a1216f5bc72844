"""Polling feeds end to end: local HTTP server → fetch → parse → dedup → entries stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from monitor.feeds.entry import Entry
from monitor.feeds.fetch import Fetcher
from monitor.feeds.poll import FeedPoller
from monitor.feeds.store import FeedStore
from monitor.feeds.workers import ParsePool
from monitor.streams import Keys
from tests.feeds_helpers import FeedSite, rss, serve_site, settings


@pytest.fixture(scope="module")
def pool() -> ParsePool:
    """One parser pool for the module (workers are slow to start)."""
    parse_pool = ParsePool(2, timeout=10, memory_bytes=1024 * 1024 * 1024)
    yield parse_pool  # type: ignore[misc]
    parse_pool.close()


@pytest.fixture
async def site() -> AsyncIterator[FeedSite]:
    """A local feed site."""
    async with serve_site(FeedSite()) as running:
        yield running


async def _stream(client: aioredis.Redis, keys: Keys) -> list[dict[str, str]]:
    return [fields for _id, fields in await client.xrange(keys.entries)]


def _poller(
    site: FeedSite, client: aioredis.Redis, keys: Keys, pool: ParsePool, **fetch: object
) -> tuple[FeedPoller, object]:
    cfg = settings([{"name": "news", "url": site.url("/feed")}], **fetch)
    poller = FeedPoller(cfg, FeedStore(client, keys), Fetcher(cfg.fetch), pool)
    return poller, cfg.feeds[0]


async def test_first_poll_publishes_items_and_a_second_poll_publishes_nothing(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A new feed's items are published once; the next poll (304) publishes none."""
    site.docs["/feed"] = rss(3)
    poller, feed = _poller(site, redis_client, keys, pool)
    first = await poller.poll(feed)  # type: ignore[arg-type]
    second = await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    assert (first.status, first.new) == ("ok", 3)
    assert (second.status, second.new) == ("not_modified", 0)
    fields = await _stream(redis_client, keys)
    assert [Entry.from_json(f["entry"]).title for f in fields] == ["Item 2", "Item 1", "Item 0"]
    assert all(f["feed"] == "news" and f["id"].startswith("news:") for f in fields)
    assert "If-None-Match" in site.headers_seen[-1]


async def test_new_item_is_published_alone_and_restart_does_not_republish(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """Only the added item is published; a fresh poller (restart) publishes nothing again."""
    site.docs["/feed"] = rss(2)
    poller, feed = _poller(site, redis_client, keys, pool)
    await poller.poll(feed)  # type: ignore[arg-type]
    site.docs["/feed"] = rss([("g9", "Breaking"), ("g0", "Item 0"), ("g1", "Item 1")])
    outcome = await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    restarted, _ = _poller(site, redis_client, keys, pool)
    await redis_client.hdel(keys.feed_state("news"), "etag", "body_hash", "item_hashes")
    again = await restarted.poll(feed)  # type: ignore[arg-type]
    await restarted.fetcher.close()
    assert outcome.new == 1
    assert again.new == 0
    titles = [Entry.from_json(f["entry"]).title for f in await _stream(redis_client, keys)]
    assert titles.count("Breaking") == 1
    assert len(titles) == 3


async def test_edited_item_is_republished_with_the_edited_flag(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A changed title under the same guid is published again with ``edited 1``."""
    site.docs["/feed"] = rss([("g1", "Talks planned")])
    poller, feed = _poller(site, redis_client, keys, pool)
    await poller.poll(feed)  # type: ignore[arg-type]
    site.docs["/feed"] = rss([("g1", "Talks collapse; withdrawal notice served")])
    edited = await poller.poll(feed)  # type: ignore[arg-type]
    site.docs["/feed"] = rss([("g1", "TALKS COLLAPSE — withdrawal notice served!")])
    cosmetic = await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    fields = await _stream(redis_client, keys)
    assert (edited.new, edited.edited) == (0, 1)
    assert cosmetic.edited == 0
    assert [f.get("edited") for f in fields] == [None, "1"]
    assert fields[0]["id"] == fields[1]["id"]


async def test_identical_body_without_validators_is_treated_as_not_modified(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A 200 with the same bytes is not parsed again."""
    from aiohttp import web

    async def no_etag(_request: web.Request) -> web.Response:
        return web.Response(body=rss(2), content_type="application/rss+xml")

    site.extra["/feed"] = no_etag
    poller, feed = _poller(site, redis_client, keys, pool)
    await poller.poll(feed)  # type: ignore[arg-type]
    second = await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    assert second.status == "unchanged"


async def test_feed_that_gives_every_item_the_same_guid_keeps_all_items(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """Items sharing one guid are told apart by link instead of collapsing into one."""
    site.docs["/feed"] = rss([("a", "First"), ("b", "Second"), ("c", "Third")], guid="same")
    poller, feed = _poller(site, redis_client, keys, pool)
    outcome = await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    state = await poller.store.load("news")
    assert outcome.new == 3
    assert state.guid_shared == 1


async def test_file_feed_named_in_the_config_is_read(
    tmp_path: Path, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A bare path in the config is read as a file:// feed relative to the config."""
    (tmp_path / "sample.xml").write_bytes(rss(2))
    cfg = settings([{"name": "sample", "url": "sample.xml"}], tmp_path)
    poller = FeedPoller(cfg, FeedStore(redis_client, keys), Fetcher(cfg.fetch), pool)
    outcome = await poller.poll(cfg.feeds[0])
    again = await poller.poll(cfg.feeds[0])
    await poller.fetcher.close()
    assert (outcome.status, outcome.new) == ("ok", 2)
    assert again.status == "unchanged"


async def test_first_poll_is_capped_at_max_items(
    site: FeedSite, redis_client: aioredis.Redis, keys: Keys, pool: ParsePool
) -> None:
    """A brand-new feed publishes at most fetch.max_items entries."""
    site.docs["/feed"] = rss(30)
    poller, feed = _poller(site, redis_client, keys, pool, max_items=10)
    outcome = await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    assert outcome.new == 10


@pytest.mark.parametrize(("old_ids", "pruned"), [(30, True), (3, False)])
async def test_dedup_record_of_a_busy_feed_forgets_ids_older_than_the_retention(
    old_ids: int,
    pruned: bool,
    site: FeedSite,
    redis_client: aioredis.Redis,
    keys: Keys,
    pool: ParsePool,
) -> None:
    """Ids first seen long ago go once the record is large; a small record keeps everything."""
    await redis_client.hset(
        keys.seen("news"), mapping={f"news:old{i}": "fp:1" for i in range(old_ids)}
    )
    site.docs["/feed"] = rss(2)
    poller, feed = _poller(site, redis_client, keys, pool, max_items=5)
    await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    remaining = await redis_client.hkeys(keys.seen("news"))
    assert len(remaining) == (2 if pruned else old_ids + 2)


@pytest.mark.parametrize(("status", "moves"), [(301, True), (308, True), (302, False)])
async def test_permanent_redirect_moves_the_feed_after_three_polls(
    status: int,
    moves: bool,
    site: FeedSite,
    redis_client: aioredis.Redis,
    keys: Keys,
    pool: ParsePool,
) -> None:
    """301/308 seen on three polls moves the stored URL; a 302 never does."""
    from aiohttp import web

    async def moved(_request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": "/new"})

    site.extra["/feed"] = moved
    site.docs["/new"] = rss(1)
    poller, feed = _poller(site, redis_client, keys, pool)
    for _ in range(4):
        await poller.poll(feed)  # type: ignore[arg-type]
    await poller.fetcher.close()
    state = await poller.store.load("news")
    assert state.url.endswith("/new") is moves
    assert site.hits["/feed"] == (3 if moves else 4)
    assert state.configured_url.endswith("/feed")

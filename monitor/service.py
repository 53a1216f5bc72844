"""The daemon: composes the roles (fetcher, engine, notifier) around one Redis, with signals.

Shutdown order: stop taking new work (scheduler, consumers), let in-flight work finish or hand it
back (unacknowledged messages are claimed by another instance), then close Redis and stop the
embedded server last.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiohttp import web

from monitor import metrics
from monitor.activity import report_activity
from monitor.alerts.attempts import sleep_or_stop
from monitor.alerts.notifier import build_notifiers
from monitor.alerts.supervisor import SubscriptionSupervisor
from monitor.config import Settings
from monitor.configcheck import cross_check, published_channels
from monitor.connections import check_server, redis_client, wait_reachable
from monitor.engine import Engine
from monitor.engine_workers import EngineWorkers, cores, worker_count
from monitor.feeds.schedule import FeedScheduler
from monitor.health import (
    HealthState,
    beat_while,
    parse_listen,
    serve_health,
    watch_redis_policy,
)
from monitor.history.recorder import HistoryRecorder
from monitor.rules.engine import RuleSet
from monitor.rules.loader import RuleSetError, load_rule_set
from monitor.rules.reload import RuleWatcher
from monitor.streams import Keys, as_text, safe_trim
from monitor.systemd import SystemdNotify

log = structlog.get_logger(__name__)

ROLES = ("fetcher", "engine", "notifier")
SHUTDOWN_GRACE_SECONDS = 20.0
TRIM_EVERY_SECONDS = 300.0


@dataclass
class CurrentRules:
    """The rule set in force; swapped whole on a valid reload."""

    rule_set: RuleSet
    loaded_at: float = field(default_factory=time.time)
    record_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def get(self) -> RuleSet:
        """The rule set to use for the next entry."""
        return self.rule_set


def instance_name() -> str:
    """``host:pid``, unique among the daemons sharing one Redis."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_daemon(settings: Settings, roles: frozenset[str], stop: asyncio.Event) -> None:
    """Run the given roles until ``stop`` is set (signals set it)."""
    rules: CurrentRules | None = None
    if "engine" in roles:
        # Invalid rules at start are a hard error: there is no last good set yet. An empty
        # directory is not: the watcher picks up the files a user adds while it runs.
        rules = CurrentRules(
            load_rule_set(settings.rules_dirs(), allow_empty=True, cache_dir=_rules_cache(settings))
        )
        metrics.RULES_LOADED.set(len(rules.rule_set.rules))
        if not rules.rule_set.rules:
            log.warning("rules_empty", dirs=[str(d) for d in settings.rules_dirs()])
        # What `config check` calls errors, said once at start: such a subscription gets nothing.
        for problem in cross_check(settings, published_channels(rules.rule_set.rules)):
            log.warning("config_problem", problem=problem.message)
    keys = Keys(settings.redis.prefix)
    instance = instance_name()
    state_dir = settings.resolve(settings.state_dir)
    systemd = SystemdNotify()
    health = HealthState(roles=tuple(sorted(roles)), instance=instance)
    async with redis_client(settings.redis, state_dir) as client:
        log.info("daemon_starting", roles=sorted(roles), instance=instance)
        async with contextlib.AsyncExitStack() as stack:
            if settings.http.listen:
                await stack.enter_async_context(
                    serve_health(
                        health, client, keys, settings.http.listen, _desk(settings, client, keys)
                    )
                )
            if not await _reach_redis(settings, client, systemd, stop):
                log.info("daemon_stopped", instance=instance, started=False)
                return
            tasks = await _start_roles(settings, roles, client, keys, instance, rules, health, stop)
            tasks.tasks.append(
                asyncio.create_task(
                    watch_redis_policy(health, client, stop, settings.redis.policy_check),
                    name="redis_policy",
                )
            )
            _install_signals(stop, tasks.reload)
            health.ready = True
            systemd.ready()
            systemd.status(f"running roles: {', '.join(sorted(roles))}")
            beat = asyncio.create_task(
                _heartbeat(client, keys, instance, roles, health, systemd, stop)
            )
            _spawn(report_activity(stop, settings.log.activity_every), "activity")
            await stop.wait()
            systemd.stopping()
            health.ready = False
            log.info("daemon_stopping", instance=instance)
            await tasks.shutdown()
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
            with contextlib.suppress(Exception):
                await client.hdel(keys.heartbeats, instance)
    log.info("daemon_stopped", instance=instance)


def _desk(
    settings: Settings, client: aioredis.Redis, keys: Keys
) -> Callable[[web.Application], None] | None:
    """The desk's installer for the HTTP endpoint (None when the desk is off)."""
    if not settings.http.desk or not settings.http.listen:
        return None
    from monitor.alerts.subscriptions import Catalog
    from monitor.desk.app import guard_for, install

    guard = guard_for(parse_listen(settings.http.listen)[0], settings.http.token_env)
    catalog = Catalog.of(settings)
    return lambda app: install(app, client, keys, guard, catalog=catalog)


async def _reach_redis(
    settings: Settings, client: aioredis.Redis, systemd: SystemdNotify, stop: asyncio.Event
) -> bool:
    """Wait (bounded by ``redis.startup_wait``) for Redis, then check it; False if stopped."""
    if not await wait_reachable(
        client, settings.redis.startup_wait, stop=stop, on_wait=systemd.status
    ):
        return False
    await check_server(client)
    return True


@dataclass
class _Running:
    """What the roles started, and how to stop them."""

    stoppers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    reload: Callable[[], None] = lambda: None
    reloads: set[asyncio.Task[None]] = field(default_factory=set)

    def start_reload(self, watcher: RuleWatcher) -> None:
        """SIGHUP: reload in a task (the compile runs in a worker thread); return at once."""
        log.info("rules_reload_requested", signal="SIGHUP")
        task = asyncio.get_running_loop().create_task(_reload(watcher), name="rules_reload")
        self.reloads.add(task)
        task.add_done_callback(self.reloads.discard)

    async def shutdown(self) -> None:
        """Stop schedulers, then wait (bounded) for consumers to finish their batch."""
        for task in list(self.reloads):
            task.cancel()  # the set in force stays; a compile still running is discarded
        for stopper in self.stoppers:
            await stopper()
        if self.tasks:
            _done, pending = await asyncio.wait(self.tasks, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in pending:
                log.warning("task_cancelled_at_shutdown", task=task.get_name())
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


async def _start_roles(
    settings: Settings,
    roles: frozenset[str],
    client: aioredis.Redis,
    keys: Keys,
    instance: str,
    rules: CurrentRules | None,
    health: HealthState,
    stop: asyncio.Event,
) -> _Running:
    running = _Running()
    if rules is not None:
        await _record_rules(client, keys, rules, None)
        health.rules_version = rules.rule_set.version
        count = worker_count(settings.engine.workers, cores())
        # Only a set this process matches with is built whole (off the loop); with worker
        # processes its copy serves the rule status alone, and each worker builds its own.
        watcher = _rule_watcher(settings, client, keys, rules, health, prepare=count == 1)
        running.reload = lambda: running.start_reload(watcher)
        if count == 1:
            await asyncio.to_thread(rules.rule_set.prepare)
            engine = Engine(
                client,
                keys,
                rules.get,
                consumer=instance,
                claim_idle_ms=int(settings.delivery.claim_idle * 1000),
            )
            engine.beat = lambda: health.beat("engine")
            running.tasks.append(asyncio.create_task(engine.run(stop), name="engine"))
        else:
            # The daemon keeps its own copy of the set for the rule status it records; the
            # workers load theirs and reload on the same triggers (SIGHUP is passed on).
            workers = EngineWorkers(settings, client, keys, count=count, instance=instance,
                                    grace=SHUTDOWN_GRACE_SECONDS - 5)  # fmt: skip
            health.engine_workers = count

            def reload_all() -> None:
                running.start_reload(watcher)
                workers.reload()

            running.reload = reload_all
            running.tasks.append(asyncio.create_task(workers.run(stop), name="engine_workers"))
            running.tasks.append(
                asyncio.create_task(beat_while(health, "engine", workers.alive, stop, every=1.0))
            )
        if settings.rules.watch:
            running.tasks.append(asyncio.create_task(watcher.run(stop), name="rules_watch"))
        running.tasks.append(asyncio.create_task(_trim_loop(settings, client, keys, stop)))
    if "notifier" in roles:
        sending = [
            asyncio.create_task(notifier.run(stop), name=f"notifier-{number}")
            for number, notifier in enumerate(
                build_notifiers(settings, client, keys, consumer=instance)
            )
        ]
        running.tasks += sending
        # Subscriptions created through the API: started and stopped while the daemon runs.
        runtime = SubscriptionSupervisor(settings, client, keys, consumer=instance)
        running.tasks.append(asyncio.create_task(runtime.run(stop), name="subscriptions"))
        alive = lambda: not any(t.done() for t in sending) and runtime.alive()  # noqa: E731
        running.tasks.append(asyncio.create_task(beat_while(health, "notifier", alive, stop)))
        if settings.history.enabled:
            recorder = HistoryRecorder(
                client, keys, consumer=instance,
                retention=timedelta(seconds=settings.history.retention),
                claim_idle_ms=int(settings.delivery.claim_idle * 1000),
            )  # fmt: skip
            running.tasks.append(asyncio.create_task(recorder.run(stop), name="history"))
    if "fetcher" in roles:
        scheduler = FeedScheduler(settings, client, keys, instance=instance)
        await scheduler.start()
        running.stoppers.append(scheduler.stop)
        running.tasks.append(asyncio.create_task(beat_while(health, "fetcher", lambda: True, stop)))
    return running


def _rule_watcher(
    settings: Settings,
    client: aioredis.Redis,
    keys: Keys,
    rules: CurrentRules,
    health: HealthState,
    *,
    prepare: bool,
) -> RuleWatcher:
    # The watcher logs each outcome; these keep health, metrics and the Redis status in step.
    def on_reload(new: RuleSet) -> None:
        rules.rule_set = new
        rules.loaded_at = time.time()
        health.rules_version, health.rules_error = new.version, None
        metrics.RULES_LOADED.set(len(new.rules))
        metrics.RULES_RELOADS.labels(outcome="ok").inc()
        _spawn(_record_rules(client, keys, rules, None), "record_rules")

    def on_recover() -> None:
        # The files were put back to the running version: the earlier error no longer holds.
        health.rules_error = None
        metrics.RULES_RELOADS.labels(outcome="ok").inc()
        _spawn(_record_rules(client, keys, rules, None), "record_rules")

    def on_error(error: RuleSetError) -> None:
        health.rules_error = str(error)
        metrics.RULES_RELOAD_ERRORS.inc()
        metrics.RULES_RELOADS.labels(outcome="error").inc()
        _spawn(_record_rules(client, keys, rules, str(error)), "record_rules")

    systemd = SystemdNotify()

    def on_compiling(busy: bool) -> None:
        # systemd shows the unit "reloading" until the set is in force (or refused).
        health.rules_reloading = busy
        if busy:
            systemd.reloading()
        else:
            systemd.ready()

    return RuleWatcher(
        settings.rules_dirs(),
        on_reload=on_reload,
        on_error=on_error,
        on_recover=on_recover,
        on_compiling=on_compiling,
        current=rules.rule_set,
        cache_dir=_rules_cache(settings),
        prepare=prepare,
    )


def _rules_cache(settings: Settings) -> Path:
    """Where the engine keeps compiled scans, at start and on every reload."""
    return settings.resolve(settings.state_dir) / "rules-cache"


async def _reload(watcher: RuleWatcher) -> None:
    await watcher.reload()


_background: set[asyncio.Task[None]] = set()


def _spawn(coro: Coroutine[Any, Any, None], name: str) -> None:
    task = asyncio.get_running_loop().create_task(coro, name=name)
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _record_rules(
    client: aioredis.Redis, keys: Keys, rules: CurrentRules, error: str | None
) -> None:
    # Status writes go out in the order the reloads finished (the lock wakes waiters in order).
    async with rules.record_lock:
        await client.hset(
            keys.rules_status,
            mapping={
                "version": rules.rule_set.version,
                "rules": len(rules.rule_set.rules),
                "loaded_at": rules.loaded_at,
                "error": error or "",
                # What the desk's /rules page lists (the rules themselves stay in their files).
                "list": _rule_list(rules.rule_set),
            },
        )


def _rule_list(rule_set: RuleSet) -> str:
    rows = [
        {
            "id": r.id,
            "title": r.title,
            "severity": r.severity.label,
            "channels": list(r.channels),
            "tags": list(r.tags),
            "enabled": r.enabled,
            "file": r.file,
            "line": r.line,
        }
        for r in rule_set.rules
    ]
    return json.dumps(rows, ensure_ascii=False)


async def _heartbeat(
    client: aioredis.Redis,
    keys: Keys,
    instance: str,
    roles: frozenset[str],
    health: HealthState,
    systemd: SystemdNotify,
    stop: asyncio.Event,
) -> None:
    """Record this instance in Redis and pet the systemd watchdog while the loop runs."""
    interval = min(10.0, (systemd.watchdog_interval() or 20.0) / 2)
    record: dict[str, object] = {
        "role": ",".join(sorted(roles)), "pid": os.getpid(), "host": socket.gethostname(),
    }  # fmt: skip
    if health.engine_workers:
        record["engine_workers"] = health.engine_workers
    while not stop.is_set():
        with contextlib.suppress(Exception):
            await client.hset(keys.heartbeats, instance, json.dumps({**record, "at": time.time()}))
        # The watchdog follows the role loops, not just the event loop: a hung consumer gets the
        # daemon restarted by systemd.
        if health.alive(time.monotonic()):
            systemd.watchdog()
        await sleep_or_stop(interval, stop)


async def _trim_loop(
    settings: Settings, client: aioredis.Redis, keys: Keys, stop: asyncio.Event
) -> None:
    """Keep streams bounded without ever dropping what a group still has to process."""
    while not stop.is_set():
        await sleep_or_stop(TRIM_EVERY_SECONDS, stop)
        try:
            await safe_trim(client, keys.entries, settings.redis.entries_maxlen)
            for channel in await client.smembers(keys.channels):
                await safe_trim(client, keys.alerts(as_text(channel)), settings.redis.alerts_maxlen)
        except Exception as exc:
            log.warning("trim_failed", error=str(exc))


def _install_signals(stop: asyncio.Event, reload: Callable[[], None]) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload)

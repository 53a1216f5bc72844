"""One engine worker process: the engine role alone, started and watched by the daemon.

With ``[engine] workers`` above 1 the daemon (:mod:`monitor.engine_workers`) starts this in
child processes (multiprocessing ``spawn``). Each loads the rule set itself (its compiled scan
from the daemon's on-disk cache), reloads it on SIGHUP (the daemon passes its own on) and on file
changes as the daemon does, and consumes the entries stream in the one ``engine`` group under a
consumer name stable across its restarts (``<daemon>/engine-<n>``): a restarted worker first
finishes what its killed predecessor left pending, and the other workers claim it after
``delivery.claim_idle`` if it does not come back.

Every second it sends the daemon a :class:`WorkerReport` (its engine counters, for the daemon's
``/metrics``) through a pipe, and writes a heartbeat (``keys.heartbeats``) for ``status``. It
stops on SIGTERM (finishing its batch), and by itself when the daemon that started it is gone.
Ctrl-C reaches the whole process group; the daemon decides when its workers stop, so SIGINT is
ignored here.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

import redis.asyncio as aioredis
import structlog

from monitor import metrics
from monitor.config import Settings
from monitor.connections import redis_client, wait_reachable
from monitor.engine import Engine
from monitor.errors import MonitorError
from monitor.logs import configure_logging
from monitor.rules.engine import RuleSet
from monitor.rules.loader import RuleSetError, load_rule_set
from monitor.rules.reload import RuleWatcher
from monitor.streams import Keys

log = structlog.get_logger(__name__)

REPORT_EVERY_SECONDS = 1.0
HEARTBEAT_EVERY_SECONDS = 5.0
# How often a worker checks that the daemon owning it is still its parent.
OWNER_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What one worker needs from the daemon, as one picklable value."""

    settings: Settings
    number: int  # 1..N, kept across restarts
    parent: str  # the daemon's instance name
    parent_pid: int

    @property
    def name(self) -> str:
        """Consumer name and heartbeat key: the same for every restart of this worker."""
        return f"{self.parent}/engine-{self.number}"


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """Sent to the daemon every second: liveness and the engine counters so far."""

    number: int
    pid: int
    loop_age: float  # seconds since the engine loop last went round
    counters: metrics.CounterValues = field(default_factory=dict)


class _Rules:
    """The rule set in force in this worker; swapped whole on a valid reload."""

    def __init__(self, rule_set: RuleSet) -> None:
        self.rule_set = rule_set

    def get(self) -> RuleSet:
        """The rule set to use for the next batch."""
        return self.rule_set

    def swap(self, rule_set: RuleSet) -> None:
        """Put a new valid set in force."""
        self.rule_set = rule_set
        metrics.RULES_LOADED.set(len(rule_set.rules))


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """The child process's entry point: exit 0 when stopped, 1 on an error it cannot run past."""
    # A SIGHUP passed on while this process still imports must not kill it (the default action).
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = spec.settings
    configure_logging(settings.log.format, settings.log.level)
    structlog.contextvars.bind_contextvars(engine_worker=spec.number)
    try:
        asyncio.run(run_worker(spec, conn))
    except RuleSetError as exc:
        errors = [e.location_message() for e in exc.errors[:20]]
        log.error("engine_worker_rules_invalid", errors=errors)
        sys.exit(1)
    except MonitorError as exc:
        log.error("engine_worker_failed", error=str(exc))
        sys.exit(1)
    finally:
        conn.close()


async def run_worker(spec: WorkerSpec, conn: Connection) -> None:
    """Load the rules, reach Redis, run the engine until SIGTERM or the daemon is gone."""
    settings = spec.settings
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    state_dir = settings.resolve(settings.state_dir)
    cache = state_dir / "rules-cache"
    dirs = settings.rules_dirs()
    rules = _Rules(await asyncio.to_thread(load_rule_set, dirs, allow_empty=True, cache_dir=cache))
    await asyncio.to_thread(rules.rule_set.prepare)  # off the loop: no match compiles a pattern
    metrics.RULES_LOADED.set(len(rules.rule_set.rules))
    # The watcher logs each outcome; the daemon records the rule status for everyone.
    watcher = RuleWatcher(
        dirs, on_reload=rules.swap, on_error=lambda _e: None, current=rules.rule_set,
        cache_dir=cache, prepare=True,
    )  # fmt: skip
    reloads: set[asyncio.Task[object]] = set()

    def reload() -> None:
        task = loop.create_task(watcher.reload(), name="rules_reload")
        reloads.add(task)
        task.add_done_callback(reloads.discard)

    loop.add_signal_handler(signal.SIGHUP, reload)
    keys = Keys(settings.redis.prefix)
    async with redis_client(settings.redis, state_dir) as client:
        if not await wait_reachable(client, settings.redis.startup_wait, stop=stop):
            return
        engine = Engine(
            client, keys, rules.get, consumer=spec.name,
            claim_idle_ms=int(settings.delivery.claim_idle * 1000),
        )  # fmt: skip
        went_round = [time.monotonic()]
        engine.beat = lambda: went_round.__setitem__(0, time.monotonic())
        tasks = [
            asyncio.create_task(engine.run(stop), name="engine"),
            asyncio.create_task(_report(spec, conn, went_round, stop), name="report"),
            asyncio.create_task(_heartbeat(spec, client, keys, stop), name="heartbeat"),
            asyncio.create_task(_watch_owner(spec.parent_pid, stop), name="owner"),
        ]
        if settings.rules.watch:
            tasks.append(asyncio.create_task(watcher.run(stop), name="rules_watch"))
        log.info("engine_worker_started", worker=spec.number, consumer=spec.name)
        try:
            # The first task to end ends the worker (a crashed engine loop: the daemon restarts it).
            done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            for task in list(reloads):
                task.cancel()
            for task in done:
                task.result()  # re-raise what ended it, if anything did
        finally:
            _send(conn, _report_now(spec, went_round))  # the last counts, so none are lost
            with contextlib.suppress(Exception):
                await client.hdel(keys.heartbeats, spec.name)
    log.info("engine_worker_stopped", worker=spec.number)


def _report_now(spec: WorkerSpec, went_round: list[float]) -> WorkerReport:
    return WorkerReport(
        spec.number, os.getpid(), time.monotonic() - went_round[0], metrics.engine_counters()
    )


def _send(conn: Connection, report: WorkerReport) -> bool:
    """Send one report; ``False`` when the daemon's end of the pipe is gone."""
    try:
        conn.send(report)
    except (OSError, ValueError):
        return False
    return True


async def _report(
    spec: WorkerSpec, conn: Connection, went_round: list[float], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        if not _send(conn, _report_now(spec, went_round)):
            log.warning("engine_worker_orphaned", worker=spec.number)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), REPORT_EVERY_SECONDS)


async def _heartbeat(
    spec: WorkerSpec, client: aioredis.Redis, keys: Keys, stop: asyncio.Event
) -> None:
    """Record this worker for ``status``: which daemon it serves and how much it evaluated."""
    base = {"role": "engine", "pid": os.getpid(), "host": socket.gethostname(),
            "parent": spec.parent, "worker": spec.number}  # fmt: skip
    while not stop.is_set():
        evaluated = int(metrics.evaluated(metrics.engine_counters()))
        record = {**base, "at": time.time(), "evaluated": evaluated}
        with contextlib.suppress(Exception):
            await client.hset(keys.heartbeats, spec.name, json.dumps(record))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), HEARTBEAT_EVERY_SECONDS)


async def _watch_owner(parent_pid: int, stop: asyncio.Event) -> None:
    """Stop (handing the batch back cleanly) once the daemon that started this worker is gone."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            log.warning("engine_worker_orphaned", parent_pid=parent_pid)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), OWNER_CHECK_SECONDS)

"""The daemon's engine worker processes: started, watched, restarted, stopped, counted.

With ``[engine] workers`` above 1 the daemon runs no engine loop of its own: it starts that many
processes (:mod:`monitor.engine_process`, multiprocessing ``spawn``: a fresh interpreter, no
copy of the daemon's event loop or connections), each a consumer of the one ``engine`` group.
Redis shares the entries between them, as it does between engine daemons; story assignment,
throttles and publishing are atomic there (Lua), so the outcome does not depend on which worker
takes which entry.

The supervisor restarts a worker that ended (with exponential backoff, reset once it has run a
minute), passes SIGHUP on, and on shutdown sends SIGTERM and waits for each worker to finish its
batch (then SIGKILL; what was not acknowledged stays pending for the next consumer). Each worker
reports every second through a pipe; the reports feed the daemon's engine counters (so its
``/metrics`` counts for the whole process tree, as with one process) and its health: the engine
role beats while its workers report.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import signal
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

import redis.asyncio as aioredis
import structlog

from monitor import metrics
from monitor.alerts.attempts import sleep_or_stop
from monitor.alerts.retry import backoff_delay
from monitor.config import Settings
from monitor.engine_process import WorkerReport, WorkerSpec, worker_main
from monitor.streams import Keys

log = structlog.get_logger(__name__)

RESTART_BASE_SECONDS = 1.0
RESTART_MAX_SECONDS = 60.0
# A worker that ran this long before it ended starts again after the shortest delay.
STEADY_SECONDS = 60.0
# A worker whose last report is older than this does not count as running.
REPORT_STALE_SECONDS = 30.0
WATCH_EVERY_SECONDS = 0.2


def cores() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(configured: int, available: int) -> int:
    """Engine processes for ``[engine] workers``: 0 means one per available core."""
    return configured if configured > 0 else max(1, available)


def restart_delay(failures: int, jitter: float) -> float:
    """Seconds before starting a worker again after ``failures`` quick ends in a row."""
    return backoff_delay(
        failures, base=RESTART_BASE_SECONDS * 2, cap=RESTART_MAX_SECONDS, jitter=jitter
    )


@dataclass
class _Slot:
    """One worker number and the process currently serving it."""

    spec: WorkerSpec
    process: BaseProcess | None = None
    conn: Connection | None = None
    started: float = 0.0
    failures: int = 0
    start_at: float = 0.0  # when a stopped worker may start again (monotonic)
    last_report: WorkerReport | None = None
    reported_at: float | None = None
    counted: metrics.CounterValues = field(default_factory=dict)


class EngineWorkers:
    """Runs ``count`` engine worker processes for one daemon until told to stop."""

    def __init__(
        self,
        settings: Settings,
        client: aioredis.Redis,
        keys: Keys,
        *,
        count: int,
        instance: str,
        grace: float = 20.0,
    ) -> None:
        self.client = client
        self.keys = keys
        self.grace = grace
        self.slots = [
            _Slot(WorkerSpec(settings, number, instance, os.getpid()))
            for number in range(1, count + 1)
        ]
        self._context = multiprocessing.get_context("spawn")
        self._stopping = False
        self._all_reported = False

    def alive(self) -> bool:
        """Every worker has reported since start, and one reports now: the engine works.

        One dead worker does not stop the engine (the others claim its entries); it shows in
        ``treaty_monitor_engine_workers`` and the log while the supervisor restarts it.
        """
        now = time.monotonic()
        self._all_reported = self._all_reported or all(s.reported_at for s in self.slots)
        return self._all_reported and self.running(now) > 0

    def running(self, now: float) -> int:
        """Workers whose process runs and whose engine loop reported recently."""
        return sum(1 for slot in self.slots if self._fresh(slot, now))

    def _fresh(self, slot: _Slot, now: float) -> bool:
        if slot.process is None or not slot.process.is_alive() or slot.reported_at is None:
            return False
        report = slot.last_report
        loop_ok = report is not None and report.loop_age < REPORT_STALE_SECONDS
        return now - slot.reported_at < REPORT_STALE_SECONDS and loop_ok

    def pids(self) -> list[int]:
        """Process ids of the workers running now (for tests and ``status``)."""
        return [s.process.pid for s in self.slots if s.process is not None and s.process.pid]

    def reload(self) -> None:
        """Pass SIGHUP on to every worker that is up (one still starting loads the files anyway)."""
        for slot in self.slots:
            if slot.process is not None and slot.process.pid and slot.reported_at is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(slot.process.pid, signal.SIGHUP)

    async def run(self, stop: asyncio.Event) -> None:
        """Keep every worker running until ``stop`` is set, then stop them all."""
        try:
            while not stop.is_set():
                now = time.monotonic()
                for slot in self.slots:
                    if slot.process is not None and not slot.process.is_alive():
                        await self._ended(slot, now)
                    if slot.process is None and now >= slot.start_at:
                        try:
                            self._start(slot)
                        except OSError as exc:  # no memory or pids left: try again later
                            slot.failures += 1
                            slot.start_at = now + restart_delay(slot.failures, random.random())
                            log.error("engine_worker_not_started", worker=slot.spec.number,
                                      error=str(exc))  # fmt: skip
                metrics.ENGINE_WORKERS.set(self.running(now))
                await sleep_or_stop(WATCH_EVERY_SECONDS, stop)
        finally:
            self._stopping = True
            await self._stop_all()
            metrics.ENGINE_WORKERS.set(0)

    def _start(self, slot: _Slot) -> None:
        reader, writer = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=worker_main, args=(slot.spec, writer),
            name=f"engine-worker-{slot.spec.number}", daemon=False,
        )  # fmt: skip
        process.start()
        writer.close()  # the child holds the writing end: EOF here once it is gone
        slot.process, slot.conn, slot.started = process, reader, time.monotonic()
        slot.reported_at, slot.last_report, slot.counted = None, None, {}
        asyncio.get_running_loop().add_reader(reader.fileno(), self._receive, slot)
        log.info("engine_worker_spawned", worker=slot.spec.number, pid=process.pid)

    def _receive(self, slot: _Slot) -> None:
        """Read the reports waiting in one worker's pipe (called by the event loop)."""
        conn = slot.conn
        if conn is None:
            return
        try:
            while conn.poll():
                report = conn.recv()
                if isinstance(report, WorkerReport):
                    self._take(slot, report)
        except (EOFError, OSError):
            self._close_pipe(slot)

    def _take(self, slot: _Slot, report: WorkerReport) -> None:
        counts = metrics.counts_since(report.counters, slot.counted)
        metrics.add_counts(counts)
        number = str(slot.spec.number)
        if done := metrics.evaluated(counts):
            metrics.ENGINE_WORKER_ENTRIES.labels(worker=number).inc(done)
        slot.counted = report.counters
        slot.last_report, slot.reported_at = report, time.monotonic()

    def _close_pipe(self, slot: _Slot) -> None:
        if slot.conn is not None:
            with contextlib.suppress(ValueError, OSError):
                asyncio.get_running_loop().remove_reader(slot.conn.fileno())
            slot.conn.close()
            slot.conn = None

    async def _ended(self, slot: _Slot, now: float) -> None:
        """A worker's process is gone: count it, clear its heartbeat, plan its restart."""
        assert slot.process is not None
        self._receive(slot)  # its last report, if it sent one
        self._close_pipe(slot)
        code, pid = slot.process.exitcode, slot.process.pid
        slot.process.close()
        slot.process = None
        ran = now - slot.started
        slot.failures = 1 if ran >= STEADY_SECONDS else slot.failures + 1
        delay = restart_delay(slot.failures, random.random())
        slot.start_at = now + delay
        metrics.ENGINE_WORKER_RESTARTS.labels(worker=str(slot.spec.number)).inc()
        log.warning("engine_worker_exited", worker=slot.spec.number, pid=pid, exit_code=code,
                    ran_seconds=round(ran, 1), restart_in=round(delay, 2))  # fmt: skip
        with contextlib.suppress(Exception):
            await self.client.hdel(self.keys.heartbeats, slot.spec.name)

    async def _stop_all(self) -> None:
        """SIGTERM every worker, wait (bounded) for them to finish their batch, then SIGKILL."""
        running = [s for s in self.slots if s.process is not None and s.process.is_alive()]
        for slot in running:
            assert slot.process is not None
            slot.process.terminate()
        deadline = time.monotonic() + self.grace
        for slot in running:
            assert slot.process is not None
            await asyncio.to_thread(slot.process.join, max(0.0, deadline - time.monotonic()))
        for slot in self.slots:
            if slot.process is None:
                continue
            if slot.process.is_alive():
                log.warning("engine_worker_killed_at_shutdown", worker=slot.spec.number)
                slot.process.kill()
                await asyncio.to_thread(slot.process.join, 5.0)
            self._receive(slot)  # the last counts it sent on its way out
            self._close_pipe(slot)
            slot.process.close()
            slot.process = None

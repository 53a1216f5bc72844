"""Parsing in worker processes with CPU and memory limits, so no document can stall the daemon.

Each worker caps its address space (``RLIMIT_AS``) once and its CPU time per document
(``RLIMIT_CPU`` soft limit moved forward before every job: the kernel kills a worker that spends
longer on one document). The parent also waits at most a wall-clock deadline. A killed or stuck
worker breaks the pool; the pool is then replaced, and documents caught in the break are tried
once more (the culprit fails again and is reported as a parse error).
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime

import structlog

from monitor.errors import ParseError
from monitor.feeds.language import DetectionMode, detector_for
from monitor.feeds.parse import ParsedFeed, fingerprint, parse_feed

log = structlog.get_logger(__name__)

# How often a worker checks that the daemon owning it is still alive.
OWNER_CHECK_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class ParseJob:
    """Everything :func:`parse_feed` needs, as one picklable value."""

    body: bytes
    feed: str
    feed_url: str
    now: datetime
    max_items: int = 500
    feed_tags: tuple[str, ...] = ()
    content_type: str = ""
    trust_guid: bool = True
    language: str = ""
    language_detection: DetectionMode = "fast"


@dataclass(frozen=True, slots=True)
class ParsedBatch:
    """A parsed document ready to publish: serialised in the worker, so the event loop only sends.

    ``records`` are (entry id, fingerprint, entry JSON), oldest item first.
    """

    title: str
    shared_guid: bool
    records: tuple[tuple[str, str, str], ...]


def batch_job(job: ParseJob) -> ParsedBatch:
    """Parse one job and serialise its entries for publishing."""
    parsed = run_job(job)
    entries = reversed(parsed.entries)  # feeds list newest first; publish in order of age
    records = tuple((e.id, fingerprint(e), e.to_json()) for e in entries)
    return ParsedBatch(parsed.title, parsed.shared_guid, records)


def run_job(job: ParseJob) -> ParsedFeed:
    """Parse one job (in whatever process this runs)."""
    return parse_feed(
        job.body,
        feed=job.feed,
        feed_url=job.feed_url,
        now=job.now,
        max_items=job.max_items,
        feed_tags=job.feed_tags,
        content_type=job.content_type,
        trust_guid=job.trust_guid,
        language=job.language,
        detect=detector_for(job.language_detection),
    )


def _init_worker(memory_bytes: int, owner: int, language_detection: DetectionMode) -> None:
    # Ctrl-C reaches the whole process group; the daemon decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    # Built before any job, so its models are not charged to the first document's CPU limit.
    detector_for(language_detection)
    threading.Thread(target=_exit_with_owner, args=(owner,), daemon=True).start()


def _exit_with_owner(owner: int) -> None:
    """End this worker once the daemon that owns the pool is gone (killed, not stopped).

    A forkserver worker is not the daemon's child and never sees its queue close (it holds a copy
    of the writing end itself), and the forkserver lives as long as its workers: without this, a
    SIGKILLed daemon leaves the forkserver and its workers behind for good.
    """
    while True:
        time.sleep(OWNER_CHECK_SECONDS)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            os._exit(0)  # another user's process has the pid now: the owner is gone as well


def _limited_job(job: ParseJob, cpu_seconds: int, batch: bool) -> ParsedFeed | ParsedBatch:
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime)
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + cpu_seconds
    if hard == resource.RLIM_INFINITY or soft <= hard:
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    try:
        return batch_job(job) if batch else run_job(job)
    except MemoryError:
        raise ParseError("parser: document needs more memory than allowed") from None
    except RecursionError:
        raise ParseError("parser: document nested too deeply") from None


class ParsePool:
    """A small pool of limited parser processes, replaced when a worker dies."""

    def __init__(
        self,
        workers: int,
        *,
        timeout: float,
        memory_bytes: int,
        language_detection: DetectionMode = "fast",
    ) -> None:
        self.workers = workers
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self.language_detection = language_detection
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0

    def _pool(self) -> tuple[ProcessPoolExecutor, int]:
        if self._executor is None:
            context = multiprocessing.get_context("forkserver")
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.memory_bytes, os.getpid(), self.language_detection),
            )
            self._generation += 1
        return self._executor, self._generation

    def _replace(self, generation: int) -> None:
        """Kill and drop the pool of ``generation`` (once, however many jobs saw it break)."""
        if self._executor is None or generation != self._generation:
            return
        executor, self._executor = self._executor, None
        processes = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(OSError, AttributeError):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)
        log.warning("parse_pool_replaced")

    async def parse(self, job: ParseJob) -> ParsedFeed:
        """Parse ``job`` in a worker; :class:`ParseError` if it is refused, too slow or too big."""
        result = await self._run(job, batch=False)
        assert isinstance(result, ParsedFeed)
        return result

    async def batch(self, job: ParseJob) -> ParsedBatch:
        """Parse ``job`` in a worker and get its entries serialised for publishing."""
        result = await self._run(job, batch=True)
        assert isinstance(result, ParsedBatch)
        return result

    async def _run(self, job: ParseJob, *, batch: bool) -> ParsedFeed | ParsedBatch:
        for attempt in (1, 2):
            executor, generation = self._pool()
            cpu = max(1, int(self.timeout))
            future = asyncio.wrap_future(executor.submit(_limited_job, job, cpu, batch))
            try:
                return await asyncio.wait_for(future, self.timeout * 2 + 1)
            except TimeoutError:
                self._replace(generation)
                raise ParseError(f"parser: gave up after {self.timeout:g}s") from None
            except BrokenProcessPool:
                self._replace(generation)
                if attempt == 2:
                    raise ParseError("parser: worker died on this document") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

"""One APScheduler job per feed, leases in Redis so several fetchers share the work.

Every feed is polled at once on start, then after the delay its last poll chose (interval with
jitter, backoff after errors, Retry-After, Cache-Control). Before polling, a fetcher takes the
feed's lease (SET NX PX); after polling it stretches the lease until the feed is due again, so
any number of fetcher processes poll each feed once per interval.

A poll waits for a slot of its feed's host (``fetch.per_host_concurrency``) before it takes one
of the process's slots (``fetch.concurrency``), so feeds on one slow host queue among
themselves and cannot fill the global pool while feeds on other hosts wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import redis.asyncio as aioredis
import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.exceptions import RedisError

from monitor.config import FeedSettings, Settings
from monitor.feeds.fetch import Fetcher
from monitor.feeds.poll import FeedPoller, PollOutcome
from monitor.feeds.store import FeedStore
from monitor.feeds.timing import NetworkHealth, jittered
from monitor.feeds.workers import ParsePool
from monitor.streams import Keys

log = structlog.get_logger(__name__)

_STORE_RETRY = 15.0


class FeedScheduler:
    """Schedules and runs the polls of every enabled feed in ``settings.feeds``."""

    def __init__(
        self,
        settings: Settings,
        client: aioredis.Redis,
        keys: Keys,
        *,
        instance: str,
        fetcher: Fetcher | None = None,
        stop_grace: float = 10.0,
    ) -> None:
        self.settings = settings
        self.instance = instance
        self.holder = f"{instance}/{os.getpid()}/{uuid.uuid4().hex[:8]}"
        self.store = FeedStore(client, keys)
        self.fetcher = fetcher or Fetcher(settings.fetch)
        fetch = settings.fetch
        self.pool = ParsePool(
            fetch.parse_workers,
            timeout=fetch.parse_timeout,
            memory_bytes=fetch.parse_memory_mb * 1024 * 1024,
            language_detection=fetch.language_detection,
        )
        self.feeds = {f.name: f for f in settings.feeds if f.enabled}
        self.poller = FeedPoller(
            settings, self.store, self.fetcher, self.pool, network=NetworkHealth(len(self.feeds))
        )
        self.stop_grace = stop_grace
        self.rnd = random.Random()
        self._slots = asyncio.Semaphore(fetch.concurrency)
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._first = set(self.feeds)

    async def start(self) -> None:
        """Schedule every enabled feed, the first poll of each at once."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler = scheduler
        scheduler.start()
        now = datetime.now(UTC)
        for name in self.feeds:
            self._schedule(name, now)
        log.info("feed_scheduler_started", feeds=len(self.feeds), holder=self.holder)

    async def stop(self) -> None:
        """Take no new polls, let running ones finish within the grace time, then close."""
        self._stopping = True
        if self._scheduler is not None:
            with contextlib.suppress(Exception):
                self._scheduler.shutdown(wait=False)
        running = set(self._running)
        if running:
            _done, pending = await asyncio.wait(running, timeout=self.stop_grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
                log.warning("feed_polls_cancelled", count=len(pending))
        await self.fetcher.close()
        self.pool.close()
        log.info("feed_scheduler_stopped")

    def _schedule(self, name: str, when: datetime) -> None:
        if self._stopping or self._scheduler is None:
            return
        self._scheduler.add_job(
            self._job,
            trigger="date",
            run_date=when,
            args=(name,),
            id=f"feed:{name}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    async def _job(self, name: str) -> None:
        task = asyncio.current_task()
        if task is None or self._stopping:
            return
        self._running.add(task)
        try:
            delay = await self._turn(self.feeds[name])
        except asyncio.CancelledError:
            if self._stopping:
                return  # stop() gave up on this poll and counts it; nothing for the job to report
            raise
        except RedisError as exc:
            log.error("feed_store_unavailable", feed=name, error=str(exc))
            delay = jittered(_STORE_RETRY, 0.5, self.rnd)
        except Exception:  # a bug must not end the feed's schedule
            log.exception("feed_poll_crashed", feed=name)
            delay = jittered(self.poller.pacing(self.feeds[name]).interval, 0.1, self.rnd)
        finally:
            self._running.discard(task)
        # Every fetcher wakes at a random moment just after the lease ends, so the work spreads
        # over all of them instead of the last holder always winning.
        delay += self.rnd.uniform(0.0, min(2.0, max(0.2, delay * 0.05)))
        self._schedule(name, datetime.now(UTC) + timedelta(seconds=delay))

    async def _turn(self, feed: FeedSettings) -> float:
        """Poll ``feed`` if its lease is ours → seconds until we look at it again."""
        first = feed.name in self._first
        self._first.discard(feed.name)
        fetch = self.settings.fetch
        hold = fetch.timeout + fetch.parse_timeout * 2 + 30.0
        # After a restart, the lease our own instance left behind does not make us wait.
        take_from = f"{self.instance}/" if first else ""
        async with self._host_of(feed), self._slots:
            if self._stopping:
                return 0.0
            if not await self.store.acquire(feed.name, self.holder, hold, take_from=take_from):
                return await self._wait_for_other(feed)
            outcome: PollOutcome = await self.poller.poll(feed)
        await self.store.extend(feed.name, self.holder, outcome.delay)
        return outcome.delay

    def _host_of(self, feed: FeedSettings) -> AbstractAsyncContextManager[object]:
        """The slots shared by every feed configured on the same host (none for files)."""
        host = urlsplit(self.settings.feed_url(feed)).hostname
        if not host:
            return contextlib.nullcontext()
        slots = self._host_slots.get(host)
        if slots is None:
            slots = asyncio.Semaphore(self.settings.fetch.per_host_concurrency)
            self._host_slots[host] = slots
        return slots

    async def _wait_for_other(self, feed: FeedSettings) -> float:
        """Another fetcher holds the lease: look again shortly after it ends."""
        state = await self.store.load(feed.name)
        until_due = state.next_due - time.time()
        if until_due > 0:
            return max(until_due, 0.2)
        # The holder is polling right now (its lease runs long until the poll ends): look again
        # soon instead of sleeping through the whole hold time.
        left = await self.store.lease_left(feed.name)
        return min(max(left, 0.2), 2.0)

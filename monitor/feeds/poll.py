"""One poll of one feed: the one place where fetcher, parser and store meet (Miniflux's handler).

fetch (conditional) → unchanged? stop → cut into raw items → parse only the items not seen in
the last good fetch → fingerprint → publish new and edited entries atomically → save state and
health, with the delay until the next poll.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import structlog

from monitor import metrics
from monitor.config import FeedSettings, Settings
from monitor.errors import FetchError, MonitorError, ParseError
from monitor.feeds.fetch import Fetcher, FetchResult
from monitor.feeds.items import cut_items
from monitor.feeds.store import FeedState, FeedStore
from monitor.feeds.timing import (
    NETWORK_KINDS,
    NetworkHealth,
    Pacing,
    confirm_redirect,
    error_delay,
    muted_delay,
    offline_delay,
    success_delay,
)
from monitor.feeds.workers import ParsedBatch, ParseJob

log = structlog.get_logger(__name__)

StateChanges = dict[str, str | int | float]
# A feed's dedup record is only thinned out once it holds this many times max_items ids.
SEEN_KEEP_FACTOR = 4


class Parser(Protocol):
    """Something that turns a :class:`ParseJob` into a :class:`ParsedBatch`."""

    async def batch(self, job: ParseJob) -> ParsedBatch:
        """Parse one job, entries serialised for publishing."""
        ...


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll did and when the feed is due next."""

    feed: str
    status: str
    delay: float
    new: int = 0
    edited: int = 0
    error_kind: str = ""


class FeedPoller:
    """Polls feeds: fetch, parse what is new, publish, record health."""

    def __init__(
        self,
        settings: Settings,
        store: FeedStore,
        fetcher: Fetcher,
        parser: Parser,
        *,
        network: NetworkHealth | None = None,
        rnd: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.store = store
        self.fetcher = fetcher
        self.parser = parser
        self.network = network or NetworkHealth(len(settings.feeds))
        self.rnd = rnd or random.Random()
        self.clock = clock

    def pacing(self, feed: FeedSettings) -> Pacing:
        """The schedule knobs of ``feed``."""
        fetch = self.settings.fetch
        interval = feed.interval if feed.interval is not None else fetch.interval
        return Pacing(interval, fetch.jitter, fetch.backoff_max, fetch.cache_max)

    async def poll(self, feed: FeedSettings) -> PollOutcome:
        """Fetch and process ``feed`` once; errors end up in its state, never raised."""
        now = self.clock()
        state = await self.store.load(feed.name)
        configured = self.settings.feed_url(feed)
        same_config = state.configured_url == configured
        url = state.url if same_config and state.url else configured
        base: StateChanges = {"configured_url": configured, "last_attempt": now, "url": url}
        try:
            result = await self.fetcher.fetch(
                url,
                configured_url=configured,
                etag=state.etag if same_config else "",
                last_modified=state.last_modified if same_config else "",
                redirect_hosts=feed.private_redirect_hosts,
            )
        except FetchError as exc:
            return await self._failed(feed, state, exc, now, base)
        metrics.FETCH_SECONDS.observe(result.elapsed)
        self.network.record(now, feed.name, reached=True)
        base.update(self._redirects(feed, state, result, url))
        try:
            status, new, edited, found = await self._process(feed, state, result, now, same_config)
        except ParseError as exc:
            return await self._failed(feed, state, exc, now, base)
        delay = success_delay(self.pacing(feed), result.max_age, self.rnd)
        changes: StateChanges = {
            **base,
            **found,
            "status": status,
            "http_status": result.status,
            "last_success": now,
            "consecutive_errors": 0,
            "error_kind": "",
            "last_error": "",
            "next_due": now + delay,
            "muted": 0,
        }
        if result.etag or result.status == 200:
            changes["etag"] = result.etag
        if result.last_modified or result.status == 200:
            changes["last_modified"] = result.last_modified
        await self.store.save(feed.name, changes)
        metrics.FETCHES.labels(feed.name, status).inc()
        metrics.FEED_LAST_SUCCESS.labels(feed.name).set(now)
        if new:
            metrics.ENTRIES_NEW.labels(feed.name).inc(new)
            log.info("feed_entries_new", feed=feed.name, new=new, edited=edited)
        return PollOutcome(feed.name, status, delay, new, edited)

    async def _process(
        self, feed: FeedSettings, state: FeedState, result: FetchResult, now: float, same: bool
    ) -> tuple[str, int, int, StateChanges]:
        if result.not_modified:
            return "not_modified", 0, 0, {}
        body_hash = hashlib.sha256(result.body).hexdigest()
        if same and body_hash == state.body_hash:
            return "unchanged", 0, 0, {}
        found: StateChanges = {"body_hash": body_hash}
        when = datetime.fromtimestamp(now, UTC)
        job = ParseJob(
            result.body,
            feed.name,
            result.url,
            when,
            max_items=self.settings.fetch.max_items,
            feed_tags=feed.tags,
            content_type=result.content_type,
            trust_guid=not state.guid_shared,
            language=feed.language,
            language_detection=self.settings.fetch.language_detection,
        )
        cut = cut_items(result.body)
        if cut is not None:
            candidates = cut.items[: self.settings.fetch.max_items]
            known = state.digests() if same else frozenset()
            fresh = tuple(item for item in candidates if item.digest not in known)
            found["item_hashes"] = " ".join(item.digest for item in candidates)
            shared = cut.shared_guid() or bool(state.guid_shared)
            found["guid_shared"] = int(shared)
            if not fresh:
                return "unchanged_items", 0, 0, found
            job = dataclasses.replace(job, body=cut.document(fresh), trust_guid=not shared)
        else:
            found["item_hashes"] = ""
        parsed = await self.parser.batch(job)
        if parsed.shared_guid:
            found["guid_shared"] = 1
        if parsed.title:
            found["title"] = parsed.title[:200]
        day = int(now // 86400)
        new, edited = await self.store.publish(feed.name, parsed.records, day=day)
        if state.pruned_day != day:
            await self._prune(feed, day)
            found["pruned_day"] = day
        return "ok", new, edited, found

    async def _prune(self, feed: FeedSettings, day: int) -> None:
        fetch = self.settings.fetch
        before = day - int(fetch.seen_retention // 86400)
        removed = await self.store.prune_seen(
            feed.name, before_day=before, keep=SEEN_KEEP_FACTOR * fetch.max_items
        )
        if removed:
            log.info("feed_seen_pruned", feed=feed.name, removed=removed)

    def _redirects(
        self, feed: FeedSettings, state: FeedState, result: FetchResult, url: str
    ) -> StateChanges:
        target, count, move = confirm_redirect(
            state.redirect_target, state.redirect_count, result.permanent_redirect
        )
        changes: StateChanges = {"redirect_target": target, "redirect_count": count}
        if move and result.permanent_redirect:
            changes["url"] = result.permanent_redirect
            log.warning("feed_moved", feed=feed.name, redirects_seen=state.redirect_count + 1)
        else:
            changes["url"] = url
        return changes

    async def _failed(
        self,
        feed: FeedSettings,
        state: FeedState,
        exc: MonitorError,
        now: float,
        base: StateChanges,
    ) -> PollOutcome:
        kind = getattr(exc, "kind", "parse") if isinstance(exc, FetchError) else "parse"
        network_error = kind in NETWORK_KINDS
        self.network.record(now, feed.name, reached=not network_error)
        pacing = self.pacing(feed)
        errors = state.consecutive_errors
        muted = 0
        if network_error and self.network.offline(now):
            status, delay = "offline", offline_delay(pacing, self.rnd)
        elif kind == "gone":
            status, delay, muted, errors = "muted", muted_delay(pacing, self.rnd), 1, errors + 1
            log.warning("feed_gone_muted", feed=feed.name)
        else:
            errors += 1
            status = "error"
            delay = error_delay(pacing, errors, getattr(exc, "retry_after", None), self.rnd)
        message = str(exc)[:300]
        await self.store.save(
            feed.name,
            {
                **base,
                "status": status,
                "error_kind": kind,
                "last_error": message,
                "consecutive_errors": errors,
                "next_due": now + delay,
                "muted": muted,
            },
        )
        metrics.FETCHES.labels(feed.name, status).inc()
        metrics.FETCH_ERRORS.labels(feed.name, kind).inc()
        log.warning(
            "feed_poll_failed", feed=feed.name, error_kind=kind, error=message, errors=errors
        )
        return PollOutcome(feed.name, status, delay, error_kind=kind)

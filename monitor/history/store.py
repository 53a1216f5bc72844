"""Story records and their filter indexes in Redis, with a retention.

Layout (keys in :mod:`monitor.streams`): one JSON string per story; a sorted set of every story
by publication time (the timeline) and one per filter value (``channel``, ``tag``, ``treaty``,
``actor``, ``feed``, ``severity``, ``rule``); a sorted set by first-recorded time for retention.
Folding an alert into its story WATCHes the record, so two recorders never lose each other's
channel or source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import WatchError

from monitor.alerts.alert import Alert
from monitor.errors import StoreError
from monitor.history.record import (
    FILTERS,
    Acknowledgement,
    Cursor,
    StoryRecord,
    fold,
    may_contain,
    story_of,
    wanted,
)
from monitor.streams import Keys, as_text

log = structlog.get_logger(__name__)

_ATTEMPTS = 20
_BATCH = 200
# A search reads at most this many candidate stories per page: the bound of one request's work.
SCAN_LIMIT = 20_000
UPDATES_MAXLEN = 1000


@dataclass(frozen=True, slots=True)
class Page:
    """One page of stories, newest first; ``next`` continues it, ``scanned`` is the work done."""

    items: tuple[StoryRecord, ...]
    next: Cursor | None
    scanned: int


class HistoryStore:
    """Records alerts as stories and answers the desk's filtered, paged queries."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def add(self, alert: Alert, now: datetime) -> StoryRecord:
        """Fold ``alert`` into its story's record (atomically) and index it."""
        key = self.keys.history_story(story_of(alert))
        for _ in range(_ATTEMPTS):
            async with self.client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    before = StoryRecord.from_json(raw) if raw else None
                    record = fold(before, alert, now)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(key, record.to_json())
                    score = record.when.timestamp()
                    pipe.zadd(self.keys.history_all, {record.story: score})
                    pipe.zadd(self.keys.history_seen, {record.story: record.first_seen.timestamp()})
                    for label, values in record.labels().items():
                        for value in values:
                            pipe.zadd(self.keys.history_index(label, value), {record.story: score})
                            pipe.zadd(self.keys.history_values(label), {value: score}, gt=True)
                    if record.due is not None:
                        pipe.zadd(self.keys.history_due, {record.story: _midnight(record.due)})
                    pipe.xadd(self.keys.history_updates, {"story": record.story},
                              maxlen=UPDATES_MAXLEN, approximate=True)  # fmt: skip
                    await pipe.execute()
                    return record
                except WatchError:
                    continue
        raise StoreError(f"history: could not record story {story_of(alert)} (kept changing)")

    async def get(self, story: str) -> StoryRecord | None:
        """One story's record, if kept."""
        raw = await self.client.get(self.keys.history_story(story))
        return StoryRecord.from_json(raw) if raw else None

    async def page(
        self,
        filters: Mapping[str, str],
        text: str = "",
        *,
        cursor: Cursor | None = None,
        limit: int = 50,
        scan_limit: int = SCAN_LIMIT,
    ) -> Page:
        """Stories passing ``filters`` and ``text``, newest first, after ``cursor``."""
        unknown = set(filters) - set(FILTERS)
        if unknown:
            raise ValueError(f"unknown filter {sorted(unknown)[0]!r} (one of {', '.join(FILTERS)})")
        index = await self._narrowest(filters)
        found: list[StoryRecord] = []
        scanned = 0
        last = cursor
        while scanned < scan_limit:
            ids = await self._below(index, last, min(_BATCH, scan_limit - scanned))
            if not ids:
                return Page(tuple(found), None, scanned)
            records = await self.client.mget([self.keys.history_story(i) for i, _ in ids])
            for (story, score), raw in zip(ids, records, strict=True):
                scanned += 1
                last = Cursor(score, story)
                if raw is None:
                    continue  # pruned meanwhile
                if text and not may_contain(as_text(raw), text):
                    continue  # parsing is most of a search's cost; most records fail here
                record = StoryRecord.from_json(raw)
                if wanted(record, filters, text):
                    found.append(record)
                    if len(found) == limit:
                        return Page(tuple(found), last, scanned)
        return Page(tuple(found), last, scanned)

    async def _narrowest(self, filters: Mapping[str, str]) -> str:
        """The smallest index among the filtered ones (every story when there is no filter)."""
        if not filters:
            return self.keys.history_all
        candidates = [self.keys.history_index(k, v) for k, v in filters.items()]
        sizes = [int(await self.client.zcard(c)) for c in candidates]
        return candidates[sizes.index(min(sizes))]

    async def _below(
        self, index: str, cursor: Cursor | None, count: int
    ) -> list[tuple[str, float]]:
        """Up to ``count`` (id, score) of ``index`` after ``cursor`` in newest-first order."""
        top: float | str = "+inf" if cursor is None else cursor.score
        # Ties on one score come in descending id order; skip those at or above the cursor's.
        rows: Any = await self.client.zrevrangebyscore(
            index, top, "-inf", start=0, num=count + _BATCH, withscores=True
        )
        out: list[tuple[str, float]] = []
        for member, score in rows:
            story = as_text(member)
            if cursor is not None and score == cursor.score and story >= cursor.story:
                continue
            out.append((story, float(score)))
            if len(out) == count:
                break
        return out

    async def due(
        self,
        start: date,
        end: date,
        filters: Mapping[str, str],
        *,
        limit: int = 1000,
        latest_first: bool = False,
    ) -> list[StoryRecord]:
        """Up to ``limit`` stories falling due from ``start`` to ``end`` (inclusive) that pass
        ``filters``, soonest first (latest first with ``latest_first``).

        Filters are checked on each record, reading on until ``limit`` pass (at most
        ``SCAN_LIMIT`` records), so a filter never empties a window holding more than ``limit``.
        """
        low, high = _midnight(start), _midnight(end)
        found: list[StoryRecord] = []
        offset = 0
        while len(found) < limit and offset < SCAN_LIMIT:
            batch = max(limit - len(found), _BATCH)  # unfiltered: one read
            if latest_first:
                ids = await self.client.zrevrangebyscore(
                    self.keys.history_due, high, low, start=offset, num=batch
                )
            else:
                ids = await self.client.zrangebyscore(
                    self.keys.history_due, low, high, start=offset, num=batch
                )
            if not ids:
                break
            offset += len(ids)
            raws = await self.client.mget([self.keys.history_story(as_text(i)) for i in ids])
            records = (StoryRecord.from_json(raw) for raw in raws if raw is not None)
            found += [r for r in records if wanted(r, filters)][: limit - len(found)]
        return found

    async def values(self, label: str) -> list[str]:
        """The values ``label`` has had in the kept history, most recently seen first."""
        return [
            as_text(v) for v in await self.client.zrevrange(self.keys.history_values(label), 0, -1)
        ]

    async def latest(self, label: str, values: list[str]) -> dict[str, StoryRecord]:
        """The newest story of each of ``values`` of ``label`` (a value with none is left out)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for value in values:
                pipe.zrevrange(self.keys.history_index(label, value), 0, 0)
            tops = await pipe.execute()
        ids = {v: as_text(top[0]) for v, top in zip(values, tops, strict=True) if top}
        if not ids:
            return {}
        raws = await self.client.mget([self.keys.history_story(i) for i in ids.values()])
        return {v: StoryRecord.from_json(r) for v, r in zip(ids, raws, strict=True) if r}

    async def count_since(self, label: str, value: str, since: datetime) -> int:
        """Stories with ``label`` = ``value`` published since ``since``."""
        key = self.keys.history_index(label, value)
        return int(await self.client.zcount(key, since.timestamp(), "+inf"))

    async def acknowledge(self, ack: Acknowledgement) -> None:
        """Mark a story as handled (a later acknowledgement replaces an earlier one)."""
        await self.client.hset(self.keys.history_acks, ack.story, ack.to_json())

    async def acks(self, stories: list[str]) -> dict[str, Acknowledgement]:
        """The acknowledgements of ``stories`` that have one."""
        if not stories:
            return {}
        raws = await self.client.hmget(self.keys.history_acks, stories)
        return {s: Acknowledgement.from_json(r) for s, r in zip(stories, raws, strict=True) if r}

    async def prune(self, now: datetime, retention: timedelta) -> int:
        """Drop stories first recorded longer than ``retention`` ago; returns how many."""
        cutoff = (now - retention).timestamp()
        dropped = 0
        while True:
            old = [as_text(m) for m in await self.client.zrangebyscore(
                self.keys.history_seen, "-inf", cutoff, start=0, num=_BATCH
            )]  # fmt: skip
            if not old:
                return dropped
            records = await self.client.mget([self.keys.history_story(s) for s in old])
            async with self.client.pipeline(transaction=False) as pipe:
                for story, raw in zip(old, records, strict=True):
                    if raw is not None:
                        for label, values in StoryRecord.from_json(raw).labels().items():
                            for value in values:
                                pipe.zrem(self.keys.history_index(label, value), story)
                    pipe.delete(self.keys.history_story(story))
                    pipe.zrem(self.keys.history_all, story)
                    pipe.zrem(self.keys.history_due, story)
                    pipe.hdel(self.keys.history_acks, story)
                    pipe.zrem(self.keys.history_seen, story)
                await pipe.execute()
            dropped += len(old)


def _midnight(day: date) -> float:
    return datetime.combine(day, time(0), tzinfo=UTC).timestamp()

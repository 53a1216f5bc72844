"""Replay the entries kept in the entries stream through a rule set, sending nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from monitor.errors import StoreError
from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.streams import decode_fields

_BATCH = 500


@dataclass(slots=True)
class RuleTally:
    """What one rule would have done: how many alerts, and a few of their titles."""

    count: int = 0
    samples: list[tuple[str, str]] = field(default_factory=list)  # (title, link)


@dataclass(slots=True)
class Backtest:
    """Counts per rule over the replayed entries (pure aggregation)."""

    rule_set: RuleSet
    samples: int = 3
    entries: int = 0
    matched: int = 0
    unreadable: int = 0
    tallies: dict[str, RuleTally] = field(default_factory=dict)

    def add(self, entry: Entry) -> None:
        """Match one entry and count what would have alerted."""
        self.entries += 1
        matches = self.rule_set.match(entry)
        if matches:
            self.matched += 1
        for match in matches:
            tally = self.tallies.setdefault(match.rule_id, RuleTally())
            tally.count += 1
            if len(tally.samples) < self.samples:
                tally.samples.append((entry.title, entry.link))

    def add_raw(self, payloads: Iterable[str]) -> None:
        """Match entries given as stream payloads (Entry JSON); unreadable ones are counted."""
        for payload in payloads:
            try:
                entry = Entry.from_json(payload)
            except (ValueError, TypeError, KeyError):
                self.unreadable += 1
                continue
            self.add(entry)


async def replay(
    client: aioredis.Redis, stream: str, since_ms: int, backtest: Backtest, limit: int = 0
) -> Backtest:
    """Feed every entry of ``stream`` newer than ``since_ms`` (epoch ms) into ``backtest``."""
    start = f"{max(0, since_ms)}-0"
    try:
        while True:
            rows = await client.xrange(stream, min=start, max="+", count=_BATCH)
            if not rows:
                break
            payloads = [decode_fields(fields or {}).get("entry", "") for _id, fields in rows]
            backtest.add_raw(payloads)
            last = rows[-1][0]
            start = "(" + (last.decode() if isinstance(last, bytes) else str(last))
            if len(rows) < _BATCH or (limit and backtest.entries >= limit):
                break
    except RedisError as exc:
        raise StoreError(f"backtest: cannot read {stream}: {exc}") from exc
    return backtest

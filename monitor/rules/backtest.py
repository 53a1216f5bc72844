"""Replay the entries kept in the entries stream through a rule set, sending nothing.

Counts what each rule matches and, as the engine would publish them, the alerts per channel: one
per entry and channel, a story held back while its rule's realert window (counted in stream time)
is still open. Entries are replayed in order of publication and grouped into stories as the
daemon groups them (:mod:`monitor.events`). Entries stored before languages were detected (an
empty ``language``) are given the detected one, when a detector is given, so rules scoped by
language see what the daemon's parse workers would give them now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from monitor.errors import StoreError
from monitor.events.replay import Grouper
from monitor.events.stories import by_publication
from monitor.feeds.entry import Entry
from monitor.feeds.language import detection_text
from monitor.rules.combine import by_channel
from monitor.rules.engine import RuleSet
from monitor.rules.match import Match
from monitor.streams import as_text, decode_fields, parse_id

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
    channels: dict[str, int] = field(default_factory=dict)  # alerts that would have been sent
    throttled: int = 0  # matches held back by their rule's realert window
    _windows: dict[tuple[str, str], float] = field(default_factory=dict)  # (rule, key) -> opened
    grouper: Grouper | None = None  # made on first use, from the rule set's canonical ids
    detect: Callable[[str], str] | None = None  # language of entries stored without one

    @property
    def sources(self) -> int:
        """Entries that would have joined a story as follow-up sources (no alert of their own)."""
        return self.grouper.sources if self.grouper else 0

    @property
    def stories(self) -> int:
        """Distinct stories among the entries that would have alerted."""
        return len(self.grouper.stories) if self.grouper else 0

    def add(self, entry: Entry, at: float | None = None) -> None:
        """Match one entry (added to the stream at ``at``, epoch seconds) and count its alerts."""
        self.entries += 1
        matches = self.rule_set.match(entry)
        if matches:
            self.matched += 1
        for match in matches:
            tally = self.tallies.setdefault(match.rule_id, RuleTally())
            tally.count += 1
            if len(tally.samples) < self.samples:
                tally.samples.append((entry.title, entry.link))
        kept = [m for m in matches if self._outside_window(m, at)]
        routed = by_channel(kept)
        for channel, _match in routed:
            self.channels[channel] = self.channels.get(channel, 0) + 1
        if routed or not matches:
            # An entry matching nothing may still join a story as a follow-up source.
            if self.grouper is None:
                self.grouper = Grouper(self.rule_set)
            self.grouper.add(entry, matches)

    def _outside_window(self, match: Match, at: float | None) -> bool:
        """Whether the engine would publish this match, given the windows opened before ``at``."""
        if at is None or match.realert_seconds <= 0 or not match.throttle_key:
            return True
        key = (match.rule_id, match.throttle_key)
        opened = self._windows.get(key)
        if opened is not None and at < opened + match.realert_seconds:
            self.throttled += 1
            return False
        self._windows[key] = at
        return True

    def add_raw(self, rows: Iterable[tuple[str, str]]) -> None:
        """Match ``(stream id, Entry JSON)`` rows in order of publication; unreadable ones are
        counted."""
        entries: list[tuple[Entry, float]] = []
        for stream_id, payload in rows:
            try:
                entry = Entry.from_json(payload)
                entries.append((self._with_language(entry), parse_id(stream_id)[0] / 1000))
            except (ValueError, TypeError, KeyError):
                self.unreadable += 1
        for entry, at in by_publication(entries, lambda pair: pair[0].published):
            self.add(entry, at=at)

    def _with_language(self, entry: Entry) -> Entry:
        if entry.language or self.detect is None:
            return entry
        text = detection_text(entry.title, entry.summary, entry.content)
        return replace(entry, language=self.detect(text))


async def replay(
    client: aioredis.Redis, stream: str, since_ms: int, backtest: Backtest, limit: int = 0
) -> Backtest:
    """Feed every entry of ``stream`` newer than ``since_ms`` (epoch ms) into ``backtest``."""
    start = f"{max(0, since_ms)}-0"
    # Read the whole period first: stories are grouped in order of publication, not arrival.
    collected: list[tuple[str, str]] = []
    try:
        while True:
            rows = await client.xrange(stream, min=start, max="+", count=_BATCH)
            if not rows:
                break
            collected.extend(
                (as_text(mid), decode_fields(fields or {}).get("entry", "")) for mid, fields in rows
            )
            start = "(" + as_text(rows[-1][0])
            if len(rows) < _BATCH or (limit and len(collected) >= limit):
                break
    except RedisError as exc:
        raise StoreError(f"backtest: cannot read {stream}: {exc}") from exc
    backtest.add_raw(collected)
    return backtest

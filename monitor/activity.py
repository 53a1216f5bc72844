"""The daemon's once-a-minute activity line, from the process's own metrics.

A quiet terminal still needs a sign of life: every minute the daemon logs what it did since the
last line (feeds polled, new entries, alerts published and delivered, failures), counted from the
Prometheus counters the stages already keep. ``snapshot`` and ``since`` are pure over the registry.
"""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import Counter

from monitor import metrics
from monitor.alerts.attempts import sleep_or_stop

log = structlog.get_logger(__name__)

EVERY_SECONDS = 60.0

# name in the activity line -> (counter, the label values counted; empty: all samples)
_COUNTED: dict[str, tuple[Counter, dict[str, frozenset[str]]]] = {
    "feeds_polled": (metrics.FETCHES, {}),
    "fetch_errors": (metrics.FETCH_ERRORS, {}),
    "entries_new": (metrics.ENTRIES_NEW, {}),
    "entries_evaluated": (metrics.ENTRIES_EVALUATED, {}),
    "alerts_published": (metrics.ALERTS_PUBLISHED, {}),
    "alerts_delivered": (metrics.DELIVERIES, {"outcome": frozenset({"delivered", "followup"})}),
    "delivery_retries": (metrics.DELIVERIES, {"outcome": frozenset({"retry"})}),
    "dead_letters": (metrics.DELIVERIES, {"outcome": frozenset({"dead_letter"})}),
}


def _total(counter: Counter, only: dict[str, frozenset[str]]) -> float:
    total = 0.0
    for family in counter.collect():
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            if all(sample.labels.get(k) in values for k, values in only.items()):
                total += sample.value
    return total


def snapshot() -> dict[str, float]:
    """The counted totals now."""
    return {name: _total(counter, only) for name, (counter, only) in _COUNTED.items()}


def since(before: dict[str, float], now: dict[str, float]) -> dict[str, int]:
    """What happened between two snapshots (counters only grow; a reset counts from zero)."""
    return {name: int(max(now[name] - before.get(name, 0.0), 0.0)) for name in now}


async def report_activity(stop: asyncio.Event, every: float = EVERY_SECONDS) -> None:
    """Log ``daemon_activity`` every ``every`` seconds until ``stop`` is set (0: never)."""
    if every <= 0:
        return
    before = snapshot()
    while not await sleep_or_stop(every, stop):
        current = snapshot()
        log.info("daemon_activity", seconds=int(every), **since(before, current))
        before = current

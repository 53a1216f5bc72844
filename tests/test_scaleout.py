"""Two processes of every role against one Redis: the work is shared, never doubled.

Counted at the edges: the feed server records every request per feed, the engines report how
many entries they evaluated, the webhook and Slack-like receivers record every alert token they
accepted per subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from monitor.streams import Keys
from tests.ops_procs import (
    MATCHING,
    NOT_MATCHING,
    Daemon,
    slack_sink,
    webhook_sink,
    write_config,
)
from tests.ops_servers import FeedServer, Receiver, wait_for

pytestmark = pytest.mark.slow

ROLES = ("fetcher", "engine", "notifier")
FEEDS = 12
INTERVAL = 2.0
ROUNDS = 3


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[tuple[FeedServer, Receiver]]:
    """A feed server and a receiver for the test's lifetime."""
    feeds, receiver = FeedServer(), Receiver()
    await feeds.start()
    await receiver.start()
    try:
        yield feeds, receiver
    finally:
        await feeds.stop()
        await receiver.stop()


def publish_round(feeds: FeedServer, names: list[str], n: int) -> list[str]:
    """One matching and one non-matching item per feed; the matching tokens."""
    expected = []
    for name in names:
        expected.append(feeds.add(name, 2 * n, MATCHING.format(n=n, feed=name)))
        feeds.add(name, 2 * n + 1, NOT_MATCHING.format(n=n, feed=name))
    return expected


async def test_two_instances_of_each_role_fetch_evaluate_and_deliver_everything_once(
    redis_url: str, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Every feed once per interval, every entry evaluated once, every alert once per sink."""
    async with servers() as (feeds, receiver):
        names = [f"feed-{i}" for i in range(FEEDS)]
        expected = publish_round(feeds, names, 0)
        sinks = [webhook_sink("hook", receiver.url("hook", "a")),
                 slack_sink("slack", receiver.url("slack", "b"))]  # fmt: skip
        config = write_config(
            tmp_path, redis_url=redis_url, prefix=keys.prefix,
            feeds={name: feeds.url(name) for name in names}, sinks=sinks, interval=INTERVAL,
            # A batch held longer than claim_idle is claimed and evaluated again by the other
            # engine, by design (at least once). Counting each entry evaluated exactly once needs
            # claim_idle above the slowest batch on a loaded two-core machine (3 s was not: 100
            # evaluations of 96 entries, seen at load 5).
            claim_idle=10.0,
        )  # fmt: skip
        daemons = [Daemon(role, config, tmp_path, f"{role}-{i}") for role in ROLES for i in (1, 2)]
        try:
            for daemon in daemons:
                daemon.start()
            await asyncio.gather(*(d.wait_ready() for d in daemons))
            started = time.monotonic()
            fetchers = [d for d in daemons if d.role == "fetcher"]
            for n in range(1, ROUNDS + 1):
                await asyncio.sleep(INTERVAL)
                if n == 2:
                    # Leases are sticky: the fetcher holding them goes away, the other takes over.
                    counts = [await d.metric("treaty_monitor_fetches_total") for d in fetchers]
                    holder = fetchers[counts.index(max(counts))]
                    stopped_code = await holder.astop()
                    standby = next(d for d in fetchers if d is not holder)
                    before = await standby.metric("treaty_monitor_fetches_total")
                expected += publish_round(feeds, names, n)

            def all_delivered() -> bool:
                return all(
                    set(expected) <= set(receiver.accepted[sink]) for sink in ("hook/a", "slack/b")
                )

            assert await wait_for(all_delivered, 45), _progress(receiver, expected)
            # Leave time for any duplicate to arrive before counting.
            await asyncio.sleep(2 * INTERVAL)
            window = time.monotonic() - started
            evaluated = [await d.metric("treaty_monitor_entries_evaluated_total")
                         for d in daemons if d.role == "engine"]  # fmt: skip
            delivered = [await d.metric("treaty_monitor_deliveries_total")
                         for d in daemons if d.role == "notifier"]  # fmt: skip
            taken_over = await standby.metric("treaty_monitor_fetches_total") - before
        finally:
            codes = await asyncio.gather(*(d.astop() for d in daemons))
        entries = await redis_client.xlen(keys.entries)

    assert codes == [0] * len(daemons)
    assert stopped_code == 0
    for sink in ("hook/a", "slack/b"):
        assert receiver.accepted[sink] == Counter(dict.fromkeys(expected, 1)), sink
    assert entries == FEEDS * 2 * (ROUNDS + 1)
    assert sum(evaluated) == entries
    assert all(count > 0 for count in evaluated + delivered), (evaluated, delivered)
    assert taken_over >= FEEDS
    for name in names:
        times = sorted(feeds.requests[name])
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) > 0.5 * INTERVAL, (name, gaps)
        recent = [t for t in times if t >= started]
        assert len(recent) <= window / INTERVAL + 2, (name, len(recent), window)


def _progress(receiver: Receiver, expected: list[str]) -> str:
    return " ".join(
        f"{sink}: {len(set(expected) & set(receiver.accepted[sink]))}/{len(expected)}"
        for sink in ("hook/a", "slack/b")
    )

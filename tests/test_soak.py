"""Soak: the whole daemon under continuous change, flaky sinks and killed processes.

200 local feeds gain items all the time; the Slack-like server answers 429 to a share of posts;
the SMTP server refuses (451) a share of messages; every few seconds one role process is killed
(SIGKILL, nothing handed back) and started again. At the end every expected alert has reached
every subscriber, duplicates stay within the documented window (a notifier killed after the sink
accepted an alert but before it recorded the delivery), and the resident memory of the processes
that were never killed stays flat.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from monitor.streams import Keys
from tests.ops_procs import (
    MATCHING,
    NOT_MATCHING,
    Daemon,
    email_sink,
    slack_sink,
    webhook_sink,
    write_config,
)
from tests.ops_servers import FeedServer, MailServer, Receiver, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FEEDS = 200
INTERVAL = 3.0
LOAD_SECONDS = 40.0
KILL_EVERY = 4.0
CLAIM_IDLE = 2.0
ROLES = ("fetcher", "engine", "notifier")


class Load:
    """Adds items to random feeds and remembers which should alert."""

    def __init__(self, feeds: FeedServer, names: list[str], seed: int = 3) -> None:
        self.feeds = feeds
        self.names = names
        self.random = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.expected: list[str] = []
        self.items = 0

    def tick(self, per_tick: int = 10) -> None:
        """Add ``per_tick`` items; about 40 % of them match the test rule."""
        for name in self.random.sample(self.names, per_tick):
            n = self.counts[name]
            self.counts[name] += 1
            self.items += 1
            if self.random.random() < 0.4:
                self.expected.append(self.feeds.add(name, n, MATCHING.format(n=n, feed=name)))
            else:
                self.feeds.add(name, n, NOT_MATCHING.format(n=n, feed=name))


async def chaos(victims: list[Daemon], stop: asyncio.Event, kills: Counter[str]) -> None:
    """Every KILL_EVERY seconds SIGKILL the next victim, then start it again a second later."""
    turn = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), KILL_EVERY)
        except TimeoutError:
            victim = victims[turn % len(victims)]
            turn += 1
            victim.kill()
            kills[victim.role] += 1
            await asyncio.sleep(1.0)
            victim.start()


async def test_soak_with_flaky_sinks_and_killed_roles_delivers_everything(
    redis_url: str, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """Every expected alert reaches every subscriber; few duplicates; memory stays flat."""
    feeds, receiver, mail = FeedServer(), Receiver(refuse_share=0.2), MailServer(refuse_share=0.2)
    await feeds.start()
    await receiver.start()
    mail.start()
    names = [f"soak-{i}" for i in range(FEEDS)]
    load = Load(feeds, names)
    sinks = [
        webhook_sink("hook", receiver.url("hook", "a")),
        slack_sink("slack", receiver.url("slack", "b")),
        email_sink("mail", mail.port),
    ]
    config = write_config(
        tmp_path, redis_url=redis_url, prefix=keys.prefix,
        feeds={n: feeds.url(n) for n in names}, sinks=sinks, interval=INTERVAL,
        claim_idle=CLAIM_IDLE,
    )  # fmt: skip
    # Instance 1 of each role runs throughout (its memory is watched); instance 2 gets killed.
    steady = [Daemon(role, config, tmp_path, f"{role}-1") for role in ROLES]
    # The notifier goes first, so it is killed most often within the bounded run.
    victims = [Daemon(role, config, tmp_path, f"{role}-2") for role in reversed(ROLES)]
    stop, kills = asyncio.Event(), Counter[str]()
    rss: dict[str, list[int]] = {d.name: [] for d in steady}
    try:
        for daemon in steady + victims:
            daemon.start()
        await asyncio.gather(*(d.wait_ready(60) for d in steady + victims))
        chaos_task = asyncio.create_task(chaos(victims, stop, kills))
        started, ticks = time.monotonic(), 0
        while time.monotonic() - started < LOAD_SECONDS:
            load.tick()
            ticks += 1
            if ticks % 10 == 0:
                for daemon in steady:
                    rss[daemon.name].append(daemon.rss_bytes())
            await asyncio.sleep(0.5)
        stop.set()
        await chaos_task

        def everything_delivered() -> bool:
            wanted = set(load.expected)
            return all(wanted <= set(got) for got in _deliveries(receiver, mail).values())

        drain = time.monotonic()
        delivered = await wait_for(everything_delivered, 90, interval=0.5)
        print(f"soak: load {LOAD_SECONDS:.0f} s, drained in {time.monotonic() - drain:.1f} s")
        await asyncio.sleep(2 * CLAIM_IDLE)
        for daemon in steady:
            rss[daemon.name].append(daemon.rss_bytes())
    finally:
        stop.set()
        running = [d for d in steady + victims if d.process is not None]
        codes = dict(
            zip(
                [d.name for d in running],
                await asyncio.gather(*(d.astop() for d in running)),
                strict=True,
            )
        )
        await feeds.stop()
        await receiver.stop()
        mail.stop()

    print(f"soak: {load.items} items, {len(load.expected)} alerts x 3 sinks, kills {dict(kills)}")
    print("soak: RSS MB", {n: [v // 2**20 for v in vals] for n, vals in rss.items()})
    got = _deliveries(receiver, mail)
    print("soak: duplicates", {sink: sum(n - 1 for n in c.values()) for sink, c in got.items()})
    missing = {sink: len(set(load.expected) - set(c)) for sink, c in got.items()}
    assert delivered, f"missing per sink: {missing}, kills: {dict(kills)}"
    assert codes == dict.fromkeys(codes, 0), codes
    assert receiver.refused["slack/b"] > 0
    assert mail.refused > 0
    assert kills["notifier"] >= 2
    assert len(load.expected) > 250
    # Unexpected tokens would be alerts for items that do not match.
    for sink, counts in got.items():
        assert set(counts) == set(load.expected), sink
        doubles = sum(n - 1 for n in counts.values())
        # Only a notifier killed between a sink's acceptance and its delivered-marker can double,
        # and only what it had in flight: at most one alert per subscription per kill.
        assert doubles <= kills["notifier"], (sink, doubles, dict(kills))
    for name, samples in rss.items():
        warm, end = samples[len(samples) // 4], samples[-1]
        assert end < warm * 1.25 + 16 * 2**20, (name, [s // 2**20 for s in samples])


def _deliveries(receiver: Receiver, mail: MailServer) -> dict[str, Counter[str]]:
    return {"hook": receiver.accepted["hook/a"], "slack": receiver.accepted["slack/b"],
            "mail": mail.accepted}  # fmt: skip

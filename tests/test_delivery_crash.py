"""Crash tests: the notifier SIGKILLed at chosen and random points, Redis killed mid-burst."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.exceptions import RedisError

from monitor.alerts.notifier import build_notifiers
from monitor.config import DeliverySettings, Settings, SinkSettings, SubscriptionSettings
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.streams import Keys
from tests.delivery_helpers import HttpReceiver, http_receiver, make_alert, publish
from tests.smtp_helpers import Scripted, smtp_server

ROOT = Path(__file__).resolve().parent.parent


def _ids(server: HttpReceiver) -> Counter[str]:
    return Counter(json.loads(r.body)["alert"]["id"] for r in server.received)


async def _worker(
    redis_url: str, keys: Keys, url: str, die_at: str = "", recipients: str = ""
) -> asyncio.subprocess.Process:
    args = [sys.executable, "-m", "tests.delivery_worker", redis_url, keys.prefix, url]
    if die_at:
        args += ["--die-at", die_at]
    if recipients:
        args += ["--recipients", recipients]
    proc = await asyncio.create_subprocess_exec(*args, cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"ready"
    return proc


async def _wait_for(server: HttpReceiver, count: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while len(_ids(server)) < count:
        assert time.monotonic() < deadline, f"only {len(_ids(server))} of {count} delivered"
        await asyncio.sleep(0.05)


async def _terminate(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 15)


@pytest.mark.parametrize(("stage", "copies"), [("marked", 1), ("sent", 2)])
async def test_sigkill_after_the_send_redelivers_only_inside_the_documented_window(
    redis_client: aioredis.Redis, redis_url: str, keys: Keys, stage: str, copies: int
) -> None:
    """Killed after the marker: never resent. Killed before it (the window): resent once."""
    alerts = [make_alert(f"Story number {i}", entry_id=f"k{i}") for i in range(5)]
    victim = alerts[2]
    async with http_receiver() as server:
        proc = await _worker(redis_url, keys, server.url, die_at=f"{stage}:{victim.id}")
        ids = {alert.id: await publish(redis_client, keys, alert) for alert in alerts}
        assert await asyncio.wait_for(proc.wait(), 30) == -9
        stream, sid = keys.alerts("arms-control"), ids[victim.id]
        left = await redis_client.xpending_range(stream, "sub:desk", min=sid, max=sid, count=1)
        # "sent": the sink accepted, nothing recorded yet; "marked": marker and ack went together.
        assert len(left) == (1 if stage == "sent" else 0)
        restarted = await _worker(redis_url, keys, server.url)
        await _wait_for(server, 5)
        await _terminate(restarted)
    counts = _ids(server)
    assert counts[victim.id] == copies
    assert all(counts[a.id] == 1 for a in alerts if a is not victim)
    pending = await redis_client.xpending(keys.alerts("arms-control"), "sub:desk")
    assert pending["pending"] == 0


async def test_a_notifier_killed_during_a_partial_smtp_retry_resumes_with_only_the_owed(
    redis_client: aioredis.Redis, redis_url: str, keys: Keys
) -> None:
    """A accepted, B got 4xx, the notifier is SIGKILLed: its successor mails B only, A once."""
    a, b = "a@example.org", "b@example.org"
    handler = Scripted()
    handler.rcpt[b].extend(["451 Greylisted, try again later"] * 1000)
    alert = make_alert("Partial story", entry_id="p1")
    with smtp_server(handler) as port:
        url = f"smtp://127.0.0.1:{port}"
        proc = await _worker(redis_url, keys, url, recipients=f"{a},{b}")
        await publish(redis_client, keys, alert)
        # A has its copy, and B has been refused again on a retry (to B alone): the first
        # attempt, with its bookkeeping, is over.
        deadline = time.monotonic() + 30
        while len(handler.rcpt[b]) > 998:
            assert time.monotonic() < deadline, "no retry to B"
            await asyncio.sleep(0.02)
        proc.kill()
        assert await proc.wait() == -9
        assert [rcpts for rcpts, _ in handler.messages] == [[a]]
        owed = await redis_client.hgetall(keys.smtp_recipients("desk", alert.id))
        assert json.loads(owed["owed"]) == [b]
        assert await redis_client.ttl(keys.smtp_recipients("desk", alert.id)) > 0

        handler.rcpt[b].clear()  # B's server accepts from now on
        restarted = await _worker(redis_url, keys, url, recipients=f"{a},{b}")
        deadline = time.monotonic() + 60
        while len(handler.messages) < 2:
            assert time.monotonic() < deadline, handler.messages
            await asyncio.sleep(0.05)
        await _terminate(restarted)
    assert [rcpts for rcpts, _ in handler.messages] == [[a], [b]]
    assert not await redis_client.exists(keys.smtp_recipients("desk", alert.id))
    pending = await redis_client.xpending(keys.alerts("arms-control"), "sub:desk")
    assert pending["pending"] == 0


@pytest.mark.slow
@pytest.mark.timeout(300)  # five process restarts; slow only on a loaded machine
async def test_random_sigkills_during_a_burst_of_1000_lose_nothing(
    redis_client: aioredis.Redis, redis_url: str, keys: Keys
) -> None:
    """Every alert arrives; duplicates never exceed one per kill (one send in flight)."""
    rng = random.Random(6)
    alerts = [make_alert(f"Burst story {i}", entry_id=f"b{i}") for i in range(1000)]

    async def publisher() -> None:
        for i in range(0, len(alerts), 50):
            for alert in alerts[i : i + 50]:
                await publish(redis_client, keys, alert)
            await asyncio.sleep(0.02)

    kills = 0
    async with http_receiver() as server:
        feeding = asyncio.create_task(publisher())
        while len(_ids(server)) < len(alerts) and kills < 5:
            proc = await _worker(redis_url, keys, server.url)
            await asyncio.sleep(rng.uniform(0.05, 0.5))
            proc.kill()
            await proc.wait()
            kills += 1
        await feeding
        final = await _worker(redis_url, keys, server.url)
        await _wait_for(server, len(alerts))
        await _terminate(final)
    counts = _ids(server)
    duplicates = sum(n - 1 for n in counts.values())
    assert set(counts) == {a.id for a in alerts}
    assert duplicates <= kills
    print(f"kills={kills} duplicates={duplicates}")


@contextlib.asynccontextmanager
async def _own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def _restart_hard(server: EmbeddedRedis) -> None:
    assert server.process is not None
    server.process.kill()
    server.process.wait()
    if server.process.stderr is not None:
        server.process.stderr.close()
    server.process = None
    await asyncio.sleep(0.3)
    await asyncio.to_thread(server.start)


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_redis_killed_and_restarted_mid_burst_loses_nothing(tmp_path: Path) -> None:
    """SIGKILL on redis-server (AOF) halfway through 1,000 alerts: all arrive, ≤ 1 duplicate."""
    keys = Keys("crash")
    alerts = [make_alert(f"Redis story {i}", entry_id=f"r{i}") for i in range(1000)]
    async with _own_redis(tmp_path) as server, http_receiver() as receiver:
        client = client_from_url(server.url)
        settings = Settings(
            sinks=(SinkSettings(name="hook", type="webhook", url=SecretStr(receiver.url),
                                rate_per_second=100_000),),
            subscriptions=(SubscriptionSettings(name="desk", channels=("arms-control",),
                                                sink="hook"),),
            delivery=DeliverySettings(backoff_base=0.05, backoff_max=0.5, group_window=0,
                                      claim_idle=1.0),
        )  # fmt: skip
        [notifier] = build_notifiers(settings, client, keys, consumer="n1")
        stop = asyncio.Event()
        running = asyncio.create_task(notifier.run(stop))
        publisher = client_from_url(server.url)
        for i, alert in enumerate(alerts):
            if i == 500:
                await _restart_hard(server)
            while True:
                try:
                    await publish(publisher, keys, alert)
                    break
                except (RedisError, OSError):
                    await asyncio.sleep(0.05)
        await _wait_for(receiver, len(alerts))
        stop.set()
        await asyncio.wait_for(running, 10)
        await publisher.aclose()
        await client.aclose()
    counts = _ids(receiver)
    assert set(counts) == {a.id for a in alerts}
    assert sum(n - 1 for n in counts.values()) <= 1

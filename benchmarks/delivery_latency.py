"""Delivery throughput and latency: XADD on a channel stream → webhook receipt on 127.0.0.1.

A notifier process (webhook sink, HMAC-signed) reads the stream of an embedded redis-server; this
process publishes alerts and runs the receiving HTTP server. Prints alerts/s at full speed,
p50/p99 latency at a steady 100 alerts/s (target: p99 < 50 ms), and the duplicate window: how
long after the sink accepted an alert its "delivered" marker was written.

Run: ``.venv/bin/python benchmarks/delivery_latency.py [--burst 2000] [--seconds 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.notifier import Notifier
from monitor.alerts.sinks import build_sink
from monitor.config import DeliverySettings, SinkSettings, SubscriptionSettings
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.feeds.entry import Entry
from monitor.rules.match import Severity, Span
from monitor.streams import Keys

KEYS = Keys("bench")


def _alert(i: int) -> Alert:
    entry = Entry(id=f"bench:{i}", feed="bench", feed_url="https://bench.example/feed",
                  guid=str(i), title=f"Benchmark story {i} on the INF Treaty",
                  link=f"https://bench.example/{i}", summary="Talks in Geneva.")  # fmt: skip
    return Alert(id=f"a{i:08d}", channel="bench", rule_id="bench", rule_title="Benchmark",
                 severity=Severity.HIGH, tags=(), entry=entry,
                 spans=(Span("title", 0, 3, "INF", "inf"),))  # fmt: skip


def _notifier_process(
    redis_url: str, hook_url: str, concurrency: int, ready: Any, done: Any, results: Any
) -> None:
    """Child: one notifier on the bench channel until the parent sets ``done``."""

    async def run() -> None:
        client = client_from_url(redis_url)
        sent: dict[str, float] = {}
        windows: list[float] = []

        def checkpoint(stage: str, alert_id: str) -> None:
            if stage == "sent":
                sent[alert_id] = time.perf_counter()
            elif stage == "marked" and alert_id in sent:
                windows.append(time.perf_counter() - sent.pop(alert_id))

        settings = SinkSettings(name="hook", type="webhook", url=SecretStr(hook_url),
                                hmac_secret=SecretStr("bench"), rate_per_second=1e6)  # fmt: skip
        sub = SubscriptionSettings(name="bench", channels=("bench",), sink="hook")
        delivery = DeliverySettings(group_window=0, concurrency=concurrency)
        sink = build_sink(settings, {}, subscription="bench", backoff_max=delivery.backoff_max)
        notifier = Notifier(sub, sink, client, KEYS, delivery, consumer="bench",
                            checkpoint=checkpoint)  # fmt: skip
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(stop))
        ready.set()
        await asyncio.to_thread(done.wait)
        stop.set()
        await task
        await client.aclose()
        results.put(windows)

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(40))
    asyncio.run(run())


class Receiver:
    """Records the arrival time of each alert id."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.event = asyncio.Event()
        self.expected = 0

    async def handle(self, request: web.Request) -> web.Response:
        """Accept a webhook POST."""
        body = json.loads(await request.read())
        self.arrivals.setdefault(body["alert"]["id"], time.perf_counter())
        if len(self.arrivals) >= self.expected:
            self.event.set()
        return web.Response(text="ok")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


async def _publish(client: Any, alert: Alert) -> None:
    fields = {"alert": alert.to_json(), "id": alert.id, "rule": alert.rule_id, "severity": "high"}
    await client.xadd(KEYS.alerts("bench"), fields)


async def bench(burst: int, seconds: float, concurrency: int, verbose: bool = False) -> None:
    """Run both phases and print the numbers."""
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        hook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        ctx = multiprocessing.get_context("spawn")
        ready, done, results = ctx.Event(), ctx.Event(), ctx.Queue()
        child = ctx.Process(
            target=_notifier_process,
            args=(server.url, hook_url, concurrency, ready, done, results),
        )
        child.start()
        await asyncio.to_thread(ready.wait, 30)
        client = client_from_url(server.url)
        await asyncio.sleep(0.5)

        # Phase 1: a burst as fast as Redis takes it.
        receiver.expected = burst
        started = time.perf_counter()
        async with client.pipeline(transaction=False) as pipe:
            for i in range(burst):
                alert = _alert(i)
                pipe.xadd(KEYS.alerts("bench"), {"alert": alert.to_json(), "id": alert.id,
                                                 "rule": "bench", "severity": "high"})  # fmt: skip
            await pipe.execute()
        await asyncio.wait_for(receiver.event.wait(), 120)
        throughput = burst / (time.perf_counter() - started)

        # Phase 2: a steady 100 alerts/s; latency from XADD to receipt.
        count = int(seconds * 100)
        receiver.event.clear()
        receiver.expected = burst + count
        sent_at: dict[str, float] = {}
        t0 = time.perf_counter()
        for n in range(count):
            alert = _alert(burst + n)
            delay = t0 + n / 100 - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent_at[alert.id] = time.perf_counter()
            await _publish(client, alert)
        await asyncio.wait_for(receiver.event.wait(), 60)
        latencies = [(receiver.arrivals[k] - v) * 1000 for k, v in sent_at.items()]
        if verbose:
            for start in range(0, len(latencies), 100):
                part = latencies[start : start + 100]
                print(f"  alerts {start}-{start + len(part)}: p50 {statistics.median(part):.1f} ms")

        done.set()
        windows = await asyncio.to_thread(results.get, True, 30)
        child.join(10)
        await client.aclose()
        await runner.cleanup()
        server.stop()

    print(f"concurrency {concurrency}, load average before: {load[0]:.1f}")
    print(f"burst: {burst} alerts, {throughput:,.0f} alerts/s (XADD → webhook receipt)")
    print(f"steady 100 alerts/s for {seconds:.0f} s: {len(latencies)} alerts, "
          f"p50 {statistics.median(latencies):.2f} ms, p99 {_pct(latencies, 0.99):.2f} ms, "
          f"max {max(latencies):.2f} ms  (target p99 < 50 ms)")  # fmt: skip
    w = [x * 1000 for x in windows]
    print(f"duplicate window (sink accepted → marker written): p50 {statistics.median(w):.3f} ms, "
          f"p99 {_pct(w, 0.99):.3f} ms, max {max(w):.3f} ms over {len(w)} deliveries")  # fmt: skip


def main() -> None:
    """Parse options and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=1, help="sends in flight at once")
    parser.add_argument("--verbose", action="store_true", help="latency per 100 alerts")
    args = parser.parse_args()
    asyncio.run(bench(args.burst, args.seconds, args.concurrency, args.verbose))


if __name__ == "__main__":
    main()

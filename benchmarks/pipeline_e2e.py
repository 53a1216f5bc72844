"""End-to-end throughput and memory of the daemon, everything on 127.0.0.1.

1. Throughput: ``treaty-monitor run`` (all roles, embedded Redis) watches local feeds; a burst of
   new items (half of them the shipped rules' own ``examples.match`` texts, half neutral) is
   published at once; we time fetch → parse → match with the shipped rules → alert delivered to a
   local webhook, until the last expected alert arrived. Also the latency of one lone item.
2. Memory: the same daemon with 1,000 feeds of 20 items each, after every feed was fetched once;
   resident memory of the daemon (target < 200 MB) and of its embedded redis-server.

    .venv/bin/python benchmarks/pipeline_e2e.py [--feeds 200] [--items 10] [--memory-feeds 1000]
        [--workers N] [--concurrency N] [--no-memory]

``--workers`` sets ``[engine] workers`` (0: one per core, 1: the engine in the daemon's loop);
``--concurrency`` the webhook subscription's sends in flight (``delivery.concurrency``). The
issue-13 burst: ``--feeds 200 --items 100 --no-memory`` (20,000 entries, 10,000 alerts).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.feeds.entry import Entry  # noqa: E402
from monitor.rules.loader import load_rule_set  # noqa: E402
from tests.ops_procs import Daemon, webhook_sink  # noqa: E402
from tests.ops_servers import FeedServer, Receiver, wait_for  # noqa: E402

# Each feed is polled every INTERVAL seconds; a burst is seen within one interval.
INTERVAL = 5.0
NEUTRAL = "City council approves budget for new cycling lanes, item {n}"


def shipped_examples() -> tuple[list[str], set[str]]:
    """Texts the shipped rules say they match and still match when published now (an example
    whose stated deadline has passed, "... истекает 5 февраля 2026 года", is no deadline any
    more), and every channel the rules publish to."""
    texts, channels = [], set()
    for path in sorted((ROOT / "rules").glob("*.y*ml")):
        for rule in (yaml.safe_load(path.read_text()) or {}).get("rules", []):
            if rule.get("enabled", True) is False:
                continue
            channels.update(rule.get("channels", []))
            for example in (rule.get("examples") or {}).get("match", []):
                texts.append(_text(example))
    rule_set = load_rule_set([ROOT / "rules"])
    now = datetime.now(UTC)
    return [t for t in texts if t and rule_set.match(_entry(t, now))], channels


def _entry(title: str, now: datetime) -> Entry:
    return Entry(id="example", feed="bench", feed_url="", guid=title, title=title, link="",
                 published=now, fetched_at=now)  # fmt: skip


def _text(example: Any) -> str:
    if isinstance(example, str):
        return example
    if isinstance(example, dict):
        return " ".join(str(example.get(k, "")) for k in ("title", "summary", "content"))
    return ""


def write_config(
    directory: Path, feeds: FeedServer, names: list[str], hook: str, channels: set[str],
    interval: float, workers: int = 0, concurrency: int = 1,
) -> Path:  # fmt: skip
    """All roles in one process, embedded Redis, shipped rules, one webhook on every channel."""
    sink = webhook_sink("bench", hook)
    lines = [
        f'state_dir = "{directory / "state"}"',
        '[log]\nformat = "json"\nlevel = "warning"',
        f"[fetch]\ninterval = {interval}\njitter = 0.0\nconcurrency = 100\n"
        "per_host_concurrency = 100\nallow_private_networks = true",  # one server, many "hosts"
        f'[rules]\ndirs = ["{ROOT / "rules"}"]\nwatch = false',
        f"[engine]\nworkers = {workers}",
        f"[delivery]\ngroup_window = 0\nconcurrency = {concurrency}",
        *(f'[[feeds]]\nname = "{n}"\nurl = "{feeds.url(n)}"' for n in names),
        sink.toml,
        f'[[subscriptions]]\nname = "bench"\nchannels = {json.dumps(sorted(channels))}\n'
        'sink = "bench"',
    ]
    path = directory / "config.toml"
    path.write_text("\n\n".join(lines) + "\n")
    return path


STAGES = (
    "treaty_monitor_entries_total",
    "treaty_monitor_entries_evaluated_total",
    "treaty_monitor_matches_total",
    "treaty_monitor_alerts_published_total",
    "treaty_monitor_alerts_throttled_total",
    "treaty_monitor_deliveries_total",
)


async def print_stages(daemon: Daemon) -> None:
    """Counters of each stage, to see where a shortfall comes from."""
    counts = [f"{name.removeprefix('treaty_monitor_')}={await daemon.metric(name):.0f}"
              for name in STAGES]  # fmt: skip
    print("  stages: " + ", ".join(counts))


def redis_rss(directory: Path) -> int:
    """RSS of the embedded redis-server (found by its socket path in /proc/*/cmdline)."""
    socket = str(directory / "state" / "redis.sock")
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and socket in (proc / "cmdline").read_text():
                status = (proc / "status").read_text()
                return int(next(x.split()[1] for x in status.splitlines() if x.startswith("VmRSS")))
        except OSError:
            continue
    return 0


async def engine_drained(daemon: Daemon, entries: int) -> bool:
    """The fetcher published ``entries`` new entries and the engine group has acknowledged all."""
    if await daemon.metric("treaty_monitor_entries_total") < entries:
        return False
    text = await daemon.metrics_text()
    lag = pending = -1.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("group") == "engine":
                if sample.name == "treaty_monitor_stream_lag":
                    lag = sample.value
                elif sample.name == "treaty_monitor_stream_pending":
                    pending = sample.value
    return lag == 0 and pending == 0


async def throughput(feed_count: int, per_feed: int, workers: int, concurrency: int) -> None:
    """Burst of new entries through the whole pipeline; entries/s and alerts/s."""
    examples, channels = shipped_examples()
    if not examples:
        raise SystemExit("the shipped rules have no examples.match texts to publish")
    feeds, receiver = FeedServer(keep=per_feed + 5), Receiver()
    await feeds.start()
    await receiver.start()
    names = [f"bench-{i}" for i in range(feed_count)]
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_config(
            directory, feeds, names, receiver.url("hook", "bench"), channels, INTERVAL,
            workers, concurrency,
        )  # fmt: skip
        daemon = Daemon("all", config, directory, "bench")
        daemon.start()
        try:
            await daemon.wait_ready(60)
            await asyncio.sleep(2)  # every feed fetched once, empty
            expected, n = [], 0
            for name in names:
                for _ in range(per_feed):
                    if n % 2 == 0:
                        text = examples[(n // 2) % len(examples)]
                        expected.append(feeds.add(name, n, text))
                    else:
                        feeds.add(name, n, NEUTRAL.format(n=n))
                    n += 1
            started = time.monotonic()
            base = await daemon.metric("treaty_monitor_entries_total")
            await wait_for(lambda: engine_drained(daemon, int(base) + n), 300, 0.1)
            drained = time.monotonic() - started
            done = await wait_for(
                lambda: set(expected) <= set(receiver.accepted["hook/bench"]), 300, 0.05
            )
            elapsed = time.monotonic() - started
            seen = max(min(t for t in feeds.fetches[name] if t >= started) for name in names)
            got = len(set(expected) & set(receiver.accepted["hook/bench"]))
            print(f"burst: {n} new entries from {feed_count} feeds, {len(expected)} expected "
                  f"alerts; [engine] workers = {workers}, delivery.concurrency = {concurrency}, "
                  f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
            print(f"  engine drained (every entry evaluated and acknowledged) {drained:.2f} s "
                  f"after the burst: {n / drained:.0f} entries/s")  # fmt: skip
            print(f"  every feed fetched {seen - started:.2f} s after the burst (interval "
                  f"{INTERVAL:.0f} s); all delivered: {done} ({got}/{len(expected)}) after "
                  f"{elapsed:.2f} s")  # fmt: skip
            print(f"  end to end: {n / elapsed:.0f} entries/s, {got / elapsed:.0f} alerts/s")
            await print_stages(daemon)
            latencies = []
            for i in range(5):
                token = feeds.add(names[i], 10_000 + i, examples[i % len(examples)])
                t0 = time.monotonic()
                await wait_for(lambda t=token: t in receiver.accepted["hook/bench"], 30, 0.01)  # type: ignore[misc]
                latencies.append(time.monotonic() - t0)
            print(f"  lone item, publish → webhook: median {sorted(latencies)[2]:.2f} s "
                  f"(includes waiting for the next fetch, up to {INTERVAL:.0f} s)")  # fmt: skip
        finally:
            daemon.stop()
            await feeds.stop()
            await receiver.stop()


async def memory(feed_count: int) -> None:
    """RSS with ``feed_count`` feeds of 20 items, after each was fetched and processed once."""
    examples, channels = shipped_examples()
    feeds, receiver = FeedServer(keep=20), Receiver()
    await feeds.start()
    await receiver.start()
    names = [f"mem-{i}" for i in range(feed_count)]
    for i, name in enumerate(names):
        for n in range(20):
            text = examples[(i + n) % len(examples)] if n == 0 else NEUTRAL.format(n=n)
            feeds.add(name, n, text)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        config = write_config(directory, feeds, names, receiver.url("hook", "m"), channels, 60.0)
        daemon = Daemon("all", config, directory, "mem")
        daemon.start()
        try:
            started = time.monotonic()
            await daemon.wait_ready(120)
            await wait_for(lambda: len(feeds.fetches) >= feed_count, 180, 0.2)
            first_round = time.monotonic() - started
            await wait_for(lambda: len(receiver.accepted["hook/m"]) >= feed_count, 120, 0.5)
            await asyncio.sleep(5)
            peak = daemon.rss_bytes()
            samples = []
            for _ in range(6):
                await asyncio.sleep(5)
                samples.append(daemon.rss_bytes())
            print(
                f"memory: {feed_count} feeds × 20 items, first fetch of all in {first_round:.1f} s"
            )
            print(
                f"  daemon RSS after first round {peak / 2**20:.0f} MB; over the next 30 s "
                + ", ".join(f"{s / 2**20:.0f}" for s in samples)
                + " MB (target < 200 MB)"
            )
            print(f"  embedded redis-server RSS {redis_rss(directory) / 1024:.0f} MB")
            print(f"  alerts delivered: {len(receiver.accepted['hook/m'])}")
        finally:
            daemon.stop()
            await feeds.stop()
            await receiver.stop()


def main() -> None:
    """Run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=10, help="new items per feed in the burst")
    parser.add_argument("--memory-feeds", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=0, help="[engine] workers (0: per core)")
    parser.add_argument("--concurrency", type=int, default=1, help="delivery.concurrency")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory measurement")
    args = parser.parse_args()
    asyncio.run(throughput(args.feeds, args.items, args.workers, args.concurrency))
    if not args.no_memory:
        asyncio.run(memory(args.memory_feeds))


if __name__ == "__main__":
    main()

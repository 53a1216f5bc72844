"""Engine worker processes (``[engine] workers``): supervised, crash-safe, same outcome as one.

Each test runs a real ``python -m monitor run --role engine`` daemon against the test Redis and
publishes entries straight into the entries stream, as the fetcher would.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import os
import signal
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from monitor.cli.status_cmd import gather, render, report_dict
from monitor.engine_workers import restart_delay, worker_count
from monitor.events.actors import load_actors
from monitor.events.extract import extractor_for
from monitor.rules.loader import load_rule_set
from monitor.streams import ENGINE_GROUP, Keys
from tests.engine_workers_helpers import (
    alerts,
    drained,
    engine_config,
    entry,
    outcome,
    publish,
    workers_of,
)
from tests.ops_procs import MATCHING, NOT_MATCHING, Daemon
from tests.ops_servers import wait_for

PACK = Path(__file__).resolve().parent.parent / "rules"
OUTLETS = 8


@pytest.mark.parametrize(
    ("configured", "available", "expected"),
    [(0, 2, 2), (0, 8, 8), (0, 0, 1), (1, 8, 1), (3, 2, 3)],
)
def test_workers_zero_means_one_per_core_and_any_other_number_is_taken_as_given(
    configured: int, available: int, expected: int
) -> None:
    """0 follows the cores the daemon may use; an explicit count is kept, even above them."""
    assert worker_count(configured, available) == expected


def test_a_worker_that_keeps_failing_waits_longer_each_time_up_to_a_minute() -> None:
    """Restart delays grow with quick failures in a row and stop growing at the cap."""
    delays = [restart_delay(n, 0.5) for n in range(1, 10)]
    assert delays == sorted(delays)
    assert delays[0] < 2.0
    assert delays[-1] == pytest.approx(45.0)  # the 60 s cap, "equal jitter" at 0.5


async def test_status_lists_each_engine_worker_under_its_daemon_with_its_entry_count(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The daemon's row says how many workers it runs; each worker's row its number and count."""
    now = time.time()
    daemon = {"role": "engine", "pid": 10, "host": "h", "at": now, "engine_workers": 2}
    await redis_client.hset(keys.heartbeats, "h:10", json.dumps(daemon))
    for number, count in ((1, 1234), (2, 56)):
        worker = {"role": "engine", "pid": 10 + number, "host": "h", "at": now,
                  "parent": "h:10", "worker": number, "evaluated": count}  # fmt: skip
        await redis_client.hset(keys.heartbeats, f"h:10/engine-{number}", json.dumps(worker))
    report = await gather(redis_client, keys, now)
    rows = {i["name"]: i for i in report_dict(report)["instances"]}
    assert rows["h:10"]["engine_workers"] == 2
    assert (rows["h:10/engine-1"]["parent"], rows["h:10/engine-1"]["evaluated"]) == ("h:10", 1234)
    assert rows["h:10/engine-2"]["worker"] == 2
    out = io.StringIO()
    render(report, Console(file=out, width=200))
    text = out.getvalue()
    assert "2 workers" in text
    assert "worker 1: 1,234 entries" in text
    assert "worker 2: 56 entries" in text


async def _pid_with_pending(client: aioredis.Redis, keys: Keys, workers: dict[int, dict]) -> int:
    """A worker pid whose consumer holds unacknowledged entries right now, else 0."""
    consumers = await client.xinfo_consumers(keys.entries, ENGINE_GROUP)
    pending = {c["name"]: int(c["pending"]) for c in consumers}
    for record in workers.values():
        name = f"{record['parent']}/engine-{record['worker']}"
        if pending.get(name):
            return int(record["pid"])
    return 0


async def test_a_worker_killed_mid_burst_loses_no_entry_and_doubles_no_alert(
    redis_url: str, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """SIGKILL a worker holding entries: its batch is finished by its restart or the other
    worker, every matching entry alerts once, and the daemon starts a new worker in its place."""
    config = engine_config(tmp_path, redis_url=redis_url, prefix=keys.prefix, workers=2)
    daemon = Daemon("engine", config, tmp_path, "engine")
    burst = [
        entry(n, (MATCHING if n % 2 == 0 else NOT_MATCHING).format(n=n, feed="wire"))
        for n in range(4000)
    ]
    expected = {e.id for n, e in enumerate(burst) if n % 2 == 0}
    daemon.start()
    try:
        await daemon.wait_ready(60)
        assert await wait_for(lambda: _count(daemon, "treaty_monitor_engine_workers", 2), 30)
        workers = await workers_of(redis_client, keys)
        assert sorted(workers) == [1, 2]
        await publish(redis_client, keys, burst)
        killed = 0
        for _attempt in range(200):
            killed = await _pid_with_pending(redis_client, keys, workers)
            if killed:
                os.kill(killed, signal.SIGKILL)
                break
            await asyncio.sleep(0.01)
        assert killed, "no worker held entries while the burst ran"
        assert await wait_for(lambda: drained(redis_client, keys), 90, 0.1), daemon.log_tail()
        assert await wait_for(lambda: _count(daemon, "treaty_monitor_engine_workers", 2), 30)
        restarts = await daemon.metric("treaty_monitor_engine_worker_restarts_total")
        after = await workers_of(redis_client, keys)
    finally:
        code = await daemon.astop()
    published = (await alerts(redis_client, keys))["ops"]
    assert code == 0
    assert Counter(a.entry.id for a in published) == Counter(dict.fromkeys(expected, 1))
    assert restarts == 1
    assert killed not in {int(r["pid"]) for r in after.values()}
    assert sorted(after) == [1, 2]
    assert not await redis_client.hlen(keys.heartbeats)  # workers and daemon deregistered
    for record in after.values():
        with pytest.raises(ProcessLookupError):
            os.kill(int(record["pid"]), 0)


NEW_RULE = """
  - id: ops-treaty-of-quellin
    title: Treaty of Quellin development
    severity: low
    channels: [ops]
    match: Treaty of Quellin
"""


async def test_sighup_to_the_daemon_reloads_the_rules_in_every_worker(
    redis_url: str, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A rule added to the files and a SIGHUP to the daemon: entries read by either worker
    afterwards are matched by the new rule (the files are not watched here)."""
    config = engine_config(tmp_path, redis_url=redis_url, prefix=keys.prefix, workers=2)
    daemon = Daemon("engine", config, tmp_path, "engine")
    daemon.start()
    try:
        await daemon.wait_ready()
        assert await wait_for(lambda: _count(daemon, "treaty_monitor_engine_workers", 2), 30)
        rule_file = tmp_path / "rules" / "ops.yaml"
        rule_file.write_text(rule_file.read_text() + NEW_RULE)
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        log = tmp_path / "engine.log"
        assert await wait_for(lambda: log.read_text().count('"rules_reloaded"') >= 3, 60), (
            daemon.log_tail()
        )  # the daemon's own reload and each worker's
        burst = [
            entry(n, f"Signatories meet on the Treaty of Quellin, round {n}") for n in range(300)
        ]
        await publish(redis_client, keys, burst)
        assert await wait_for(lambda: drained(redis_client, keys), 60, 0.1), daemon.log_tail()
        name = "treaty_monitor_engine_worker_entries_evaluated_total"
        await wait_for(lambda: _count(daemon, name, len(burst)), 10)  # the last reports
        shares = await _per_worker(daemon, name)
    finally:
        assert await daemon.astop() == 0
    published = (await alerts(redis_client, keys))["ops"]
    assert sorted(a.entry.id for a in published) == sorted(e.id for e in burst)
    assert {a.rule_id for a in published} == {"ops-treaty-of-quellin"}
    assert sum(shares.values()) == len(burst), shares


@functools.cache
def _pack_titles() -> list[str]:
    """Shipped-pack example titles, one per named treaty.

    Reports of different treaties never share a story, so the stories cannot depend on the order
    the entries are read in. (Reports of one treaty can: story choice is greedy, and with A like
    B and B like C but A unlike C, who comes first decides, with one consumer as with several.)
    """
    import yaml

    rules = load_rule_set([PACK])
    extractor = extractor_for(rules, load_actors())
    chosen: dict[str, str] = {}
    for path in sorted(PACK.glob("*.y*ml")):
        for rule in (yaml.safe_load(path.read_text()) or {}).get("rules", []):
            for example in (rule.get("examples") or {}).get("match", []):
                if not isinstance(example, str):
                    continue
                item = entry(0, example)
                event = extractor.event(item, rules.match(item))
                if event is not None and event.treaty is not None:
                    chosen.setdefault(event.treaty, example)
    return sorted(chosen.values())


async def _run_corpus(
    redis_url: str, client: aioredis.Redis, prefix: str, workers: int, tmp_path: Path
) -> dict[str, object]:
    """Every pack example reported by OUTLETS outlets, through a daemon with ``workers``."""
    keys = Keys(prefix)
    titles = _pack_titles()
    corpus = [
        entry(n, title, feed=f"outlet-{outlet}", minutes=outlet * 7)
        for outlet in range(OUTLETS)
        for n, title in enumerate(titles)
    ]
    directory = tmp_path / f"w{workers}"
    directory.mkdir()
    config = engine_config(
        directory, redis_url=redis_url, prefix=prefix, workers=workers, rules=PACK
    )
    daemon = Daemon("engine", config, directory, f"engine-{workers}")
    daemon.start()
    try:
        await daemon.wait_ready(60)
        await publish(client, keys, corpus)
        assert await wait_for(lambda: drained(client, keys), 90, 0.1), daemon.log_tail()
        name = "treaty_monitor_engine_worker_entries_evaluated_total"
        if workers > 1:  # the workers report every second: wait for the last reports
            await wait_for(lambda: _count(daemon, name, len(corpus)), 10)
        per_worker = await daemon.metric(name)
        shares = await _per_worker(daemon, name)
    finally:
        assert await daemon.astop() == 0
    result = await outcome(client, keys, lambda entry_id: entry_id.split(":")[1])
    result["per_worker"], result["shares"] = per_worker, shares
    return result


# Three engines (one in-process, two workers) each compile the whole pack cold: more than the
# suite's default two minutes on a busy 2-core machine.
@pytest.mark.timeout(300)
async def test_one_and_two_workers_leave_the_same_stories_alerts_and_records_in_redis(
    redis_url: str, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """The same corpus through one in-process engine and through two worker processes: the
    same stories (by members), the same alerts per channel (rule and story), the same records."""
    one = await _run_corpus(redis_url, redis_client, f"{keys.prefix}a", 1, tmp_path)
    two = await _run_corpus(redis_url, redis_client, f"{keys.prefix}b", 2, tmp_path)
    assert one["alerts"], "the corpus raised no alert"
    assert sum(one["stories"].values()) == len(_pack_titles())  # type: ignore[attr-defined]
    assert one["per_worker"] == 0  # in-process: no worker processes
    # every entry read by a worker; on a busy machine an entry left pending too long is claimed
    # by the other worker and read again (counted twice, alerted once: the checks below)
    assert two["per_worker"] >= OUTLETS * len(_pack_titles())
    assert sorted(two["shares"]) == ["1", "2"]  # type: ignore[call-overload]
    assert all(share > 0 for share in two["shares"].values()), two["shares"]  # type: ignore[attr-defined]
    for part in ("stories", "alerts", "matched"):
        assert one[part] == two[part], part


async def _count(daemon: Daemon, name: str, value: float) -> bool:
    return await daemon.metric(name) == value


async def _per_worker(daemon: Daemon, name: str) -> dict[str, float]:
    """One metric's value per ``worker`` label."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(daemon.url + "/metrics") as response,
    ):
        text = await response.text()
    return {
        sample.labels["worker"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }

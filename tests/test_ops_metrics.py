"""The /metrics exposition passes ``promtool check metrics`` and keeps Prometheus healthy: no
family named twice, no series per rule-set version, fetch_seconds buckets up to the fetch timeout.

The exposition comes from the daemon's own endpoint (``serve_health``) over real HTTP, backed by a
real Redis seeded with every kind of state, after every metric of the registry was touched once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections import Counter

import aiohttp
import pydantic
import pytest
import redis.asyncio as aioredis
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from monitor import metrics
from monitor.config import FETCH_TIMEOUT_MAX, FetchSettings
from monitor.health import HealthState, expand_roles, serve_health
from monitor.streams import Keys
from tests.ops_helpers import seed_pipeline

# .ci/run installs promtool and sets this, so CI fails rather than skips when it is missing.
REQUIRED = os.environ.get("TREATY_MONITOR_REQUIRE_PROMTOOL") == "1"
PROMTOOL = shutil.which("promtool")


def _touch_every_metric() -> None:
    """One child per labelled metric, so every family of the registry shows samples."""
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            names = getattr(metric, "_labelnames", ())  # prometheus-client keeps them private
            if names:
                metric.labels(*["promtool-check"] * len(names))


async def _exposition(
    client: aioredis.Redis, keys: Keys, version: str = "r-abc123", *, seed: bool = True
) -> str:
    if seed:
        await seed_pipeline(client, keys, time.time())
    await client.hset(keys.rules_status, mapping={"version": version})
    _touch_every_metric()
    state = HealthState(roles=("all",), ready=True, rules_version=version)
    for role in expand_roles(("all",)):
        state.beat(role)
    async with serve_health(state, client, keys, "127.0.0.1:0") as endpoint:
        assert endpoint is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(endpoint.url + "/metrics") as response,
        ):
            assert response.status == 200
            return await response.text()


@pytest.mark.skipif(PROMTOOL is None and not REQUIRED, reason="promtool not installed")
async def test_promtool_finds_nothing_to_complain_about(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """``promtool check metrics`` on the daemon's /metrics exits 0 and prints no lint problem."""
    assert PROMTOOL is not None, "promtool missing (Debian package prometheus)"
    text = await _exposition(redis_client, keys)
    proc = await asyncio.create_subprocess_exec(
        PROMTOOL, "check", "metrics", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(text.encode()), 60)
    assert proc.returncode == 0, out.decode()
    assert out.decode() == ""


async def test_no_two_metrics_share_a_family_name(redis_client: aioredis.Redis, keys: Keys) -> None:
    """A counter's family is its name without _total; no gauge may have that name too."""
    text = await _exposition(redis_client, keys)
    names = Counter(family.name for family in text_string_to_metric_families(text))
    assert [name for name, count in names.items() if count > 1] == []


async def test_no_series_carries_the_rule_set_version(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A new rule set changes values, never the set of series (no label grows with versions)."""
    first = await _exposition(redis_client, keys, version="r-first")
    second = await _exposition(redis_client, keys, version="r-second", seed=False)

    def series(text: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        return {
            (sample.name, tuple(sorted(sample.labels.items())))
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if not sample.name.startswith("process_")
        }

    assert "r-first" not in first
    assert series(first) == series(second)


async def test_fetch_seconds_buckets_reach_the_longest_fetch_timeout(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The largest finite bucket is at least the longest fetch.timeout the config accepts."""
    text = await _exposition(redis_client, keys)
    [family] = [f for f in text_string_to_metric_families(text) if f.name.endswith("fetch_seconds")]
    bounds = [float(s.labels["le"]) for s in family.samples if s.name.endswith("_bucket")]
    finite = max(b for b in bounds if b != float("inf"))
    assert finite >= FETCH_TIMEOUT_MAX >= FetchSettings().timeout
    with pytest.raises(pydantic.ValidationError):
        FetchSettings(timeout=FETCH_TIMEOUT_MAX + 1)

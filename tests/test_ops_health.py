"""The health endpoint: /healthz, /readyz and /metrics over real HTTP against a real Redis."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from monitor.connections import client_from_url
from monitor.errors import ConfigError
from monitor.health import HealthState, expand_roles, parse_listen, serve_health
from monitor.metrics import ENTRIES_EVALUATED
from monitor.streams import Keys
from tests.ops_helpers import CHANNEL, SUBSCRIPTION, seed_pipeline


def ready_state(roles: tuple[str, ...] = ("all",)) -> HealthState:
    """A state as the daemon leaves it once started: rules loaded, every role just beat."""
    state = HealthState(roles=roles, ready=True, rules_version="r-1")
    for role in expand_roles(roles):
        state.beat(role)
    return state


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"ready": False}, "not started or stopping"),
        ({"rules_version": "", "rules_error": "rules/x.yaml:3: bad"}, "rules not loaded"),
        ({"last_beat": {"fetcher": 0.0, "engine": 0.0}}, "role notifier loop stalled"),
    ],
)
def test_readiness_names_what_is_wrong(change: dict[str, object], reason: str) -> None:
    """Each unmet condition shows up as a reason; the rest stay quiet."""
    state = ready_state()
    for name, value in change.items():
        setattr(state, name, value)
    reasons = state.reasons(now=30.0 if "last_beat" in change else time.monotonic(), redis_ok=True)
    assert len(reasons) == 1
    assert reasons[0].startswith(reason)


def test_a_fetcher_only_process_needs_no_rules() -> None:
    """Rules are an engine concern: a fetcher without a rule set is ready."""
    state = ready_state(("fetcher",))
    state.rules_version = ""
    assert state.reasons(time.monotonic(), redis_ok=True) == []


def test_a_role_that_stops_beating_turns_stale() -> None:
    """A loop silent for longer than stale_after is stale; alive() follows."""
    state = HealthState(roles=("engine",), stale_after=10.0)
    state.beat("engine", now=100.0)
    assert state.alive(105.0)
    assert not state.alive(111.0)
    assert state.stale_roles(111.0) == ["engine"]


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("[::1]:0", ("::1", 0)),
        (":9464", ("0.0.0.0", 9464)),
    ],
)
def test_listen_addresses_are_parsed(listen: str, expected: tuple[str, int]) -> None:
    """host:port, [v6]:port and :port are understood."""
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["localhost", "127.0.0.1:http", "1.2.3.4:70000"])
def test_bad_listen_addresses_are_config_errors(listen: str) -> None:
    """A malformed http.listen names the setting."""
    with pytest.raises(ConfigError, match=r"http\.listen"):
        parse_listen(listen)


async def get(url: str) -> tuple[int, str]:
    """GET one URL; status and body text."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


async def test_healthz_and_readyz_answer_over_http(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """/healthz is 200 at once; /readyz turns from 503 to 200 when the daemon is ready."""
    state = HealthState(roles=("engine",))
    async with serve_health(state, redis_client, keys, "127.0.0.1:0") as endpoint:
        assert endpoint is not None
        assert (await get(endpoint.url + "/healthz"))[0] == 200
        status, body = await get(endpoint.url + "/readyz")
        assert status == 503
        assert "rules not loaded" in body
        state.ready, state.rules_version = True, "r-1"
        state.beat("engine")
        status, body = await get(endpoint.url + "/readyz")
        assert (status, '"ready"' in body) == (200, True)


async def test_readyz_fails_when_redis_does_not_answer(tmp_path: Path, keys: Keys) -> None:
    """A Redis that is gone makes /readyz 503 while /healthz stays 200."""
    dead = client_from_url(f"unix://{tmp_path / 'nobody.sock'}")
    try:
        async with serve_health(ready_state(), dead, keys, "127.0.0.1:0") as endpoint:
            assert endpoint is not None
            assert (await get(endpoint.url + "/healthz"))[0] == 200
            status, body = await get(endpoint.url + "/readyz")
            assert status == 503
            assert "redis does not answer" in body
            status, body = await get(endpoint.url + "/metrics")
            assert status == 200
            assert "treaty_monitor_redis_up 0.0" in body
    finally:
        await dead.aclose()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Parsed Prometheus text: (sample name, sorted labels) → value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_report_lag_dead_letters_staleness_and_rules_from_redis(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """/metrics carries the registry plus gauges read from Redis at scrape time."""
    now = time.time()
    await seed_pipeline(redis_client, keys, now)
    ENTRIES_EVALUATED.inc()
    async with serve_health(ready_state(), redis_client, keys, "127.0.0.1:0") as endpoint:
        assert endpoint is not None
        status, text = await get(endpoint.url + "/metrics")
    assert status == 200
    got = samples(text)
    entries = (("group", "engine"), ("stream", keys.entries))
    alerts = (("group", f"sub:{SUBSCRIPTION}"), ("stream", keys.alerts(CHANNEL)))
    assert got[("treaty_monitor_stream_lag", entries)] == 2
    assert got[("treaty_monitor_stream_pending", entries)] == 2
    assert got[("treaty_monitor_stream_lag", alerts)] == 2
    assert got[("treaty_monitor_stream_pending", alerts)] == 0
    assert got[("treaty_monitor_dead_letters", ())] == 1
    assert 4000 <= got[("treaty_monitor_feed_staleness_seconds", (("feed", "failing"),))] < 4100
    assert ("treaty_monitor_feed_staleness_seconds", (("feed", "new"),)) not in got
    assert got[("treaty_monitor_feed_consecutive_errors", (("feed", "failing"),))] == 3
    assert got[("treaty_monitor_rules_reload_ok", ())] == 1
    assert got[("treaty_monitor_redis_up", ())] == 1
    assert got[("treaty_monitor_entries_evaluated_total", ())] >= 1
    assert got[("process_resident_memory_bytes", ())] > 0


async def test_a_failed_rule_reload_shows_in_metrics(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """rules_reload_ok drops to 0 when the rules hash carries an error."""
    await redis_client.hset(keys.rules_status, mapping={"version": "r-1", "error": "bad yaml"})
    async with serve_health(ready_state(), redis_client, keys, "127.0.0.1:0") as endpoint:
        assert endpoint is not None
        _, text = await get(endpoint.url + "/metrics")
    assert samples(text)[("treaty_monitor_rules_reload_ok", ())] == 0


async def test_no_listen_address_means_no_endpoint(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """http.listen unset: serve_health yields None and binds nothing."""
    async with serve_health(HealthState(), redis_client, keys, None) as endpoint:
        assert endpoint is None


async def test_a_port_in_use_is_a_config_error(redis_client: aioredis.Redis, keys: Keys) -> None:
    """Binding an occupied port fails with a ConfigError naming http.listen."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=r"http\.listen"):
            async with serve_health(HealthState(), redis_client, keys, f"127.0.0.1:{port}"):
                pass

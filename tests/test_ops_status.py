"""``treaty-monitor status`` and the Redis readings behind it."""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from rich.console import Console

from monitor import observe
from monitor.cli.status_cmd import ago, gather, plain, render, report_dict
from monitor.streams import Keys
from tests.ops_helpers import CHANNEL, SUBSCRIPTION, make_alert, seed_pipeline


async def test_gather_reads_feeds_lag_dead_letters_rules_and_instances(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The report reflects exactly what the pipeline left in Redis."""
    now = time.time()
    await seed_pipeline(redis_client, keys, now)
    report = report_dict(await gather(redis_client, keys, now))
    feeds = {f["name"]: f for f in report["feeds"]}
    assert feeds["fresh"]["staleness_seconds"] == pytest.approx(30, abs=1)
    assert feeds["failing"]["errors"] == 3
    assert feeds["failing"]["last_error"] == "timeout after 30s"
    assert feeds["new"]["last_success"] is None
    streams = {(s["stream"], s["group"]): s for s in report["streams"]}
    assert streams[(keys.entries, "engine")]["lag"] == 2
    assert streams[(keys.entries, "engine")]["pending"] == 2
    assert streams[(keys.alerts(CHANNEL), f"sub:{SUBSCRIPTION}")]["lag"] == 2
    assert report["dead_letters"] == 1
    assert report["rules"] == {
        "version": "r-abc123",
        "loaded_at": pytest.approx(now - 60),
        "error": None,
        "ok": True,
    }
    assert [(i["role"], i["pid"]) for i in report["instances"]] == [("engine", 7), ("fetcher", 101)]
    assert [a["entry"]["guid"] for a in report["last_alerts"][CHANNEL]] == ["1", "0"]


async def test_lag_counts_only_entries_the_group_has_not_read(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Lag is the number of entries after the group's last delivered id."""
    for n in range(7):
        await redis_client.xadd(keys.entries, {"n": str(n)})
    await redis_client.xgroup_create(keys.entries, "engine", id="0")
    await redis_client.xreadgroup("engine", "c", {keys.entries: ">"}, count=4)
    [group] = await observe.stream_groups(redis_client, keys.entries)
    assert (group.lag, group.pending, group.consumers) == (3, 4, 1)


async def test_an_empty_redis_gives_an_empty_report(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Before anything ran, status shows nothing rather than failing."""
    report = await gather(redis_client, keys, time.time())
    assert (report.feeds, report.lags, report.dead_letters) == ((), (), 0)
    assert not report.rules.ok


async def test_hostile_alert_titles_reach_the_terminal_as_plain_text(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Rich markup and escape sequences in feed text are shown inert, not interpreted."""
    title = "[bold red]FAKE[/] \x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\ \x1b[2J"
    await redis_client.sadd(keys.channels, CHANNEL)
    await redis_client.xadd(keys.alerts(CHANNEL), {"alert": make_alert(1, title).to_json()})
    out = io.StringIO()
    render(await gather(redis_client, keys, time.time()), Console(file=out, width=300))
    text = out.getvalue()
    assert "[bold red]FAKE[/]" in text
    assert "\x1b" not in text


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a\tb\nc", "a b c"), ("x\u202ey", "x y"), ("é", "é"), ("y" * 90, "y" * 79 + "…")],
)
def test_plain_strips_controls_and_caps_length(value: str, expected: str) -> None:
    """Control and bidi characters become spaces; long text is cut with an ellipsis."""
    assert plain(value) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"), [(None, "never"), (5, "5s"), (125, "2m"), (7300, "2h"), (90000, "1d")]
)
def test_ages_read_in_the_largest_whole_unit(seconds: float | None, expected: str) -> None:
    """Durations are rounded down to one unit."""
    assert ago(seconds) == expected


async def test_status_command_prints_json_from_the_configured_redis(
    redis_client: aioredis.Redis, redis_url: str, keys: Keys, tmp_path: Path
) -> None:
    """`treaty-monitor status --format json` reads the Redis and prefix from the config file."""
    await seed_pipeline(redis_client, keys, time.time())
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path}/state"\n[redis]\nurl = "{redis_url}"\nprefix = "{keys.prefix}"\n'
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "status", "--config", str(config), "--format", "json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    report = json.loads(out)
    assert report["dead_letters"] == 1
    assert {f["name"] for f in report["feeds"]} == {"fresh", "failing", "new"}


async def test_status_command_reports_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    """A broken config file exits 2 with one line naming the file."""
    config = tmp_path / "broken.toml"
    config.write_text("[redis\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "status", "--config", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2
    assert str(config) in err.decode()
    assert b"Traceback" not in err

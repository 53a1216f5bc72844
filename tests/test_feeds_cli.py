"""``treaty-monitor feeds`` prints each configured feed's health from Redis."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from monitor.feeds.store import FeedStore
from monitor.streams import Keys


def _run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "feeds", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_feeds_command_shows_health_as_table_and_json(
    tmp_path: Path, redis_url: str, redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A failing feed shows its error class; a never-polled one shows "never" (table, JSON
    array, or one JSON object a line)."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[redis]\nurl = "{redis_url}"\nprefix = "{keys.prefix}"\n\n'
        '[[feeds]]\nname = "wire"\nurl = "https://wire.example/rss"\n\n'
        '[[feeds]]\nname = "quiet"\nurl = "https://quiet.example/rss"\n'
    )
    await FeedStore(redis_client, keys).save(
        "wire",
        {"status": "error", "error_kind": "http_5xx", "last_error": "fetcher: HTTP 503",
         "consecutive_errors": 4, "http_status": 503, "entries_seen": 12},
    )  # fmt: skip
    table = _run(config)
    as_json = _run(config, "--format", "json")
    as_jsonl = _run(config, "--format", "jsonl")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split()[:2] == ["FEED", "STATUS"]
    assert lines[1].split()[:4] == ["wire", "error", "503", "4"]
    assert "http_5xx" in lines[1]
    assert lines[2].split()[:2] == ["quiet", "never"]
    rows = json.loads(as_json.stdout)
    assert [(r["feed"], r["status"], r["consecutive_errors"]) for r in rows] == [
        ("wire", "error", 4),
        ("quiet", "never", 0),
    ]
    assert [json.loads(line) for line in as_jsonl.stdout.splitlines()] == rows


def test_feeds_command_with_a_bad_config_exits_2(tmp_path: Path) -> None:
    """A broken config is one clear message and exit code 2."""
    config = tmp_path / "bad.toml"
    config.write_text('[[feeds]]\nname = "x"\nurl = "gopher://x"\n')
    result = _run(config)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr

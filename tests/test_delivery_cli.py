"""`treaty-monitor subscribe` and `treaty-monitor dlq` against a real Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from monitor.alerts.deadletter import dead_letter_fields
from monitor.cli import _register, cli
from monitor.streams import Keys
from tests.delivery_helpers import make_alert

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config(tmp_path: Path, redis_url: str, keys: Keys) -> Path:
    """A config file pointing at the test Redis under the test's prefix."""
    path = tmp_path / "monitor.toml"
    path.write_text(f'[redis]\nurl = "{redis_url}"\nprefix = "{keys.prefix}"\n')
    return path


@pytest.fixture
def sync_client(redis_url: str) -> redis.Redis:
    """A synchronous client for setting the scene."""
    return redis.Redis.from_url(redis_url, decode_responses=True)


def _publish(client: redis.Redis, keys: Keys, title: str, entry_id: str) -> str:
    alert = make_alert(title, entry_id=entry_id)
    fields = {"alert": alert.to_json(), "id": alert.id, "rule": alert.rule_id, "severity": "high"}
    return str(client.xadd(keys.alerts("arms-control"), fields))  # type: ignore[arg-type]


def _run(*args: str) -> tuple[int, str, str]:
    _register()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_subscribe_since_0_replays_the_channel_as_jsonl(
    config: Path, sync_client: redis.Redis, keys: Keys
) -> None:
    """Every alert already in the stream, one JSON object each, with its stream id."""
    first = _publish(sync_client, keys, "First story", "s1")
    _publish(sync_client, keys, "Second story", "s2")
    code, out, _ = _run("subscribe", "arms-control", "--since", "0", "--format", "jsonl",
                        "--count", "2", "--config", str(config))  # fmt: skip
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["entry"]["title"] for r in rows] == ["First story", "Second story"]
    assert rows[0]["stream_id"] == first
    assert rows[0]["channel"] == "arms-control"


def test_subscribe_text_is_readable_and_free_of_feed_escapes(
    config: Path, sync_client: redis.Redis, keys: Keys
) -> None:
    """The text format prints the console block with escapes stripped."""
    _publish(sync_client, keys, "\x1b]0;owned\x07INF \x1b[31mtalks", "s1")
    code, out, _ = _run("subscribe", "arms-control", "--since", "0", "--count", "1",
                        "--config", str(config))  # fmt: skip
    assert code == 0
    assert out.startswith("[HIGH] inf-talks · INF talks\n")
    assert "\x1b" not in out


def test_subscribe_tails_only_new_alerts_live(
    config: Path, sync_client: redis.Redis, keys: Keys
) -> None:
    """Without --since, alerts already in the stream are skipped and new ones printed."""
    _publish(sync_client, keys, "Old story", "old")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "subscribe", "arms-control", "--format", "jsonl",
         "--count", "1", "--config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not any(c.get("cmd") == "xread" for c in sync_client.client_list()):
            assert time.monotonic() < deadline, "subscribe never started reading"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        _publish(sync_client, keys, "Fresh story", "new")
        out, _err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert [json.loads(line)["entry"]["title"] for line in out.splitlines()] == ["Fresh story"]


@pytest.mark.parametrize("since", ["yesterday", "-1", "1-2-3"])
def test_subscribe_rejects_a_bad_since_with_exit_2(config: Path, since: str) -> None:
    """A malformed stream id is a usage error naming the option."""
    code, _, err = _run("subscribe", "x", "--since", since, "--config", str(config))
    assert code == 2
    assert "--since" in err


def _dead(client: redis.Redis, keys: Keys, title: str, *, alert: bool = True) -> str:
    payload = make_alert(title, entry_id=title).to_json() if alert else ""
    fields = dead_letter_fields(
        alert=payload, subscription="desk", error="slack: HTTP 404 no_service", attempts=1,
        sink="slack", channel="arms-control", stream_id="1-0", now=datetime.now(UTC),
    )  # fmt: skip
    return str(client.xadd(keys.dead_letters, fields))  # type: ignore[arg-type]


def test_dlq_list_shows_every_dead_letter(
    config: Path, sync_client: redis.Redis, keys: Keys
) -> None:
    """Text names subscription, sink, attempts, title and error; jsonl carries the alert."""
    first = _dead(sync_client, keys, "Lost story")
    _dead(sync_client, keys, "gone", alert=False)
    code, out, _ = _run("dlq", "list", "--config", str(config))
    assert code == 0
    assert f"{first}  desk → slack  attempts=1" in out
    assert "[inf-talks] Lost story" in out
    assert "(payload missing)" in out
    code, out, _ = _run("dlq", "list", "--format", "jsonl", "--config", str(config))
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["alert"]["entry"]["title"] == "Lost story"
    assert rows[0]["error"] == "slack: HTTP 404 no_service"


def test_dlq_replay_puts_the_alert_back_for_its_subscription_only(
    config: Path, sync_client: redis.Redis, keys: Keys
) -> None:
    """Replay moves the alert to its channel stream tagged with its subscription."""
    letter = _dead(sync_client, keys, "Lost story")
    code, out, _ = _run("dlq", "replay", letter, "--config", str(config))
    assert code == 0
    assert "replayed 1" in out
    assert sync_client.xlen(keys.dead_letters) == 0
    [(_id, fields)] = sync_client.xrange(keys.alerts("arms-control"))
    assert fields["subscription"] == "desk"
    assert json.loads(fields["alert"])["entry"]["title"] == "Lost story"


def test_dlq_replay_of_an_unknown_id_fails(config: Path) -> None:
    """A missing id is reported with a non-zero exit."""
    code, _, err = _run("dlq", "replay", "1-1", "--config", str(config))
    assert code == 1
    assert "not found" in err


def test_dlq_drop_by_id_or_all_and_refuses_neither(
    config: Path, sync_client: redis.Redis, keys: Keys
) -> None:
    """Drop deletes the named letters, --all deletes the rest; no target is a usage error."""
    one = _dead(sync_client, keys, "a")
    _dead(sync_client, keys, "b")
    _dead(sync_client, keys, "c")
    assert _run("dlq", "drop", one, "--config", str(config))[1] == "dropped 1 dead letter(s)\n"
    assert _run("dlq", "drop", "--all", "--config", str(config))[1] == "dropped 2 dead letter(s)\n"
    assert sync_client.xlen(keys.dead_letters) == 0
    code, _, err = _run("dlq", "drop", "--config", str(config))
    assert code == 2
    assert "--all" in err

"""The quick start: the example config alerts on the bundled sample feed, and Ctrl-C stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from monitor.streams import Keys


def _example_config(repo_root: Path, tmp_path: Path) -> Path:
    """config.example.toml with state and rules made absolute, and no HTTP port to clash."""
    text = (repo_root / "config.example.toml").read_text()
    text = text.replace('state_dir = "state"', f'state_dir = "{tmp_path / "state"}"')
    text = text.replace('listen = "127.0.0.1:9464"', 'listen = ""')
    text = text.replace(
        'url = "examples/sample-feed.xml"', f'url = "{repo_root}/examples/sample-feed.xml"'
    )
    text = text.replace('dirs = ["rules"]', f'dirs = ["{repo_root / "rules"}"]')
    config = tmp_path / "config.toml"
    config.write_text(text)
    return config


def _run_until_alert(config: Path, out: Path) -> tuple[subprocess.Popen[bytes], float]:
    started = time.monotonic()
    process = _start(config, out)
    while time.monotonic() - started < 90 and process.poll() is None:
        if "matched:" in out.read_text(errors="replace"):
            break
        time.sleep(0.1)
    return process, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_the_example_config_prints_readable_alerts_and_stops_on_ctrl_c(
    repo_root: Path, tmp_path: Path
) -> None:
    """Alerts show rule, severity, title, source, link and matched terms; SIGINT exits 0."""
    out = tmp_path / "stdout.txt"
    process, _elapsed = _run_until_alert(_example_config(repo_root, tmp_path), out)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    text = out.read_text()
    assert "INF" in text
    assert "[HIGH]" in text or "[CRITICAL]" in text
    assert "source:   sample" in text
    assert "link:     https://example.org/treaty-desk/" in text
    assert "matched:" in text
    assert "cash withdrawal" not in text.lower()
    assert not (tmp_path / "state" / "redis.sock").exists()  # embedded Redis stopped with us


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_restart_on_the_same_state_does_not_alert_again(repo_root: Path, tmp_path: Path) -> None:
    """Entries seen before the restart are remembered in the embedded Redis's AOF."""
    config = _example_config(repo_root, tmp_path)
    process, _ = _run_until_alert(config, tmp_path / "first.txt")
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    assert (tmp_path / "state" / "appendonly.aof").exists() or list(
        (tmp_path / "state").glob("appendonlydir/*")
    )
    second = tmp_path / "second.txt"
    restarted = time.time()
    process = _start(config, second)
    try:
        assert _polled_since(tmp_path / "state" / "redis.sock", restarted), "no poll after restart"
        time.sleep(1)  # let the engine and notifier see anything the poll published
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert "matched:" not in second.read_text()


def _start(
    config: Path, out: Path, *, logs_too: bool = False, **env_extra: str
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TREATY_MONITOR_")}
    with out.open("wb") as stdout:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=stdout,
            stderr=subprocess.STDOUT if logs_too else subprocess.DEVNULL,
            env={**env, "PYTHONUNBUFFERED": "1", **env_extra},
        )


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_terminal_shows_alert_blocks_and_a_minutely_activity_line_not_per_alert_logs(
    repo_root: Path, tmp_path: Path
) -> None:
    """Console logs drop per-alert events; the activity line says what the daemon did."""
    out = tmp_path / "terminal.txt"
    process = _start(
        _example_config(repo_root, tmp_path),
        out,
        logs_too=True,
        TREATY_MONITOR_LOG__FORMAT="console",
        TREATY_MONITOR_LOG__ACTIVITY_EVERY="2s",
    )
    try:
        deadline = time.monotonic() + 90
        text = ""
        while time.monotonic() < deadline and process.poll() is None:
            text = out.read_text(errors="replace")
            if "matched:" in text and "alerts_delivered=" in text.split("matched:", 1)[1]:
                break
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert "matched:" in text
    assert "daemon_activity" in text
    for chatter in ("alert_published", "alert_delivered", "feed_entries_new"):
        assert chatter not in text
    assert re.search(r"alerts_published=[1-9]", text), text[-2000:]


def _polled_since(socket: Path, since: float) -> bool:
    """Wait (bounded) until the sample feed's state records a fetch attempt after ``since``."""
    import redis

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if socket.exists():
            client = redis.Redis(unix_socket_path=str(socket), decode_responses=True)
            try:
                attempt = client.hget(Keys("tm").feed_state("sample"), "last_attempt")
            except redis.RedisError:
                attempt = None
            finally:
                client.close()
            if attempt and float(attempt) >= since:
                return True
        time.sleep(0.2)
    return False

"""``treaty-monitor run`` defaults: the shipped rule pack without a [rules] section or a config,
and an empty rule directory that the daemon starts on and fills while it runs."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from monitor.rules.loader import load_rule_set, shipped_rules_dir
from tests.ops_procs import Daemon

RULE = """\
version: 1
rules:
  - id: late-arrival
    title: A rule added while the daemon runs
    severity: low
    channels: [desk]
    match: Zorvath Accord
"""


async def _wait_metric(daemon: Daemon, name: str, value: float, within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    seen = None
    while time.monotonic() < deadline:
        seen = await daemon.metric(name)
        if seen == value:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{name} = {seen}, wanted {value}:\n{daemon.log_tail()}")


def _events(daemon: Daemon) -> list[dict[str, object]]:
    lines = (daemon.log_dir / f"{daemon.name}.log").read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_run_without_any_config_uses_the_shipped_rule_pack(tmp_path: Path) -> None:
    """No config file and no rules/ in the working directory: the engine runs the shipped pack."""
    shipped = len(load_rule_set([shipped_rules_dir()]).rules)
    daemon = Daemon("engine", None, tmp_path, "engine", cwd=tmp_path)
    daemon.start()
    try:
        await daemon.wait_ready()
        assert await daemon.metric("treaty_monitor_rules_loaded") == shipped
    finally:
        assert await daemon.astop() == 0
    assert not (tmp_path / "rules").exists()


async def test_a_config_without_a_rules_section_uses_the_shipped_rule_pack(tmp_path: Path) -> None:
    """A config that does not mention [rules] means the shipped pack, wherever the file lives."""
    config = tmp_path / "elsewhere" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n')
    daemon = Daemon("engine", config, tmp_path, "engine", cwd=tmp_path)
    daemon.start()
    try:
        await daemon.wait_ready()
        assert await daemon.metric("treaty_monitor_rules_loaded") > 0
    finally:
        assert await daemon.astop() == 0


async def test_an_empty_rule_directory_starts_with_a_warning_and_picks_up_new_files(
    tmp_path: Path,
) -> None:
    """Start on an empty rules/ (warned, 0 rules, ready); a file added later is loaded."""
    (tmp_path / "rules").mkdir()
    config = tmp_path / "config.toml"
    config.write_text('state_dir = "state"\n[rules]\ndirs = ["rules"]\nwatch = true\n')
    daemon = Daemon("engine", config, tmp_path, "engine", cwd=tmp_path)
    daemon.start()
    try:
        await daemon.wait_ready()
        assert await daemon.metric("treaty_monitor_rules_loaded") == 0
        warned = [e for e in _events(daemon) if e.get("event") == "rules_empty"]
        assert warned
        assert warned[0]["level"] == "warning"
        (tmp_path / "rules" / "desk.yaml").write_text(RULE)
        await _wait_metric(daemon, "treaty_monitor_rules_loaded", 1)
    finally:
        assert await daemon.astop() == 0


async def test_the_daemon_warns_at_start_about_a_subscription_nothing_publishes_to(
    tmp_path: Path,
) -> None:
    """A subscription to a channel no rule publishes is logged once at start, not silent."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "desk.yaml").write_text(RULE)
    config = tmp_path / "config.toml"
    config.write_text(
        'state_dir = "state"\n[rules]\ndirs = ["rules"]\n\n'
        '[[subscriptions]]\nname = "desk"\nchannels = ["arms-control"]\nsink = "console"\n'
    )
    daemon = Daemon("engine", config, tmp_path, "engine", cwd=tmp_path)
    daemon.start()
    try:
        await daemon.wait_ready()
    finally:
        assert await daemon.astop() == 0
    [warning] = [e for e in _events(daemon) if e.get("event") == "config_problem"]
    assert warning["level"] == "warning"
    assert "'arms-control', which no rule publishes" in str(warning["problem"])

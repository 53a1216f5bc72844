"""``treaty-monitor config check``: the config and its rules validated together."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from monitor.config import load_settings
from monitor.configcheck import cross_check

RULE = """\
version: 1
rules:
  - id: accord
    title: Accord news
    severity: high
    channels: [treaties]
    match: Zorvath Accord
"""


def _check(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "config", "check", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=cwd,
    )  # fmt: skip


def _config(tmp_path: Path, body: str) -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "accord.yaml").write_text(RULE)
    path = tmp_path / "config.toml"
    path.write_text('[rules]\ndirs = ["rules"]\n\n' + body)
    return path


SUB = '[[subscriptions]]\nname = "desk"\nchannels = [{channels}]\nsink = "{sink}"\n\n'
WEBHOOK = '[[sinks]]\nname = "{name}"\ntype = "webhook"\nurl = "http://127.0.0.1:9/"\n\n'


def test_a_subscription_to_a_channel_no_rule_publishes_is_an_error(tmp_path: Path) -> None:
    """The Kubernetes example's mistake: exit 1, naming the subscription, channel and line."""
    config = _config(tmp_path, SUB.format(channels='"treaties", "arms-control"', sink="console"))
    result = _check("-c", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"{config}:6: error: subscription 'desk' listens on channel 'arms-control', which no rule "
        "publishes" in result.stdout
    )
    assert "(rules publish: treaties)" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_channel_only_disabled_rules_publish_counts_as_unpublished(tmp_path: Path) -> None:
    """A disabled rule sends nothing, so subscribing to its channel alone is an error too."""
    config = _config(tmp_path, SUB.format(channels='"treaties"', sink="console"))
    rule = RULE.replace("    match:", "    enabled: false\n    match:")
    (tmp_path / "rules" / "accord.yaml").write_text(rule)
    result = _check("-c", str(config))
    assert result.returncode == 1, result.stdout
    assert "channel 'treaties', which no rule publishes" in result.stdout


def test_a_sink_no_subscription_uses_is_a_warning(tmp_path: Path) -> None:
    """An unused sink is reported with its line, and the check still passes."""
    body = WEBHOOK.format(name="hook") + WEBHOOK.format(name="spare")
    body += SUB.format(channels='"treaties"', sink="hook")
    config = _config(tmp_path, body)
    result = _check("--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{config}:10: warning: sink 'spare' is used by no subscription" in result.stdout
    assert "hook' is used" not in result.stdout
    assert result.stdout.rstrip().endswith("0 error(s), 1 warning(s)")


def test_json_output_lists_every_problem_with_its_level(tmp_path: Path) -> None:
    """--format json: ok flag, rule channels and each problem as level, where, message."""
    body = WEBHOOK.format(name="hook") + WEBHOOK.format(name="spare")
    body += SUB.format(channels='"nowhere"', sink="hook")
    config = _config(tmp_path, body)
    result = _check("-c", str(config), "--format", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert report["rules"]["channels"] == ["treaties"]
    assert sorted(p["level"] for p in report["problems"]) == ["error", "warning"]
    jsonl = _check("-c", str(config), "--format", "jsonl")
    assert json.loads(jsonl.stdout) == report


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("config.toml", "[fetch]\nintervall = 3\n", ":5: fetch.intervall: unknown key"),
        ("rules/accord.yaml", RULE.replace("severity: high", "severity: hgh"), "accord.yaml:5:"),
    ],
)
def test_an_invalid_config_or_rule_file_fails_the_check_without_a_traceback(
    tmp_path: Path, name: str, text: str, expected: str
) -> None:
    """Errors of either file are reported, exit 1, no traceback."""
    config = _config(tmp_path, "")
    (tmp_path / name).write_text((config.read_text() if name == "config.toml" else "") + text)
    result = _check("-c", str(config))
    assert result.returncode == 1
    assert expected in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_an_empty_rule_directory_is_a_warning(tmp_path: Path) -> None:
    """A rule directory without files passes with a warning (the daemon runs with 0 rules)."""
    (tmp_path / "rules").mkdir()
    config = tmp_path / "config.toml"
    config.write_text('[rules]\ndirs = ["rules"]\n')
    result = _check("-c", str(config))
    assert result.returncode == 0, result.stdout
    assert "warning: no rules" in result.stdout


def test_without_a_config_the_shipped_pack_is_checked(tmp_path: Path) -> None:
    """No config at all: the defaults and the shipped rule pack pass."""
    result = _check("--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["config"] == "(defaults)"
    assert report["rules"]["channels"] == ["treaties", "urgent"]


def _shipped_configs(repo_root: Path, tmp_path: Path) -> list[Path]:
    manifest = repo_root / "deploy" / "kubernetes" / "treaty-monitor.yaml"
    docs = list(yaml.safe_load_all(manifest.read_text()))
    [configmap] = [d for d in docs if d and d["kind"] == "ConfigMap"]
    paths = []
    for name, text in (
        ("k8s.toml", configmap["data"]["config.toml"]),
        ("deploy.toml", (repo_root / "deploy/config.toml").read_text()),
        ("example.toml", (repo_root / "config.example.toml").read_text()),
    ):
        path = tmp_path / name
        # The containers mount the shipped pack at /etc/treaty-monitor/rules.
        path.write_text(text.replace("/etc/treaty-monitor/rules", str(repo_root / "rules")))
        paths.append(path)
    (tmp_path / "examples").symlink_to(repo_root / "examples")
    return paths


def test_every_shipped_config_subscribes_only_to_published_channels(
    repo_root: Path, tmp_path: Path
) -> None:
    """The Kubernetes, container and example configs pass the cross-check with the shipped pack."""
    for path in _shipped_configs(repo_root, tmp_path):
        settings = load_settings(path)
        channels = {"treaties", "urgent"}
        assert [p for p in cross_check(settings, channels) if p.level == "error"] == [], path

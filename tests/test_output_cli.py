"""The command line as a whole: fast --help that imports no heavy module, whole help summaries,
one --format option (table|json|jsonl), quiet exit on a closed pipe, a readable ``status``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
import redis.asyncio as aioredis
from click.testing import CliRunner

from monitor.cli import COMMANDS, _register, cli
from monitor.cli.common import FORMATS, human_time
from monitor.streams import Keys
from tests.ops_helpers import seed_pipeline

HEAVY = ("redis", "aiohttp", "hyperscan", "feedparser", "rich", "pydantic", "structlog")


def _cli(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "COLUMNS": str(columns)},
    )  # fmt: skip


def test_top_level_help_imports_no_heavy_module() -> None:
    """``treaty-monitor --help`` loads no command module, so none of Redis, aiohttp, ... either."""
    probe = (
        "import sys\n"
        "sys.argv = ['treaty-monitor', '--help']\n"
        "from monitor.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert "Commands:" in result.stdout
    assert result.stderr.strip() == "[]"


def test_the_help_table_matches_each_commands_own_summary() -> None:
    """The summaries the top-level help shows without importing are each command's first line."""
    _register()
    ctx = click.Context(cli)
    for name, (_modules, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None, name
        assert command.get_short_help_str(limit=10_000) == summary, name


@pytest.mark.parametrize("group", [[], ["rules"], ["dlq"], ["config"], ["feeds"], ["silence"]])
def test_help_summaries_are_never_cut(group: list[str]) -> None:
    """On an 80-column terminal every command's summary is shown whole (wrapped, not '...')."""
    result = _cli(*group, "--help")
    assert result.returncode == 0, result.stderr
    commands = result.stdout.partition("Commands:")[2]
    assert not [line for line in commands.splitlines() if line.endswith("...")]
    if group == []:  # every summary whole, wrapped onto more lines where long
        flat = " ".join(commands.split())
        for _modules, summary in COMMANDS.values():
            assert summary in flat


def _format_params() -> dict[str, click.Parameter]:
    _register()
    found: dict[str, click.Parameter] = {}

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            if param.name == "fmt":
                found[path] = param
        if isinstance(command, click.Group):
            ctx = click.Context(command)
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, f"{path} {name}".strip())

    walk(cli, "")
    return found


def test_every_format_option_offers_the_same_names() -> None:
    """--format is table|json|jsonl wherever it applies (subscribe streams: table|jsonl)."""
    params = _format_params()
    for path in ("rules check", "rules test", "rules backtest", "feeds", "status", "dlq list",
                 "match", "config check", "silence list"):  # fmt: skip
        assert isinstance(params[path].type, click.Choice), path
        assert tuple(params[path].type.choices) == FORMATS, path
        assert params[path].default == "table", path
    assert isinstance(params["subscribe"].type, click.Choice)
    assert tuple(params["subscribe"].type.choices) == ("table", "jsonl")


@pytest.mark.parametrize("command", [["rules", "check"], ["rules", "test"]])
def test_rule_commands_print_json_and_json_lines(command: list[str]) -> None:
    """``rules check`` and ``rules test`` speak json (one document) and jsonl (one per line)."""
    as_json = CliRunner().invoke(cli, [*command, "--format", "json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["ok"] is True
    lines = CliRunner().invoke(cli, [*command, "--format", "jsonl"]).stdout.splitlines()
    assert lines
    assert all(isinstance(json.loads(line), dict) for line in lines)


def test_rules_check_reports_errors_as_json(tmp_path: Path) -> None:
    """An invalid rule file under --format json: exit 1, each error with file, line and column."""
    (tmp_path / "bad.yaml").write_text("version: 1\nrules:\n  - id: x\n    severity: hgh\n")
    result = CliRunner().invoke(cli, ["rules", "check", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert {"file", "line", "column", "message"} <= set(report["errors"][0])


@pytest.fixture
async def seeded(tmp_path: Path, redis_url: str, redis_client: aioredis.Redis, keys: Keys) -> Path:
    """A config on the test Redis, which holds feeds, a dead letter, heartbeats and rules."""
    await seed_pipeline(redis_client, keys, time.time())
    config = tmp_path / "config.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[redis]\nurl = "{redis_url}"\n'
        f'prefix = "{keys.prefix}"\n\n[[feeds]]\nname = "fresh"\nurl = "https://fresh.example/"\n'
    )
    return config


@pytest.mark.parametrize(
    "command", [["feeds"], ["status"], ["dlq", "list"], ["rules", "backtest", "--since", "1w"]]
)
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_redis_commands_print_json_and_json_lines(
    seeded: Path, command: list[str], fmt: str
) -> None:
    """feeds, status, dlq list and rules backtest all take --format json and jsonl."""
    result = CliRunner().invoke(cli, [*command, "--format", fmt, "--config", str(seeded)])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        json.loads(result.stdout)
    else:
        lines = result.stdout.splitlines()
        assert lines
        assert all(json.loads(line) is not None for line in lines)


def test_a_closed_pipe_ends_the_command_quietly() -> None:
    """The reader went away (``| head``): no BrokenPipeError traceback, exit 141 like SIGPIPE."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "rules", "test", "--format", "jsonl"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) in (0, 141)
    assert err == ""


def test_a_pipe_into_head_prints_the_first_line_and_nothing_on_stderr() -> None:
    """``treaty-monitor rules test --format jsonl | head -1`` as a user types it."""
    script = f'"{sys.executable}" -m monitor rules test --format jsonl | head -1; '
    script += 'echo "${PIPESTATUS[0]}"'
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    first, code = result.stdout.splitlines()
    assert json.loads(first)["rule"]
    assert code in ("0", "141")
    assert result.stderr == ""


def test_status_says_when_no_daemon_is_running(tmp_path: Path, redis_url: str, keys: Keys) -> None:
    """An empty Redis: the table says no daemon runs, the JSON says daemon_running false."""
    config = tmp_path / "config.toml"
    config.write_text(f'[redis]\nurl = "{redis_url}"\nprefix = "{keys.prefix}"\n')
    table = _cli("status", "--config", str(config))
    assert table.returncode == 0, table.stderr
    assert "No daemon is running." in table.stdout
    report = json.loads(_cli("status", "--format", "json", "--config", str(config)).stdout)
    assert report["daemon_running"] is False


def test_status_shows_instances_and_times_as_dates_with_their_age(seeded: Path) -> None:
    """A live fetcher's heartbeat and the rules' load time read as UTC dates and '... ago'."""
    result = _cli("status", "--config", str(seeded), columns=200)
    assert result.returncode == 0, result.stderr
    assert "No daemon is running" not in result.stdout
    assert "UTC (1 min ago)" in result.stdout  # rules loaded 60 s before
    assert "UTC (10 min ago)" in result.stdout  # the stale engine's heartbeat


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (0.2, "2026-12-04 16:58:03 UTC (just now)"),
        (42, "2026-12-04 16:58:03 UTC (42 s ago)"),
        (180, "2026-12-04 16:58:03 UTC (3 min ago)"),
        (7300, "2026-12-04 16:58:03 UTC (2 h ago)"),
        (86400, "2026-12-04 16:58:03 UTC (1 day ago)"),
        (3 * 86400 + 5, "2026-12-04 16:58:03 UTC (3 days ago)"),
        (-120, "2026-12-04 16:58:03 UTC (in 2 min)"),
    ],
)
def test_human_times_are_utc_dates_with_a_relative_age(age: float, expected: str) -> None:
    """A timestamp prints as its UTC date and how long ago it was (or how soon it will be)."""
    at = 1_796_403_483.0  # 2026-12-04 16:58:03 UTC
    assert human_time(at, at + age) == expected


def test_no_time_reads_never() -> None:
    """A missing timestamp is 'never', not 1970."""
    assert human_time(None, 0.0) == "never"


def test_the_old_format_name_text_still_means_table(seeded: Path) -> None:
    """``dlq list --format text`` (its name before the shared option) prints the table."""
    old = CliRunner().invoke(cli, ["dlq", "list", "--format", "text", "--config", str(seeded)])
    new = CliRunner().invoke(cli, ["dlq", "list", "--format", "table", "--config", str(seeded)])
    assert old.exit_code == 0, old.output
    assert old.stdout == new.stdout
    assert "dead letter" in old.stderr

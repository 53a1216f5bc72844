"""``rules check``, ``rules test`` and ``rules backtest``: exit codes and output."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from monitor.cli import _register, cli
from monitor.streams import Keys
from tests.rules_helpers import entry, write

_register()

GOOD = """\
version: 1
vocabularies:
  treaties: [INF Treaty, New START]
rules:
  - id: exit
    title: Treaty exit
    severity: high
    channels: [treaties]
    match: {all: [$treaties, withdraw*]}
    examples:
      match:
        - "US to withdraw from the INF Treaty"
        - {title: "Moscow reacts", summary: "Washington will withdraw from New START."}
      no_match:
        - "Bank raises cash withdrawal limit"
  - id: talks
    title: Treaty talks
    severity: medium
    channels: [treaties, talks]
    match: {all: [$treaties, talks]}
"""


def run(*args: str) -> tuple[int, str]:
    """Run the CLI in-process; exit code and combined output."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_check_prints_a_summary_and_exits_0_for_a_valid_set(tmp_path: Path) -> None:
    """A valid set gives one summary line and exit code 0."""
    write(tmp_path, GOOD)
    code, output = run("rules", "check", str(tmp_path))
    assert code == 0
    assert output.startswith("ok: 2 rules (2 enabled), 4 terms, 2 channels in 1 file(s); version ")
    assert output.count("\n") == 1


def test_check_prints_every_error_as_file_line_col_and_exits_1(tmp_path: Path) -> None:
    """Errors come one per line as file:line:col: message."""
    write(
        tmp_path,
        GOOD.replace("severity: high", "severity: urgent").replace("$treaties, t", "$x, t"),
    )
    code, output = run("rules", "check", str(tmp_path))
    assert code == 1
    assert output.splitlines()[:2] == [
        f"{tmp_path}/rules.yaml:7:15: rules[0].severity: unknown severity 'urgent' "
        "(allowed: info, low, medium, high, critical)",
        f"{tmp_path}/rules.yaml:20:19: rules[1].match.all[0]: unknown vocabulary $x "
        "(known: $treaties)",
    ]


def test_check_without_a_directory_checks_the_shipped_pack() -> None:
    """``rules check`` alone validates the pack that ships with the package."""
    code, output = run("rules", "check")
    assert code == 0
    assert output.startswith("ok: ")


def test_test_runs_every_example_and_exits_0_when_all_pass(tmp_path: Path) -> None:
    """Passing examples give a summary and exit 0."""
    write(tmp_path, GOOD)
    code, output = run("rules", "test", str(tmp_path))
    assert code == 0
    assert output == "ok: 3 examples of 1 rules passed; 1 enabled rule(s) have no examples\n"


def test_test_prints_each_failure_with_the_spans_found_and_exits_1(tmp_path: Path) -> None:
    """A failing example names its own line, the rule, what was expected and the spans found."""
    text = GOOD.replace(
        '- "Bank raises cash withdrawal limit"', '- "Russia may withdraw from New START"'
    ).replace('- "US to withdraw from the INF Treaty"', '- "INF Treaty in force"')
    write(tmp_path, text)
    code, output = run("rules", "test", str(tmp_path))
    assert code == 1
    assert output.splitlines() == [
        f"{tmp_path}/rules.yaml:12: exit: should match: 'INF Treaty in force'",
        "    terms found (not enough to match): title[0:10] 'INF Treaty' (INF Treaty)",
        f"{tmp_path}/rules.yaml:15: exit: should not match: 'Russia may withdraw from New START'",
        "    matched by: title[11:19] 'withdraw' (withdraw*), title[25:34] 'New START' (New START)",
        "FAILED: 2 of 3 examples (1 rules)",
    ]


def test_test_passes_on_the_shipped_pack() -> None:
    """The shipped rules carry examples, and they all pass."""
    code, output = run("rules", "test")
    assert code == 0, output


@pytest.fixture
def config(tmp_path: Path, redis_url: str, keys: Keys) -> Path:
    """A config file pointing at the test Redis under a unique prefix."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[redis]\nurl = "{redis_url}"\n'
        f'prefix = "{keys.prefix}"\n',
        encoding="utf-8",
    )
    return path


def test_backtest_replays_the_stored_entries_of_the_period_and_sends_nothing(
    tmp_path: Path, config: Path, redis_url: str, keys: Keys
) -> None:
    """Entries newer than --since are counted per rule; feed text cannot drive the terminal."""
    rules_dir = tmp_path / "rules"
    write(rules_dir, GOOD)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    now_ms = int(time.time() * 1000)
    stored = [
        (now_ms - 10 * 86_400_000, "US to withdraw from the INF Treaty (old)"),
        (now_ms - 3_600_000, "US to withdraw from the INF Treaty\x1b[2J\u202e"),
        (now_ms - 1_800_000, "New START talks resume"),
        (now_ms - 60_000, "Weather report"),
    ]
    for n, (ms, title) in enumerate(stored):
        item = entry(title=title, guid=f"g{n}", link=f"https://example.org/{n}")
        client.xadd(keys.entries, {"entry": item.to_json()}, id=f"{ms}-0")
    client.xadd(keys.entries, {"entry": "not json"}, id=f"{now_ms}-0")
    before = sorted(client.keys(f"{keys.prefix}:*"))
    client.close()

    code, output = run(
        "rules", "backtest", str(rules_dir), "--since", "2d", "--config", str(config)
    )
    assert code == 0, output
    assert output.splitlines() == [
        "backtest over the last 2d: 3 entries, 2 matched a rule (nothing was sent); "
        "1 unreadable entries skipped",
        "  exit        1  high",
        "                 - US to withdraw from the INF Treaty [2J  <https://example.org/1>",
        "  talks       1  medium",
        "                 - New START talks resume <https://example.org/2>",
        "alerts per channel: talks 1, treaties 2",
        "stories: 2 (alerting entries grouped by event, docs/events.md)",
    ]
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    assert sorted(client.keys(f"{keys.prefix}:*")) == before
    client.close()


def test_backtest_holds_back_repeats_of_a_story_inside_the_realert_window(
    tmp_path: Path, config: Path, redis_url: str, keys: Keys
) -> None:
    """As the engine would: the same story again within the rule's window is no new alert;
    once the window (counted in stream time) has passed it alerts again."""
    rules_dir = tmp_path / "rules"
    write(
        rules_dir,
        GOOD.replace(
            "    match: {all: [$treaties, withdraw*]}",
            "    match: {all: [$treaties, withdraw*]}\n    realert: {window: 2h, key: story}",
        ),
    )
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    now_ms = int(time.time() * 1000)
    story = "US to withdraw from the INF Treaty"
    for n, hours_ago in enumerate((5.0, 4.5, 4.0, 2.5, 1.0)):
        item = entry(title=story, guid=f"g{n}", link=f"https://outlet{n}.example/inf")
        client.xadd(
            keys.entries, {"entry": item.to_json()}, id=f"{now_ms - int(hours_ago * 3_600_000)}-0"
        )
    client.close()
    code, output = run(
        "rules", "backtest", str(rules_dir), "--since", "1d", "--config", str(config)
    )
    assert code == 0, output
    assert (
        output.splitlines()[0]
        == "backtest over the last 1d: 5 entries, 5 matched a rule (nothing was sent)"
    )
    # windows open at -5h (holds -4.5h, -4h) and at -2.5h (holds -1h)
    assert output.splitlines()[-2:] == [
        "alerts per channel: treaties 2; 3 repeats held back by realert windows",
        # both alerts report one event (same treaty, development, actor, publication time)
        "stories: 1 (alerting entries grouped by event, docs/events.md)",
    ]


def test_backtest_rejects_a_bad_since(tmp_path: Path) -> None:
    """A malformed --since is a usage error (exit 2), not a traceback."""
    write(tmp_path, GOOD)
    code, output = run("rules", "backtest", str(tmp_path), "--since", "lately")
    assert code == 2
    assert "invalid duration 'lately'" in output


def test_the_rule_shown_in_the_readme_is_valid_and_its_examples_pass(
    tmp_path: Path, repo_root: Path
) -> None:
    """The README's example rule is real: it loads and ``rules test`` passes on it."""
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert "examples:" in block
    write(tmp_path, block)
    code, output = run("rules", "test", str(tmp_path))
    assert (code, output) == (0, "ok: 3 examples of 1 rules passed\n")


RULES_EXIT = """\
    version: 1
    rules:
      - id: exit
        title: Treaty exit
        severity: high
        channels: [treaties]
        match: {all: [$treaties, withdraw*]}
    """


def test_a_file_is_checked_with_its_siblings_and_tested_alone(tmp_path: Path) -> None:
    """Vocabularies are shared by a directory's files: naming one file loads its directory (so
    ``$treaties`` from a sibling resolves); the commands then work on that file's rules only."""
    write(tmp_path, "version: 1\nvocabularies:\n  treaties: [INF Treaty]\n", name="vocab.yaml")
    examples = '\n        examples: {match: ["US to withdraw from the INF Treaty"]}\n'
    exit_rule = RULES_EXIT.rstrip() + examples
    talks_rule = exit_rule.replace("id: exit", "id: talks").replace("withdraw*", "talks")
    path = write(tmp_path, exit_rule, name="exit.yaml")
    write(tmp_path, talks_rule.replace('"US to withdraw', '"Failing: US to withdraw'), "t.yaml")
    code, output = run("rules", "check", str(path))
    assert (code, output.split(";")[0]) == (
        0,
        "ok: 1 rules (1 enabled), 3 terms, 1 channels in 3 file(s)",
    )
    assert run("rules", "test", str(path)) == (0, "ok: 1 examples of 1 rules passed\n")
    code, output = run("rules", "test", str(tmp_path))
    assert code == 1
    assert output.splitlines()[0].startswith(f"{tmp_path}/t.yaml:8: talks: should match:")


def test_match_with_a_rule_file_reports_only_that_files_rules(tmp_path: Path) -> None:
    """``match --rules FILE`` answers "what does this file catch", not the whole directory."""
    write(tmp_path / "rules", "version: 1\nvocabularies:\n  treaties: [INF Treaty]\n", "v.yaml")
    write(tmp_path / "rules", RULES_EXIT, "exit.yaml")
    write(tmp_path / "rules", RULES_EXIT.replace("id: exit", "id: other"), "other.yaml")
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<rss version="2.0"><channel><title>d</title><item><title>US to withdraw from the INF'
        " Treaty</title><link>https://example.org/1</link></item></channel></rss>",
        encoding="utf-8",
    )
    for rules, expected in (("rules/exit.yaml", ["exit"]), ("rules", ["exit", "other"])):
        code, output = run(
            "match", "--rules", str(tmp_path / rules), "--format", "jsonl", str(feed)
        )
        assert code == 0, output
        assert json.loads(output)["rules"] == expected

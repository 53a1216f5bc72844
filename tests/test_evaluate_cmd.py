"""``treaty-monitor rules evaluate``: scores, lists, feed input and bad label files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from monitor.cli import _register, cli

_register()

RULES = """\
version: 1
vocabularies:
  treaties: [INF Treaty, New START]
rules:
  - id: exit
    title: Treaty exit
    severity: high
    channels: [treaties]
    tags: [withdrawal]
    match: {all: [$treaties, "withdraw*"]}
  - id: talks
    title: Treaty talks
    severity: low
    channels: [treaties]
    tags: [talks]
    match: {all: [$treaties, talks]}
"""

ITEMS = [
    ("p1", "en", "US to withdraw from the INF Treaty", ["withdrawal"]),
    ("p2", "ru", "Consultations on New START in Geneva", ["talks"]),
    ("p3", "en", "New START talks resume; US may withdraw", ["talks", "withdrawal"]),
    ("n1", "en", "Bank raises cash withdrawal limit", []),
    ("n2", "en", "INF Treaty talks: a board game about withdrawal", []),
]

RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>desk</title><link>https://example.org/</link>
<item><title>Russia will withdraw from New START</title><guid>a</guid></item>
<item><title>Weather: rain tomorrow</title><guid>b</guid></item>
</channel></rss>
"""


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pack.yaml").write_text(RULES, encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    lines = [
        json.dumps(
            {
                "id": item_id,
                "lang": lang,
                "title": title,
                "summary": "",
                "published": "2019-01-16T12:00:00+00:00",
                "tags": tags,
                "deadline": None,
            }
        )
        for item_id, lang, title, tags in ITEMS
    ]
    labels.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rules, labels


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def _row(output: str, name: str) -> list[str]:
    line = next(line for line in output.splitlines() if line.strip().startswith(name))
    return line.split()[len(name.split()) :]


def test_evaluate_prints_scores_overall_per_tag_and_per_language(tmp_path: Path) -> None:
    """The table holds precision, recall, F1 and counts computed from the labelled items."""
    rules, labels = _setup(tmp_path)
    code, output = _run("rules", "evaluate", "--labels", str(labels), "--rules", str(rules))
    assert code == 0, output
    assert "5 labelled items" in output
    assert "(2 untagged)" in output
    # p1 p3 alert, p2 is missed (no "talks" word), n2 is a false alarm
    assert _row(output, "alerts at all") == ["0.667", "0.667", "0.667", "2", "1", "1"]
    assert _row(output, "withdrawal") == ["0.667", "1.000", "0.800", "2", "1", "0"]
    assert _row(output, "talks") == ["0.500", "0.500", "0.500", "1", "1", "1"]
    assert _row(output, "ru") == ["1", "0.000", "0.833"]


def test_evaluate_lists_misses_and_false_alarms(tmp_path: Path) -> None:
    """Each miss and false alarm is listed with its id, language and title."""
    rules, labels = _setup(tmp_path)
    _, output = _run("rules", "evaluate", "--labels", str(labels), "--rules", str(rules))
    misses = output.split("misses (1):")[1].split("false alarms")[0]
    assert "p2 [ru] Consultations on New START in Geneva  (expected: talks)" in misses
    alarms = output.split("false alarms (1):")[1].split("wrong tags")[0]
    assert "n2 [en] INF Treaty talks" in alarms
    assert "rules: exit, talks" in alarms


def test_evaluate_without_list_prints_only_the_scores(tmp_path: Path) -> None:
    """--no-list leaves out the lists of items."""
    rules, labels = _setup(tmp_path)
    _, output = _run(
        "rules", "evaluate", "--labels", str(labels), "--rules", str(rules), "--no-list"
    )
    assert "alerts at all" in output
    assert "misses" not in output


def test_evaluate_runs_feed_files_as_extra_unlabelled_input(tmp_path: Path) -> None:
    """Entries of FEED arguments are matched and what fired on them is listed."""
    rules, labels = _setup(tmp_path)
    feed = tmp_path / "desk.xml"
    feed.write_text(RSS, encoding="utf-8")
    code, output = _run(
        "rules", "evaluate", "--labels", str(labels), "--rules", str(rules), str(feed)
    )
    assert code == 0, output
    assert "unlabelled feed entries: 2, 1 alerted:" in output
    assert "Russia will withdraw from New START  (exit; withdrawal)" in output
    assert "Weather" not in output


def test_evaluate_with_a_bad_label_file_exits_1_naming_the_line(tmp_path: Path) -> None:
    """A broken label line gives one error line with file:line and no traceback."""
    rules, labels = _setup(tmp_path)
    labels.write_text(labels.read_text(encoding="utf-8") + "{oops\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "rules", "evaluate", "--labels", str(labels),
         "--rules", str(rules)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"{labels}:6: not JSON" in result.stderr
    assert "Traceback" not in result.stderr

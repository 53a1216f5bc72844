"""``treaty-monitor match``: rules per entry of a feed, as a highlighted table or JSON lines."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import _register, cli
from monitor.cli.match_cmd import excerpts
from monitor.rules.match import Span
from tests.rules_helpers import write

_register()

RULES = """\
version: 1
rules:
  - id: exit
    title: Treaty exit
    severity: high
    channels: [treaties, urgent]
    tags: [withdrawal]
    match: {all: [INF Treaty, withdraw*]}
  - id: talks
    title: Treaty talks
    severity: medium
    channels: [treaties]
    tags: [talks]
    match: {all: [INF Treaty, talks]}
"""

FEED = """\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>https://example.org/</link>
<item><title>US to withdraw from the INF Treaty</title>
  <link>https://example.org/1</link><guid isPermaLink="false">item-1</guid>
  <description>Talks on the INF Treaty failed.</description></item>
<item><title>Weather: sunny \x1b[31mred</title><link>https://example.org/2</link></item>
</channel></rss>
"""


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    """A local RSS file with one matching and one non-matching item."""
    path = tmp_path / "feed.xml"
    path.write_text(FEED.replace("\x1b", "&#27;"), encoding="utf-8")
    return path


def test_jsonl_prints_one_object_per_entry_matched_or_not(tmp_path: Path, feed: Path) -> None:
    """Each entry gets its id, rules, tag and channel unions, top severity and spans."""
    write(tmp_path / "rules", RULES)
    result = CliRunner().invoke(
        cli, ["match", "--rules", str(tmp_path / "rules"), "--format", "jsonl", str(feed)]
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert {k: first[k] for k in ("entry_id", "link", "rules", "tags", "channels")} == {
        "entry_id": "item-1",
        "link": "https://example.org/1",
        "rules": ["exit", "talks"],
        "tags": ["withdrawal", "talks"],
        "channels": ["treaties", "urgent"],
    }
    assert (first["severity"], first["deadline"]) == ("high", None)
    assert {(s["rule"], s["field"], s["text"]) for s in first["spans"]} == {
        ("exit", "title", "withdraw"),
        ("exit", "title", "INF Treaty"),
        ("exit", "summary", "INF Treaty"),
        ("talks", "title", "INF Treaty"),
        ("talks", "summary", "Talks"),
        ("talks", "summary", "INF Treaty"),
    }
    assert second["entry_id"] == "https://example.org/2"  # no guid: the link stands in
    assert (second["rules"], second["severity"], second["spans"]) == ([], None, [])
    # the alerting row carries its event and story; the other carries neither
    assert (first["event"]["actors"], first["event"]["development"]) == (["us"], "withdrawal")
    assert first["story"]
    assert "event" not in second
    assert "story" not in second


def test_the_table_shows_rules_and_matched_text_without_terminal_escapes(
    tmp_path: Path, feed: Path
) -> None:
    """The table lists each entry's rules; feed text cannot inject escape sequences."""
    write(tmp_path / "rules", RULES)
    result = CliRunner().invoke(cli, ["match", "--rules", str(tmp_path / "rules"), str(feed)])
    assert result.exit_code == 0, result.output
    assert "exit (high)" in result.output
    assert "talks (medium)" in result.output
    assert "\x1b" not in result.output
    assert result.output.rstrip().endswith("2 entries, 1 matched")


def test_match_reports_an_invalid_rule_set_and_exits_1(tmp_path: Path, feed: Path) -> None:
    """Rule errors are printed as file:line:col lines, exit code 1."""
    write(tmp_path / "rules", RULES.replace("severity: high", "severity: hgh"))
    result = CliRunner().invoke(cli, ["match", "--rules", str(tmp_path / "rules"), str(feed)])
    assert result.exit_code == 1
    assert result.output.startswith(f"{tmp_path}/rules/rules.yaml:5:15: rules[0].severity:")


@pytest.mark.slow
def test_an_installed_wheel_ships_the_rule_pack_and_match_uses_it(
    tmp_path: Path, repo_root: Path, feed: Path
) -> None:
    """The wheel carries rules/ as monitor/_shipped/rules, and ``match`` finds it there."""
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "--target", "wheel",
         "--directory", str(tmp_path / "dist")],
        check=True,
        capture_output=True,
        cwd=repo_root,
    )  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "monitor/_shipped/rules/treaties.yaml" in names
        assert "monitor/events/data/actors.yaml" in names
        archive.extractall(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    where = subprocess.run(
        [sys.executable, "-c",
         "import monitor.rules.loader as l; print(l.__file__); print(l.shipped_rules_dir());"
         "import monitor.config as c; print(c.load_settings().rules_dirs()[0])"],
        check=True, capture_output=True, text=True, env=env, cwd=tmp_path,
    ).stdout.split()  # fmt: skip
    assert where[0].startswith(str(tmp_path / "site"))
    assert where[1] == str(tmp_path / "site" / "monitor" / "_shipped" / "rules")
    assert where[2] == where[1]  # `run` without [rules] uses the installed pack
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "match", "--format", "jsonl", str(feed)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert first["rules"]  # the shipped pack matched the withdrawal story
    assert (first["event"]["treaty"], first["event"]["actors"]) == ("inf", ["us"])


def test_match_reads_a_feed_from_an_http_url(tmp_path: Path, feed: Path) -> None:
    """FEED may be an http URL (here a server on 127.0.0.1)."""
    write(tmp_path / "rules", RULES)
    body = feed.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        result = CliRunner().invoke(
            cli, ["match", "--rules", str(tmp_path / "rules"), "--format", "jsonl", url]
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["rules"] for line in result.output.splitlines()] == [
        ["exit", "talks"],
        [],
    ]


def _span(start: int, end: int) -> Span:
    return Span(field="summary", start=start, end=end, text="x" * (end - start), term="x")


@pytest.mark.parametrize(
    ("spans", "expected"),
    [
        ([], []),
        ([(50, 60)], [(10, 100)]),
        ([(0, 5)], [(0, 45)]),  # clipped at the start
        ([(190, 200)], [(150, 200)]),  # and at the end
        ([(50, 60), (120, 130)], [(10, 170)]),  # windows that overlap become one excerpt
        ([(120, 130), (50, 60)], [(10, 170)]),  # whatever the order of the spans
        ([(10, 20), (150, 160)], [(0, 60), (110, 200)]),  # far apart: two excerpts
        ([(50, 60), (55, 58)], [(10, 100)]),  # a span inside another
    ],
)
def test_excerpts_merge_the_context_windows_of_nearby_spans(
    spans: list[tuple[int, int]], expected: list[tuple[int, int]]
) -> None:
    """Each span gets 40 characters either side; windows that touch or overlap are merged."""
    assert excerpts(200, [_span(s, e) for s, e in spans], context=40) == expected


def test_the_table_shows_dense_matches_in_one_excerpt_per_field(tmp_path: Path) -> None:
    """A summary with many spans is shown once with them all highlighted, not once per span."""
    write(tmp_path / "rules", RULES)
    summary = "Talks on the INF Treaty resumed; talks on the INF Treaty may withdraw talks."
    path = tmp_path / "feed.xml"
    path.write_text(FEED.replace("Talks on the INF Treaty failed.", summary), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["match", "--rules", str(tmp_path / "rules"), str(path)], env={"COLUMNS": "400"}
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("summary:") == 1
    assert summary in result.output


STORIES = """\
<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>https://example.org/</link>
<item><title>Russia suspends INF Treaty in mirror response</title><link>https://example.org/3</link>
  <guid>ru-mirror</guid><pubDate>Sat, 02 Feb 2019 10:00:00 GMT</pubDate></item>
<item><title>US suspends INF Treaty obligations, starts withdrawal</title>
  <link>https://example.org/1</link>
  <guid>us-en</guid><pubDate>Fri, 01 Feb 2019 15:00:00 GMT</pubDate></item>
<item><title>США приостанавливают выполнение Договора о РСМД</title><link>https://example.org/2</link>
  <guid>us-ru</guid><pubDate>Fri, 01 Feb 2019 18:00:00 GMT</pubDate></item>
<item><title>Washington suspend le traité FNI</title><link>https://example.org/4</link>
  <guid>us-fr</guid><pubDate>Sat, 02 Feb 2019 08:00:00 GMT</pubDate></item>
<item><title>US suspends INF Treaty obligations</title><link>https://example.org/6</link>
  <guid>us-2022</guid><pubDate>Tue, 01 Feb 2022 08:00:00 GMT</pubDate></item>
</channel></rss>
"""


def test_match_groups_reports_into_stories_in_order_of_publication(tmp_path: Path) -> None:
    """One event in three languages is one story; another actor or year is another story."""
    feed = tmp_path / "stories.xml"
    feed.write_text(STORIES, encoding="utf-8")
    result = CliRunner().invoke(cli, ["match", "--format", "jsonl", str(feed)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["entry_id"] for r in rows] == ["us-en", "us-ru", "us-fr", "ru-mirror", "us-2022"]
    story = {r["entry_id"]: r["story"] for r in rows}
    assert story["us-en"] == story["us-ru"] == story["us-fr"]
    assert len({story["us-en"], story["ru-mirror"], story["us-2022"]}) == 3
    assert {r["event"]["treaty"] for r in rows} == {"inf"}
    assert rows[3]["event"]["line"] == "Russia · INF Treaty · suspension"


def test_match_puts_a_quiet_report_of_a_story_in_it_as_a_source(tmp_path: Path) -> None:
    """A report that alerts on nothing but names the story's treaty and actor carries the
    story and ``source: true``, no event; an explainer naming them joins nothing."""
    quiet = """<item><title>Allies scramble after Washington's INF Treaty move</title>
  <link>https://example.org/7</link><guid>us-quiet</guid>
  <pubDate>Fri, 01 Feb 2019 20:00:00 GMT</pubDate></item>
<item><title>What is the INF Treaty? Washington and Moscow explained</title>
  <link>https://example.org/8</link><guid>explainer</guid>
  <pubDate>Fri, 01 Feb 2019 21:00:00 GMT</pubDate></item>
</channel>"""
    feed = tmp_path / "stories.xml"
    feed.write_text(STORIES.replace("</channel>", quiet), encoding="utf-8")
    result = CliRunner().invoke(cli, ["match", "--format", "jsonl", str(feed)])
    assert result.exit_code == 0, result.output
    rows = {r["entry_id"]: r for r in map(json.loads, result.output.splitlines())}
    assert rows["us-quiet"]["rules"] == []
    assert rows["us-quiet"]["story"] == rows["us-en"]["story"]
    assert rows["us-quiet"]["source"] is True
    assert "event" not in rows["us-quiet"]
    assert "story" not in rows["explainer"]

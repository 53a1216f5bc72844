"""Entry language downstream: rules scoped by it, carried in alerts, jsonl rows, webhook bodies,
the desk's records, and reported by ``rules evaluate`` and ``rules backtest``."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.render import webhook_payload
from monitor.alerts.sinks import Pacer
from monitor.alerts.sinks.webhook import WebhookSink
from monitor.cli import _register, cli
from monitor.errors import RuleError
from monitor.feeds.entry import Entry
from monitor.feeds.language import default_detector
from monitor.history.record import StoryRecord, fold
from monitor.rules.backtest import Backtest
from monitor.rules.evaluate import LabelledItem, evaluate
from monitor.rules.examples import run_examples
from monitor.rules.loader import RuleSetError, load_rule_set
from tests.delivery_helpers import http_receiver, make_alert
from tests.rules_helpers import entry, one_rule, only, write

_register()

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def _in(language: str, title: str = "treaty") -> Entry:
    return dataclasses.replace(entry(title=title), language=language)


@pytest.mark.parametrize(
    ("language", "fires"),
    [("ru", True), ("uk", True), ("en", False), ("fr", False), ("", True)],
    ids=["ru", "uk", "en", "fr", "unknown"],
)
def test_a_rule_scoped_to_ru_and_uk_fires_on_those_and_on_unknown_only(
    tmp_path: Path, language: str, fires: bool
) -> None:
    """``languages: [ru, uk]`` admits ru and uk, and never silences an entry of unknown language."""
    rule_set = one_rule(tmp_path, "treaty", extra="languages: [ru, uk]\n")
    assert (only(rule_set.match(_in(language))) is not None) is fires


def test_languages_combine_with_feed_scoping(tmp_path: Path) -> None:
    """An entry must satisfy feeds and languages both."""
    rule_set = one_rule(tmp_path, "treaty", extra="feeds: [tass]\nlanguages: [ru-RU]\n")
    tass_ru = dataclasses.replace(entry(title="treaty", feed="tass"), language="ru")
    tass_en = dataclasses.replace(tass_ru, language="en")
    other_ru = dataclasses.replace(tass_ru, feed="ap")
    assert [bool(rule_set.match(e)) for e in (tass_ru, tass_en, other_ru)] == [True, False, False]


@pytest.mark.parametrize(
    ("value", "where", "shown"),
    [
        ("[ru, xx]", "8:21: rules[0].languages[1]", "'xx'"),
        ("[russian]", "8:17: rules[0].languages[0]", "'russian'"),
    ],
)
def test_a_bad_language_code_is_a_rule_file_error_naming_file_line_and_field(
    tmp_path: Path, value: str, where: str, shown: str
) -> None:
    """The error points at the bad code: file, line, column and field path."""
    with pytest.raises(RuleSetError) as caught:
        one_rule(tmp_path, "treaty", extra=f"languages: {value}\n")
    assert isinstance(caught.value, RuleError)
    (error,) = caught.value.errors
    message = error.location_message().replace(str(tmp_path) + "/", "")
    assert (
        message
        == f"rules.yaml:{where}: {shown} is not an ISO 639-1 language code (like en, ru, uk)"
    )


def test_rule_examples_may_say_their_language(tmp_path: Path) -> None:
    """An example in another language fails a scoped rule; one without a language passes."""
    write(
        tmp_path,
        """
        version: 1
        rules:
          - id: r
            title: T
            severity: low
            channels: [c]
            languages: [ru]
            match: treaty
            examples:
              match: ["treaty", {title: "treaty", language: ru}]
              no_match: [{title: "treaty", language: en}]
        """,
    )
    results = run_examples(load_rule_set([tmp_path]))
    assert [(r.example.language, r.matched) for r in results] == [
        (None, True),
        ("ru", True),
        ("en", False),
    ]
    assert all(r.passed for r in results)


def test_alerts_carry_the_language_and_old_alerts_without_it_still_load() -> None:
    """The alert's entry keeps its language; a stream message from before has "" instead."""
    alert = dataclasses.replace(make_alert(), entry=_in("ru"))
    assert Alert.from_json(alert.to_json()).entry.language == "ru"
    old = json.loads(alert.to_json())
    del old["entry"]["language"]
    assert Alert.from_dict(old).entry.language == ""


async def test_webhook_bodies_carry_the_language() -> None:
    """A webhook receiver on 127.0.0.1 gets ``language`` at the top and in the entry."""
    alert = make_alert()
    alert = dataclasses.replace(alert, entry=dataclasses.replace(alert.entry, language="uk"))
    async with http_receiver() as server:
        url = SecretStr(server.url)
        sink = WebhookSink("hook", url, secret=None, pacer=Pacer(0), timeout=5.0)
        await sink.send(alert)
        await sink.aclose()
    body = server.received[0].json()
    assert (body["language"], body["alert"]["entry"]["language"]) == ("uk", "uk")
    assert webhook_payload(make_alert(), "desk")["language"] is None  # unknown


def test_desk_records_carry_the_language_of_each_source() -> None:
    """The story record keeps each outlet's language; records from before load with ""."""
    first = make_alert()
    first = dataclasses.replace(first, entry=dataclasses.replace(first.entry, language="ru"))
    second = make_alert(entry_id="other:1", feed="other")
    second = dataclasses.replace(second, entry=dataclasses.replace(second.entry, language="en"))
    record = fold(fold(None, first, NOW), second, NOW)
    assert [s.language for s in record.sources] == ["ru", "en"]
    data = json.loads(record.to_json())
    assert data["language"] == "ru"
    for source in data["sources"]:
        del source["language"]
    assert [s.language for s in StoryRecord.from_json(json.dumps(data)).sources] == ["", ""]


FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Desk</title><link>https://example.org/</link>
<item><title>US to withdraw from the INF Treaty</title><guid isPermaLink="false">a</guid>
  <description>Washington said it would leave the treaty within six months.</description></item>
<item><title>Россия выйдет из Договора о РСМД</title><guid isPermaLink="false">b</guid></item>
</channel></rss>
"""


def test_match_jsonl_rows_carry_the_detected_language(tmp_path: Path) -> None:
    """``match --format jsonl``: "language" on every row, detected when the feed gives none."""
    write(tmp_path / "rules", "version: 1\nrules: []\n")
    feed = tmp_path / "feed.xml"
    feed.write_text(FEED, encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["match", "--rules", str(tmp_path / "rules"), "--format", "jsonl", str(feed)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert sorted((r["entry_id"], r["language"]) for r in rows) == [("a", "en"), ("b", "ru")]


def _item(item_id: str, lang: str, title: str) -> LabelledItem:
    return LabelledItem(item_id, lang, title, "", NOW, frozenset({"withdrawal"}))


def test_evaluate_scores_unlabelled_items_under_their_detected_language(tmp_path: Path) -> None:
    """No ``lang``: the detected one; with a label: the label, and agreement is counted."""
    rule_set = one_rule(tmp_path, "{any: [withdraw, выйдет]}", extra="tags: [withdrawal]\n")
    items = [
        _item("a", "", "Россия выйдет из договора о РСМД"),
        _item("b", "en", "US to withdraw from the INF Treaty"),
        _item("c", "de", "US to withdraw from the INF Treaty"),  # a wrong label
    ]
    report = evaluate(rule_set.match, items, default_detector())
    assert [o.language for o in report.outcomes] == ["ru", "en", "de"]
    assert report.languages == ("de", "en", "ru")
    assert report.language_agreement == (1, 2)
    assert evaluate(rule_set.match, items).language_agreement == (0, 0)  # no detector


def test_rules_evaluate_prints_how_often_detection_agreed_with_the_labels(tmp_path: Path) -> None:
    """One line: "language detected right: N of M"."""
    rules = tmp_path / "rules"
    write(rules, "version: 1\nrules: []\n")
    labels = tmp_path / "labels.jsonl"
    rows = [
        {"id": "1", "lang": "en", "title": "US to withdraw from the INF Treaty"},
        {"id": "2", "lang": "ru", "title": "Россия выйдет из Договора о РСМД"},
        {"id": "3", "lang": "fr", "title": "US to withdraw from the INF Treaty"},
        {"id": "4", "title": "Deutschland kündigt den Vertrag über den Offenen Himmel"},
    ]
    labels.write_text(
        "".join(json.dumps({**r, "published": "2019-01-16T12:00:00+00:00"}) + "\n" for r in rows),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        cli, ["rules", "evaluate", "--rules", str(rules), "--labels", str(labels), "--no-list"]
    )
    assert result.exit_code == 0, result.output
    assert "  language detected right: 2 of 3\n" in result.output
    assert any(line.split()[:2] == ["de", "1"] for line in result.output.splitlines())


def test_backtest_detects_the_language_of_entries_stored_without_one(tmp_path: Path) -> None:
    """Entries from before detection ("" in the stream) are scoped by their detected language."""
    rule_set = one_rule(tmp_path, "{any: [treaty, выйдет]}", extra="languages: [ru]\n")
    russian = entry(title="Россия выйдет из договора", guid="ru")
    english = entry(title="US to leave the treaty within six months", guid="en")
    rows = [("1-0", russian.to_json()), ("2-0", english.to_json())]
    detecting = Backtest(rule_set, detect=default_detector())
    detecting.add_raw(rows)
    assert (detecting.entries, detecting.matched) == (2, 1)
    blind = Backtest(rule_set)
    blind.add_raw(rows)
    assert blind.matched == 2  # unknown never silences a rule

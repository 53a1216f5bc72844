"""Metric arithmetic and label parsing of ``rules evaluate`` (pure: no rule files needed)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime

import pytest

from monitor.feeds.entry import Entry
from monitor.rules.evaluate import LabelError, LabelledItem, Score, evaluate, parse_labels
from monitor.rules.match import Match, Severity


def _item(item_id: str, tags: Sequence[str], lang: str = "en", title: str = "") -> LabelledItem:
    return LabelledItem(
        id=item_id,
        lang=lang,
        title=title or item_id,
        summary="",
        published=datetime(2024, 1, 1, tzinfo=UTC),
        tags=frozenset(tags),
    )


def _match(rule_id: str, *tags: str, deadline: date | None = None) -> Match:
    return Match(
        rule_id=rule_id,
        rule_title=rule_id,
        severity=Severity.HIGH,
        channels=("treaties",),
        tags=tags,
        spans=(),
        deadline=deadline,
    )


def _by_title(table: dict[str, list[Match]]) -> Callable[[Entry], list[Match]]:
    def match(entry: Entry) -> list[Match]:
        return table.get(entry.title, [])

    return match


def test_score_ratios_follow_the_textbook_formulas() -> None:
    """Precision tp/(tp+fp), recall tp/(tp+fn) and F1 their harmonic mean."""
    score = Score(tp=6, fp=2, fn=3)
    assert score.precision == pytest.approx(0.75)
    assert score.recall == pytest.approx(6 / 9)
    assert score.f1 == pytest.approx(2 * 0.75 * (6 / 9) / (0.75 + 6 / 9))


def test_score_with_nothing_claimed_and_nothing_to_find_is_perfect() -> None:
    """No positives and no predictions is not a failure of the rules."""
    assert (Score().precision, Score().recall, Score().f1) == (1.0, 1.0, 1.0)


def test_score_with_only_misses_has_zero_f1() -> None:
    """Finding nothing of what was there scores zero, whatever the empty precision says."""
    assert Score(fn=4).f1 == 0.0
    assert Score(fp=4).f1 == 0.0


def test_score_add_counts_each_kind_of_decision() -> None:
    """A hit, a false alarm, a miss and a correct silence land in tp, fp, fn and nowhere."""
    score = Score().add(True, True).add(False, True).add(True, False).add(False, False)
    assert score == Score(tp=1, fp=1, fn=1)


def test_evaluate_scores_alerts_tags_and_languages() -> None:
    """Alerts at all, each tag and each language are scored from the matches of each item."""
    items = [
        _item("a", ["withdrawal"], title="a"),
        _item("b", ["withdrawal", "deadline"], title="b"),
        _item("c", [], title="c"),
        _item("d", ["talks"], lang="ru", title="d"),
        _item("e", [], lang="ru", title="e"),
    ]
    table = {
        "a": [_match("w", "withdrawal")],
        "b": [_match("w", "withdrawal"), _match("t", "talks")],
        "c": [_match("t", "talks")],
        "e": [_match("v", "violation", "arms")],
    }
    report = evaluate(_by_title(table), items)
    assert report.alerts == Score(tp=2, fp=2, fn=1)
    assert report.tag("withdrawal") == Score(tp=2)
    assert report.tag("deadline") == Score(fn=1)
    assert report.tag("talks") == Score(fp=2, fn=1)
    assert report.tag("violation") == Score(fp=1)
    assert report.languages == ("en", "ru")
    assert report.only("ru").alerts == Score(fp=1, fn=1)
    assert report.except_lang("en").alerts == report.only("ru").alerts
    assert [o.item.id for o in report.misses] == ["d"]
    assert [o.item.id for o in report.false_alarms] == ["c", "e"]
    assert [o.item.id for o in report.tag_errors] == ["b"]
    # withdrawal 1.0, suspension 1.0, ratification 1.0, deadline 0, talks 0, violation 0
    assert report.tag_f1 == pytest.approx(3 / 6)


def test_evaluate_ignores_tags_outside_the_six() -> None:
    """A rule's extra tags (like "arms") are neither rewarded nor punished."""
    report = evaluate(_by_title({"a": [_match("v", "arms")]}), [_item("a", ["talks"], title="a")])
    assert report.outcomes[0].tags == frozenset()
    assert report.alerts == Score(tp=1)


def test_evaluate_compares_due_dates_of_deadline_matches() -> None:
    """Labelled due dates are checked against the first deadline a match carries."""
    due = date(2019, 2, 2)
    base = _item("a", ["deadline"], title="a")
    items = [
        LabelledItem(base.id, "en", "a", "", base.published, base.tags, due),
        LabelledItem("b", "en", "b", "", base.published, base.tags, due),
    ]
    table = {
        "a": [_match("d", "deadline", deadline=due)],
        "b": [_match("d", "deadline", deadline=date(2019, 2, 3))],
    }
    assert evaluate(_by_title(table), items).deadline_dates == (1, 2)


def test_labelled_item_becomes_an_entry_with_its_text_and_date() -> None:
    """The rules see the item's title, summary, publication date and language."""
    item = LabelledItem(
        "x1", "fr", "Titre", "Résumé", datetime(2020, 5, 1, tzinfo=UTC), frozenset()
    )
    entry = item.to_entry()
    assert (entry.title, entry.summary, entry.language) == ("Titre", "Résumé", "fr")
    assert entry.published == item.published


def _line(**fields: object) -> str:
    base: dict[str, object] = {
        "id": "x",
        "lang": "en",
        "title": "T",
        "summary": "S",
        "published": "2024-01-01T00:00:00+00:00",
        "tags": ["withdrawal"],
        "deadline": None,
    }
    base.update(fields)
    return json.dumps(base)


def test_parse_labels_reads_items_and_skips_blank_lines() -> None:
    """Every JSON line becomes an item; naive dates are taken as UTC."""
    lines = [_line(), "", _line(id="y", tags=[], published="2024-02-01", deadline="2024-03-01")]
    items = parse_labels(lines, "labels.jsonl")
    assert [i.id for i in items] == ["x", "y"]
    assert items[1].published.tzinfo is UTC
    assert items[1].deadline == date(2024, 3, 1)
    assert items[1].tags == frozenset()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "labels.jsonl:2: not JSON"),
        ("[1, 2]", "labels.jsonl:2: each line must be a JSON object"),
        (_line(tags=["withdraw"]), "labels.jsonl:2: unknown tag(s) withdraw"),
        (_line(tags="withdrawal"), "labels.jsonl:2: 'tags' must be a list of strings"),
        (json.dumps({"id": "z", "title": "T"}), "labels.jsonl:2: missing field 'published'"),
        (_line(published="yesterday"), "labels.jsonl:2: Invalid isoformat"),
        (_line(), "labels.jsonl:2: duplicate id 'x'"),
    ],
)
def test_parse_labels_names_the_line_and_the_problem(line: str, message: str) -> None:
    """A bad line raises LabelError naming the file, the line number and what is wrong."""
    with pytest.raises(LabelError) as caught:
        parse_labels([_line(), line], "labels.jsonl")
    assert str(caught.value).startswith(message)

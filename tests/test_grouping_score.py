"""The grouping scorer: B-cubed, alert recall, messages per event, merges, treaty ids (tables)."""

from __future__ import annotations

import pytest

from monitor.errors import RuleError
from monitor.events.score import Predicted, Truth, parse_truth, score

TRUTH = [
    Truth("a1", "A", "inf"),
    Truth("a2", "A", "inf"),
    Truth("a3", "A", "inf"),
    Truth("b1", "B", "inf"),
    Truth("c1", "C", "npt"),
    Truth("n1", None, None),
]


def test_a_perfect_grouping_scores_one() -> None:
    """Each event one story, nothing else alerting: every score is perfect."""
    predicted = {
        "a1": Predicted("s1", "inf"),
        "a2": Predicted("s1", "inf"),
        "a3": Predicted("s1", "inf"),
        "b1": Predicted("s2", "inf"),
        "c1": Predicted("s3", "npt"),
    }
    result = score(TRUTH, predicted)
    assert (result.precision, result.recall, result.f1, result.alert_recall) == (1, 1, 1, 1)
    assert result.messages_per_event == 1
    assert (result.merged, result.split, result.treaty_ids) == ([], {}, {})


def test_merges_splits_misses_and_treaty_ids_are_reported() -> None:
    """Two events in one story, one event over two stories, a miss, a false alert, two ids."""
    predicted = {
        "a1": Predicted("s1", "inf"),
        "a2": Predicted("s2", "inf"),
        "b1": Predicted("s1", "inf"),
        "c1": Predicted("s3", "term-1"),
        "n1": Predicted("s4", None),
    }
    result = score(TRUTH, predicted)
    assert result.merged == [("s1", ("A", "B"))]
    assert result.split == {"A": 2}
    assert result.alert_recall == pytest.approx(4 / 5)
    assert result.false_alerts == 1
    assert result.messages_per_event == pytest.approx((2 + 1 + 1) / 3)
    # reports of true events: a1 a2 a3(missed) b1 c1 (n1, a false alert, is counted apart, not
    # as a perfectly grouped singleton); precision a1 1/2, a2 1, a3 1, b1 1/2, c1 1
    assert result.precision == pytest.approx(4 / 5)
    # recall a1 1/3, a2 1/3, a3 1/3, b1 1, c1 1
    assert result.recall == pytest.approx(3 / 5)
    assert result.items == 5
    assert result.treaty_ids == {}
    other = score(TRUTH, {**predicted, "a2": Predicted("s1", "intermediate-range")})
    assert other.treaty_ids == {"inf": ("inf", "intermediate-range")}
    unnamed = score(TRUTH, {**predicted, "a2": Predicted("s1", None)})
    assert (unnamed.treaty_ids, unnamed.no_treaty_id) == ({}, {"inf": 1})


def test_a_bad_corpus_line_is_named() -> None:
    """A line that is not a row is a RuleError with its line number."""
    with pytest.raises(RuleError) as caught:
        parse_truth(['{"id": "x", "event": null}', "{oops"], "c.jsonl")
    assert caught.value.location_message().startswith("c.jsonl:2:")


def test_a_false_alert_never_raises_the_score() -> None:
    """An unrelated item that alerts is a false alert, not a perfectly grouped report: taking
    it away leaves B-cubed as it was, and it lowers the precision of a story it joins."""
    alone = {"a1": Predicted("s1", "inf"), "a2": Predicted("s1", "inf"), "n1": Predicted("s9")}
    without = {"a1": Predicted("s1", "inf"), "a2": Predicted("s1", "inf")}
    joined = {**without, "n1": Predicted("s1", "inf")}
    assert score(TRUTH, alone).f1 == pytest.approx(score(TRUTH, without).f1)
    assert score(TRUTH, alone).false_alerts == 1
    assert score(TRUTH, joined).precision < score(TRUTH, without).precision

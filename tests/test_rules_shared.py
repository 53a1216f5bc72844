"""Rules share their equal parts, and each part is answered once per entry and view."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path

from monitor.rules.conditions import AllOf, Condition, Guarded, Hit, Hits, Result, TermLeaf
from monitor.rules.guards import Guard
from monitor.rules.loader import load_rule_set
from tests.rules_helpers import entry, write

_TWO_RULES = """
version: 1
vocabularies:
  pacts: [treaty, accord, pact]
  exits: [quits, leaves, withdraws]
rules:
  - id: exit
    title: Exit
    severity: high
    channels: [t]
    guards: [negation]
    match: {same_sentence: [$pacts, $exits]}
  - id: formal-exit
    title: Formal exit
    severity: high
    channels: [t]
    guards: [negation]
    match:
      all:
        - same_sentence: [$pacts, $exits]
        - formally
"""


def test_an_equal_sub_condition_of_two_rules_is_one_object_in_the_plan(tmp_path: Path) -> None:
    """The plan interns equal sub-conditions, so their per-entry answers are shared."""
    rule_set = load_rule_set([write(tmp_path, _TWO_RULES)])
    first, second = (plan.condition for plan in rule_set.plan.rules if plan is not None)
    assert isinstance(first, Guarded)
    assert isinstance(second, Guarded)
    assert isinstance(second.child, AllOf)
    assert second.child.children[0] is first.child
    # The rules themselves keep their conditions as compiled (the reference path reads them).
    assert rule_set.rules[0].condition is not first


def test_both_rules_match_and_the_negated_one_does_not_on_either_path(tmp_path: Path) -> None:
    """Shared parts answer for each rule as its own condition would."""
    rule_set = load_rule_set([write(tmp_path, _TWO_RULES)])
    formal = entry(title="Kyiv formally quits the treaty")
    denied = entry(title="Kyiv does not quit the treaty")
    for reference in (False, True):
        assert [m.rule_id for m in rule_set.match(formal, reference=reference)] == [
            "exit",
            "formal-exit",
        ]
        assert rule_set.match(denied, reference=reference) == []


@dataclass(frozen=True, slots=True)
class _Counted(Condition):
    """Holds with no hits, counting how often it is evaluated."""

    calls: list[int]

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """Count the call; hold."""
        self.calls.append(1)
        return []


def _hits(
    *,
    shared: bool,
    texts: list[str] | None = None,
    found: dict[int, list[Hit]] | None = None,
) -> Hits:
    texts = texts or ["russia quits the treaty", "", ""]
    found = found or {0: [Hit(0, 7, 12, 0)], 1: [Hit(0, 17, 23, 1)]}
    return Hits(
        texts,
        lambda term: found.get(term, []),
        frozenset(found),
        ("title", "summary", "content"),
        2024,
        shared=shared,
    )


def test_a_condition_is_evaluated_once_per_entry_and_view_when_shared() -> None:
    """Asked again over the same hits, a condition's answer is remembered."""
    calls: list[int] = []
    counted = _Counted(calls)
    hits = _hits(shared=True)
    fields = frozenset({0, 1, 2})
    for _ in range(3):
        assert hits.evaluate(counted, fields) == []
        assert hits.title().evaluate(counted, fields) == []
    assert len(calls) == 2  # the entry's hits, and its headline's


def test_the_reference_path_evaluates_a_condition_every_time_it_is_asked() -> None:
    """Without sharing (the reference path) nothing is remembered."""
    calls: list[int] = []
    counted = _Counted(calls)
    hits = _hits(shared=False)
    for _ in range(3):
        hits.evaluate(counted, frozenset({0}))
    assert len(calls) == 3


def test_views_are_made_once_per_entry_and_a_headline_view_is_its_own_headline() -> None:
    """The headline, lead and guarded views are reused; narrowing a headline changes nothing."""
    hits = _hits(shared=True)
    own = frozenset({0, 1})
    assert hits.title() is hits.title()
    assert hits.lead() is hits.lead()
    assert hits.title().title() is hits.title()
    assert hits.lead().title() is hits.title()
    guarded = hits.guarded((Guard.NEGATION,), own)
    assert hits.guarded((Guard.NEGATION,), own) is guarded
    assert hits.title().guarded((Guard.NEGATION,), own) is guarded.title()


def test_a_guarded_view_keeps_the_hits_outside_the_guarded_clause() -> None:
    """ "does not quit the treaty": the verb and the treaty are inside the denial."""
    texts = ["kyiv does not quit the treaty, it leaves the pact", "", ""]
    quit_, treaty, leaves, pact = (
        Hit(0, 14, 18, 0),
        Hit(0, 23, 29, 1),
        Hit(0, 34, 40, 2),
        Hit(0, 45, 49, 3),
    )
    found = {0: [quit_], 1: [treaty], 2: [leaves], 3: [pact]}
    for shared in (True, False):
        hits = _hits(shared=shared, texts=texts, found=found)
        view = hits.guarded((Guard.NEGATION,), frozenset(found))
        every = frozenset({0, 1, 2})
        assert view.of(frozenset(found), every) == [leaves, pact]
        assert TermLeaf(frozenset({0, 1})).evaluate(view, every) is None


def test_a_match_leaves_nothing_for_the_cycle_collector(tmp_path: Path) -> None:
    """An entry's hits, views and caches are freed by reference counting as match returns."""
    rule_set = load_rule_set([write(tmp_path, _TWO_RULES)])
    guarded = entry(title="Kyiv formally quits the treaty", summary="It does not quit the pact.")
    rule_set.match(guarded)  # warm: compiled patterns and lazy tables are not garbage
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        assert [m.rule_id for m in rule_set.match(guarded)] == ["exit", "formal-exit"]
        assert gc.collect() == 0
    finally:
        if was_enabled:
            gc.enable()

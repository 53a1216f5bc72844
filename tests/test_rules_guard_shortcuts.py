"""The guards' shortcuts change nothing: the bound on guarded rules, the cue scan, the spelling.

On every corpus item (and the items padded with other items' text): a guarded rule evaluated
without its bound gives what it gives with it; cues found where the scan says they can begin are
those ``finditer`` finds; the cue patterns grouped by first letter match as the plain alternation.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache
from pathlib import Path

import pytest

from monitor.feeds.entry import Entry
from monitor.rules import guards
from monitor.rules.conditions import Guarded, Hits
from monitor.rules.engine import RuleSet
from monitor.rules.entryscan import EntryScan
from monitor.rules.evaluate import parse_labels
from monitor.rules.loader import load_rule_set

ROOT = Path(__file__).resolve().parent.parent


@cache
def _pack() -> RuleSet:
    return load_rule_set([ROOT / "rules"])


@cache
def _entries() -> tuple[Entry, ...]:
    """Every corpus item, and every tenth again with ~3 KB of other items' text as content."""
    entries: list[Entry] = []
    for path in sorted((ROOT / "tests" / "corpus").glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            entries += [item.to_entry() for item in parse_labels(handle, path.name)]
    padded = []
    for n, entry in enumerate(entries[::10]):
        others = [entries[(n * 7919 + k) % len(entries)] for k in range(12)]
        text = " ".join(f"{o.title}. {o.summary}" for o in others)[:3000]
        padded.append(dataclasses.replace(entry, content=text))
    return (*entries, *padded)


def _hits(rule_set: RuleSet, entry: Entry) -> Hits:
    plan = rule_set.plan
    scan = EntryScan(plan, rule_set.terms, [entry.field_text(name) for name in plan.fields])
    return Hits(scan.folded, scan.hits, scan.present, plan.fields, entry.published.year)


def test_a_guarded_rule_holds_with_its_bound_exactly_where_it_holds_without() -> None:
    """Guards only take hits away, so the bound (over every hit) never rules out a rule."""
    rule_set = _pack()
    plans = [p for p in rule_set.plan.rules if p is not None and isinstance(p.condition, Guarded)]
    assert plans
    held = 0
    for entry in _entries():
        hits = _hits(rule_set, entry)
        for plan in plans:
            guarded = plan.condition
            assert isinstance(guarded, Guarded)
            unbounded = guarded.unbounded(hits, plan.fields)
            assert guarded.evaluate(hits, plan.fields) == unbounded, (entry.id, plan.index)
            held += unbounded is not None
    assert held > 100  # the comparison covers rules that hold, not only rules that do not


@cache
def _texts() -> tuple[str, ...]:
    fields = [text for entry in _entries() for text in (entry.title, entry.summary, entry.content)]
    # Raw text too: capitals and accents the folded text lacks are no cue but must not trip.
    return (*(text.casefold() for text in fields), *fields[:2000])


@pytest.mark.parametrize("guard_set", [(g,) for g in guards.Guard] + [tuple(guards.Guard)])
def test_cues_found_from_the_scan_are_those_finditer_finds(
    guard_set: tuple[guards.Guard, ...],
) -> None:
    """Every cue pattern tried only where the scan saw a beginning finds every cue."""
    for text in _texts():
        everywhere = [None] * len(guards.cue_starts(text))
        assert guards.find_cues(text, guard_set, 2024) == guards.find_cues(
            text, guard_set, 2024, everywhere
        ), text


WORD_LISTS = [
    ["not", "never", "no", "nor", "rules out", "kein*", "n'est", "no longer"],
    ["y", "you", "и", "или", "но", "s'il", "si", "ob"],
    ["*drop", "'tis", "not"],  # words that do not open with a letter: the plain alternation
]


@pytest.mark.parametrize("words", WORD_LISTS)
def test_words_grouped_by_first_letter_match_as_the_plain_alternation(words: list[str]) -> None:
    """Same matches from finditer and from match at every offset, first listed word first."""
    spelled = [re.escape(w).replace(r"\*", r"\w*").replace(r"\ ", r"\s+") for w in words]
    plain = re.compile(r"(?<!\w)(?:" + "|".join(spelled) + r")(?!\w)")
    grouped = re.compile(guards._words(*words))
    samples = [
        "no, not now: you know y you и или но и s'il si ob nobody",
        "kein Vertrag keinesfalls keinen not-no never   rules  out rulesout n'est-ce",
        "ynot yno 'tis drop undrop и-или",
    ]
    for text in (*samples, *_texts()[:300]):
        assert [m.span() for m in plain.finditer(text)] == [
            m.span() for m in grouped.finditer(text)
        ]
        for offset in range(len(text)):
            a, b = plain.match(text, offset), grouped.match(text, offset)
            assert (a and a.span()) == (b and b.span())

"""The fast matching path finds exactly what the straightforward reference path finds."""

from __future__ import annotations

import dataclasses
from functools import cache
from pathlib import Path

import pytest

from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.evaluate import parse_labels
from monitor.rules.examples import example_entry
from monitor.rules.loader import load_rule_set
from tests.rules_helpers import entry, one_rule
from tests.test_rules_language import LOGIC, TERMS

ROOT = Path(__file__).resolve().parent.parent
CORPUS = sorted((ROOT / "tests" / "corpus").glob("*.jsonl"))


@cache
def _pack() -> RuleSet:
    return load_rule_set([ROOT / "rules"])


@cache
def _items(path: Path) -> tuple[Entry, ...]:
    with path.open(encoding="utf-8") as handle:
        return tuple(item.to_entry() for item in parse_labels(handle, path.name))


def _with_article(entries: tuple[Entry, ...], pool: tuple[Entry, ...]) -> list[Entry]:
    """Every fourth entry with ~3 KB of other items' text as its content."""
    padded = []
    for n, item in enumerate(entries[::4]):
        others = [pool[(n * 31 + k * 17) % len(pool)] for k in range(14)]
        text = " ".join(f"{o.title}. {o.summary}" for o in others)
        padded.append(dataclasses.replace(item, content=text))
    return padded


def _assert_same(rule_set: RuleSet, entries: list[Entry]) -> None:
    for item in entries:
        assert rule_set.match(item) == rule_set.match(item, reference=True), item.id


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_pack_finds_the_same_rules_tags_spans_and_dates_on_every_corpus_item(path: Path):
    """Title + summary of every labelled item: the fast path equals the reference path."""
    _assert_same(_pack(), list(_items(path)))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_the_pack_finds_the_same_matches_in_long_mixed_language_articles(path: Path):
    """Items with 3 KB of text in every corpus language: the fast path equals the reference."""
    pool = tuple(e for p in CORPUS for e in _items(p))
    _assert_same(_pack(), _with_article(_items(path), pool))


def test_every_example_of_the_pack_matches_the_same_way_on_both_paths():
    """The examples beside the shipped rules: the fast path equals the reference path."""
    pack = _pack()
    examples = [
        example_entry(rule, example, n)
        for rule in pack.rules
        for n, example in enumerate((*rule.examples_match, *rule.examples_no_match))
    ]
    assert examples
    _assert_same(pack, examples)


@pytest.mark.parametrize(("term", "text", "expected"), TERMS)
def test_every_term_example_of_the_rule_language_matches_the_same_way_on_both_paths(
    tmp_path: Path, term: str, text: str, expected: str | None
) -> None:
    """The term table of the rule-language tests: the fast path equals the reference."""
    quoted = "'" + term.replace("'", "''") + "'"
    _assert_same(one_rule(tmp_path, quoted), [entry(title=text), entry(summary=f"x. {text}")])


@pytest.mark.parametrize(("match", "title", "expected"), LOGIC)
def test_every_logic_example_of_the_rule_language_matches_the_same_way_on_both_paths(
    tmp_path: Path, match: str, title: str, expected: bool
) -> None:
    """The logic table of the rule-language tests: the fast path equals the reference."""
    _assert_same(one_rule(tmp_path, match), [entry(title=title)])

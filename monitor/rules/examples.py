"""Run the examples that live beside each rule (``examples: {match, no_match}``). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from monitor.feeds.entry import Entry
from monitor.rules.engine import Rule, RuleSet
from monitor.rules.match import Span
from monitor.rules.schema import ExampleModel

# Examples are timeless: a fixed publication date keeps deadline extraction reproducible.
EXAMPLE_DATE = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ExampleResult:
    """The outcome of one example of one rule."""

    rule: Rule
    expected: bool
    example: ExampleModel
    matched: bool
    spans: tuple[Span, ...]

    @property
    def passed(self) -> bool:
        """Whether the rule did what the example says."""
        return self.matched == self.expected


def example_entry(rule: Rule, example: ExampleModel, number: int) -> Entry:
    """The entry an example stands for (feed scoping defaults to what the rule asks for)."""
    feed = example.feed or (rule.feeds[0] if rule.feeds else "example")
    tags = example.feed_tags if example.feed_tags is not None else rule.feed_tags
    return Entry(
        id=f"example:{rule.id}:{number}",
        feed=feed,
        feed_url="",
        guid=f"example:{rule.id}:{number}",
        title=example.title,
        link=example.link,
        summary=example.summary,
        content=example.content,
        categories=example.categories,
        published=EXAMPLE_DATE,
        fetched_at=EXAMPLE_DATE,
        feed_tags=tags,
        language=example.language or "",
    )


def run_examples(rule_set: RuleSet) -> list[ExampleResult]:
    """Every example of every enabled rule, matched against the whole set."""
    results: list[ExampleResult] = []
    for rule in rule_set.rules:
        if not rule.enabled:
            continue
        cases = [(True, e) for e in rule.examples_match]
        cases += [(False, e) for e in rule.examples_no_match]
        for number, (expected, example) in enumerate(cases):
            entry = example_entry(rule, example, number)
            match = next((m for m in rule_set.match(entry) if m.rule_id == rule.id), None)
            spans = match.spans if match else tuple(rule_set.term_spans(rule.id, entry))
            results.append(ExampleResult(rule, expected, example, match is not None, spans))
    return results

"""The compiled rule set: one multi-pattern prefilter scan, exact term spans, then the logic.

Per entry: the matchable fields are case-folded and joined, hyperscan scans them once for every
term's literals (and the regex terms it can run), only the terms it saw are matched exactly, and
only the rules using those terms are evaluated. Pure: no I/O, no clock.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

import hyperscan

from monitor.feeds.entry import Entry
from monitor.rules.conditions import Condition, Hit, Hits, holds_without_hits
from monitor.rules.deadline import extract_deadline
from monitor.rules.match import Match, Severity, Span
from monitor.rules.schema import ExampleModel
from monitor.rules.terms import Term
from monitor.rules.throttle import throttle_key

# Joins the fields for the one scan; no phrase can cross it (\x00 is neither word nor space).
_FIELD_JOIN = "\n\x00\n"
_REGEX_FLAGS = (
    hyperscan.HS_FLAG_UTF8
    | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_CASELESS
    | hyperscan.HS_FLAG_PREFILTER
    | hyperscan.HS_FLAG_SINGLEMATCH
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule."""

    id: str
    title: str
    severity: Severity
    channels: tuple[str, ...]
    condition: Condition
    description: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = True
    fields: tuple[str, ...] = ("title", "summary", "content")
    feeds: tuple[str, ...] = ()
    feed_tags: tuple[str, ...] = ()
    realert_seconds: float = 0.0
    realert_key: str = "story"
    examples_match: tuple[ExampleModel, ...] = ()
    examples_no_match: tuple[ExampleModel, ...] = ()
    file: str = ""
    line: int = 0

    def applies_to(self, entry: Entry) -> bool:
        """Whether the rule's feed scoping admits the entry."""
        if self.feeds and entry.feed not in self.feeds:
            return False
        return not self.feed_tags or not set(self.feed_tags).isdisjoint(entry.feed_tags)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the scan needs, derived once from the rules and terms."""

    fields: tuple[str, ...]
    rule_fields: tuple[frozenset[int], ...]
    pattern_terms: tuple[tuple[int, ...], ...]
    unscanned_terms: tuple[int, ...]
    term_rules: dict[int, tuple[int, ...]]
    always_rules: tuple[int, ...]


@dataclass(frozen=True)
class RuleSet:
    """A validated, compiled set of rules; :meth:`match` is pure (no I/O, no clock)."""

    version: str
    rules: tuple[Rule, ...]
    terms: tuple[Term, ...] = field(repr=False)

    def __post_init__(self) -> None:
        plan, database = _build(self.rules, self.terms)
        object.__setattr__(self, "_plan", plan)
        object.__setattr__(self, "_database", database)

    @property
    def channels(self) -> frozenset[str]:
        """Every channel a rule of the set publishes to."""
        return frozenset(c for rule in self.rules for c in rule.channels)

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def match(self, entry: Entry) -> list[Match]:
        """Every enabled rule that matches the entry, in rule order, with its spans."""
        plan: _Plan = self._plan  # type: ignore[attr-defined]
        texts, folded, by_term = self._hits(entry, plan)
        if not by_term and not plan.always_rules:
            return []
        candidates = set(plan.always_rules)
        for term in by_term:
            candidates.update(plan.term_rules.get(term, ()))
        hits = Hits(folded, by_term)
        matches: list[Match] = []
        for index in sorted(candidates):
            rule = self.rules[index]
            if not rule.applies_to(entry):
                continue
            found = rule.condition.evaluate(hits, plan.rule_fields[index])
            if found is not None:
                matches.append(self._match(rule, entry, found, plan.fields, texts, folded))
        return matches

    def term_spans(self, rule_id: str, entry: Entry) -> list[Span]:
        """Where the terms of one rule occur in the entry, whether or not the rule matched."""
        plan: _Plan = self._plan  # type: ignore[attr-defined]
        index = next((i for i, r in enumerate(self.rules) if r.id == rule_id), None)
        if index is None:
            return []
        texts, folded, by_term = self._hits(entry, plan)
        terms = self.rules[index].condition.terms()
        fields = plan.rule_fields[index]
        found = [h for t in terms for h in by_term.get(t, ()) if h.field in fields]
        return self._spans(found, plan.fields, texts, folded)

    def _hits(self, entry: Entry, plan: _Plan) -> tuple[list[str], list[str], dict[int, list[Hit]]]:
        texts = [entry.field_text(name) for name in plan.fields]
        folded = [text.casefold() for text in texts]
        joined = _FIELD_JOIN.join(folded)
        terms = self._scan(joined, plan)
        return texts, folded, self._exact(terms, joined, folded) if terms else {}

    def _scan(self, joined: str, plan: _Plan) -> set[int]:
        database: hyperscan.Database | None = self._database  # type: ignore[attr-defined]
        seen: set[int] = set(plan.unscanned_terms)
        if database is None:
            return seen
        patterns: list[int] = []

        def on_match(pattern: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
            patterns.append(pattern)

        database.scan(joined.encode("utf-8", "replace"), match_event_handler=on_match)
        for pattern in patterns:
            seen.update(plan.pattern_terms[pattern])
        return seen

    def _exact(self, terms: set[int], joined: str, folded: list[str]) -> dict[int, list[Hit]]:
        starts: list[int] = []
        offset = 0
        for text in folded:
            starts.append(offset)
            offset += len(text) + len(_FIELD_JOIN)
        by_term: dict[int, list[Hit]] = {}
        for term in terms:
            for start, end in self.terms[term].spans(joined):
                index = bisect_right(starts, start) - 1
                base = starts[index]
                if end - base <= len(folded[index]):
                    by_term.setdefault(term, []).append(Hit(index, start - base, end - base, term))
        return by_term

    def _match(
        self,
        rule: Rule,
        entry: Entry,
        found: list[Hit],
        fields: tuple[str, ...],
        texts: list[str],
        folded: list[str],
    ) -> Match:
        spans = self._spans(found, fields, texts, folded)
        deadline = None
        if "deadline" in rule.tags:
            text = "\n".join(entry.field_text(name) for name in rule.fields)
            deadline = extract_deadline(text, entry.published)
        return Match(
            rule_id=rule.id,
            rule_title=rule.title,
            severity=rule.severity,
            channels=rule.channels,
            tags=rule.tags,
            spans=tuple(spans),
            deadline=deadline,
            throttle_key=throttle_key(rule.realert_key, entry),
            realert_seconds=rule.realert_seconds,
        )

    def _spans(
        self, found: list[Hit], fields: tuple[str, ...], texts: list[str], folded: list[str]
    ) -> list[Span]:
        spans: list[Span] = []
        covered = (-1, -1)  # field and end of the last kept hit
        for hit in sorted(set(found), key=lambda h: (h.field, h.start, -h.end, h.term)):
            if hit.field == covered[0] and hit.end <= covered[1]:
                continue  # inside a longer span already shown ("Treaty" in "INF Treaty")
            covered = (hit.field, hit.end)
            start, end = _original_offsets(texts[hit.field], folded[hit.field], hit)
            text = texts[hit.field][start:end]
            term = self.terms[hit.term].source
            spans.append(Span(field=fields[hit.field], start=start, end=end, text=text, term=term))
        return spans


def _original_offsets(text: str, folded: str, hit: Hit) -> tuple[int, int]:
    """Map offsets in the case-folded text back to the original (folding may lengthen: ß→ss)."""
    if len(text) == len(folded):
        return hit.start, hit.end
    owner: list[int] = []  # folded offset -> offset of the original char it came from
    for index, char in enumerate(text):
        owner.extend([index] * len(char.casefold()))
    return owner[hit.start], owner[hit.end - 1] + 1


def _build(rules: Sequence[Rule], terms: Sequence[Term]) -> tuple[_Plan, hyperscan.Database | None]:
    fields = tuple(dict.fromkeys(name for rule in rules if rule.enabled for name in rule.fields))
    rule_fields = tuple(frozenset(fields.index(n) for n in r.fields if n in fields) for r in rules)
    term_rules: dict[int, list[int]] = {}
    always_rules: list[int] = []
    for index, rule in enumerate(rules):
        if not rule.enabled:
            continue
        if holds_without_hits(rule.condition):
            always_rules.append(index)
        for term_id in rule.condition.terms():
            term_rules.setdefault(term_id, []).append(index)
    expressions: list[bytes] = []
    flags: list[int] = []
    pattern_terms: list[list[int]] = []
    literal_index: dict[str, int] = {}
    unscanned: list[int] = []
    for term_id in sorted(term_rules):
        term: Term = terms[term_id]
        if term.regex is not None:
            expression = term.regex.encode("utf-8")
            if not _compiles(expression, _REGEX_FLAGS):
                unscanned.append(term_id)
                continue
            expressions.append(expression)
            flags.append(_REGEX_FLAGS)
            pattern_terms.append([term_id])
            continue
        for literal in term.literals:
            if literal not in literal_index:
                literal_index[literal] = len(expressions)
                expressions.append(_literal_expression(literal))
                flags.append(hyperscan.HS_FLAG_SINGLEMATCH)
                pattern_terms.append([])
            pattern_terms[literal_index[literal]].append(term_id)
    database = None
    if expressions:
        database = hyperscan.Database()
        database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=flags,
        )
    plan = _Plan(
        fields=fields,
        rule_fields=rule_fields,
        pattern_terms=tuple(tuple(t) for t in pattern_terms),
        unscanned_terms=tuple(unscanned),
        term_rules={t: tuple(r) for t, r in term_rules.items()},
        always_rules=tuple(always_rules),
    )
    return plan, database


def _literal_expression(literal: str) -> bytes:
    """A hyperscan pattern matching exactly the UTF-8 bytes of ``literal``."""
    return "".join(
        c if c.isascii() and c.isalnum() else "".join(f"\\x{b:02x}" for b in c.encode("utf-8"))
        for c in literal
    ).encode("ascii")


def _compiles(expression: bytes, flags: int) -> bool:
    """Whether hyperscan accepts a regex term (else it is matched by re2 on every entry)."""
    try:
        hyperscan.Database().compile(expressions=[expression], ids=[0], elements=1, flags=[flags])
    except hyperscan.error:
        return False
    return True

"""The one multi-pattern scan: a hyperscan database over every term, and per-entry hit lookup.

Phrases are prefiltered by one literal each (the scan only says "may occur"); one-word terms get
their spans straight from the scan; regex terms are prefiltered by hyperscan (or, if it cannot
compile them, matched by re2 on every entry). Exact spans are computed lazily, only for the terms
of rules that are still candidates. Pure.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

import hyperscan

from monitor.rules.conditions import Condition, Hit, requirements
from monitor.rules.terms import Term, literal_spans

# Joins the fields for the one scan; no phrase can cross it (\x00 is neither word nor space).
FIELD_JOIN = "\n\x00\n"
_REGEX_FLAGS = (
    hyperscan.HS_FLAG_UTF8
    | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_CASELESS
    | hyperscan.HS_FLAG_PREFILTER
    | hyperscan.HS_FLAG_SINGLEMATCH
)


@dataclass(frozen=True, slots=True)
class RulePlan:
    """What the scan needs to know about one enabled rule."""

    index: int
    condition: Condition
    fields: frozenset[int]
    requires: tuple[frozenset[int], ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """The compiled scan: hyperscan database and the maps from patterns to terms to rules."""

    fields: tuple[str, ...]
    rules: tuple[RulePlan | None, ...]
    database: hyperscan.Database | None
    pattern_terms: tuple[tuple[int, ...], ...]
    term_pattern: dict[int, int]
    unscanned_terms: frozenset[int]
    trigger_rules: dict[int, tuple[int, ...]]
    always_rules: tuple[int, ...]

    def candidates(self, seen: set[int]) -> list[int]:
        """Indexes of the rules worth evaluating given the terms the scan saw, in rule order."""
        found = set(self.always_rules)
        for term in seen:
            found.update(self.trigger_rules.get(term, ()))
        kept = []
        for index in sorted(found):
            plan = self.rules[index]
            if plan is not None and all(not group.isdisjoint(seen) for group in plan.requires):
                kept.append(index)
        return kept


class EntryScan:
    """One entry's case-folded fields, what the scan saw, and exact hits computed on demand."""

    def __init__(self, plan: Plan, terms: Sequence[Term], texts: list[str]) -> None:
        self.plan = plan
        self.terms = terms
        self.texts = texts
        self.folded = [text.casefold() for text in texts]
        self.joined = FIELD_JOIN.join(self.folded)
        self.ends = _scan(plan.database, self.joined)
        self.seen = set(plan.unscanned_terms)
        for pattern in self.ends:
            self.seen.update(plan.pattern_terms[pattern])
        self._starts: list[int] | None = None
        self._cache: dict[int, list[Hit]] = {}

    def hits(self, term_id: int) -> list[Hit]:
        """Every exact hit of one term, in field coordinates (computed once)."""
        cached = self._cache.get(term_id)
        if cached is not None:
            return cached
        found: list[Hit] = []
        if term_id in self.seen:
            found = self._exact(term_id)
        self._cache[term_id] = found
        return found

    def _exact(self, term_id: int) -> list[Hit]:
        term = self.terms[term_id]
        if term.literal is not None and self.joined.isascii():
            # Byte offsets are character offsets only in ASCII text.
            ends = self.ends[self.plan.term_pattern[term_id]]
            spans = literal_spans(self.joined, term.literal, ends)
        else:
            spans = term.spans(self.joined)
        if self._starts is None:
            self._starts = _field_starts(self.folded)
        starts = self._starts
        found = []
        for start, end in spans:
            index = bisect_right(starts, start) - 1
            base = starts[index]
            if end - base <= len(self.folded[index]):
                found.append(Hit(index, start - base, end - base, term_id))
        return found


def _field_starts(folded: list[str]) -> list[int]:
    starts = []
    offset = 0
    for text in folded:
        starts.append(offset)
        offset += len(text) + len(FIELD_JOIN)
    return starts


def _scan(database: hyperscan.Database | None, joined: str) -> dict[int, list[int]]:
    """For each pattern seen, its end offsets (just one for prefilter-only patterns)."""
    ends: dict[int, list[int]] = {}
    if database is None:
        return ends

    def on_match(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
        if pattern in ends:
            ends[pattern].append(end)
        else:
            ends[pattern] = [end]

    database.scan(joined.encode("utf-8", "replace"), match_event_handler=on_match)
    return ends


@dataclass(frozen=True, slots=True)
class RuleShape:
    """The parts of a rule the plan needs (keeps this module free of the Rule type)."""

    enabled: bool
    fields: tuple[str, ...]
    condition: Condition


def build_plan(rules: Sequence[RuleShape], terms: Sequence[Term]) -> Plan:
    """Compile the scan for the enabled rules."""
    fields = tuple(dict.fromkeys(name for rule in rules if rule.enabled for name in rule.fields))
    plans: list[RulePlan | None] = []
    trigger_rules: dict[int, list[int]] = {}
    always: list[int] = []
    used: set[int] = set()
    for index, rule in enumerate(rules):
        if not rule.enabled:
            plans.append(None)
            continue
        requires = tuple(requirements(rule.condition))
        field_ids = frozenset(fields.index(name) for name in rule.fields)
        plans.append(RulePlan(index, rule.condition, field_ids, requires))
        used.update(rule.condition.terms())
        if not requires:
            always.append(index)
            continue
        # Index the rule under its most selective required group only.
        trigger = max(requires, key=lambda group: _selectivity(group, terms))
        for term in trigger:
            trigger_rules.setdefault(term, []).append(index)
    database, pattern_terms, term_pattern, unscanned = _compile(sorted(used), terms)
    return Plan(
        fields=fields,
        rules=tuple(plans),
        database=database,
        pattern_terms=pattern_terms,
        term_pattern=term_pattern,
        unscanned_terms=frozenset(unscanned),
        trigger_rules={t: tuple(r) for t, r in trigger_rules.items()},
        always_rules=tuple(always),
    )


def _selectivity(group: frozenset[int], terms: Sequence[Term]) -> float:
    """Higher for groups less likely to occur: long literals, few alternatives."""
    shortest = min(
        (min((len(lit) for lit in terms[t].literals), default=4) for t in group), default=0
    )
    return shortest - 2 * math.log2(len(group))


def _compile(
    used: Sequence[int], terms: Sequence[Term]
) -> tuple[hyperscan.Database | None, tuple[tuple[int, ...], ...], dict[int, int], list[int]]:
    expressions: list[bytes] = []
    flags: list[int] = []
    pattern_terms: list[list[int]] = []
    literal_index: dict[str, int] = {}
    term_pattern: dict[int, int] = {}
    unscanned: list[int] = []
    for term_id in used:
        term = terms[term_id]
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
            pattern = literal_index[literal]
            pattern_terms[pattern].append(term_id)
            if term.literal is not None:
                # A one-word term: report every occurrence, its spans come from the scan.
                term_pattern[term_id] = pattern
                flags[pattern] = 0
    database = None
    if expressions:
        database = hyperscan.Database()
        database.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=flags,
        )
    return database, tuple(tuple(t) for t in pattern_terms), term_pattern, unscanned


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

"""The one multi-pattern scan, compiled: a hyperscan database over every term, and the rule index.

Every term is announced by patterns that must occur wherever it matches: a phrase by its most
distinctive word (one literal per alternative of an inflection list), a regex by its longest
mandatory literal or, failing that, by itself in hyperscan's prefilter mode (or by nothing: then
it counts as always present). Most patterns report once per entry (HS_FLAG_SINGLEMATCH); the
verbatim beginnings of phrases (:attr:`Term.starts`) report every occurrence, so that a phrase's
exact spans are found by matching its pattern only where a match can begin
(:mod:`monitor.rules.entryscan`). Rules are indexed by their most selective required group.
Pure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import hyperscan

from monitor.rules.conditions import Condition, interned, requirements
from monitor.rules.terms import Term

_REGEX_FLAGS = (
    hyperscan.HS_FLAG_UTF8
    | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_CASELESS
    | hyperscan.HS_FLAG_PREFILTER
    | hyperscan.HS_FLAG_SINGLEMATCH
)


# Beginnings of phrases: every occurrence is reported, with its end offset.
_EVERY = hyperscan.HS_FLAG_CASELESS

# Word pieces shorter than this are not scanned for (they occur everywhere: "of", "a").
_MIN_PIECE = 3

# The pattern id standing for "always present": terms hyperscan cannot prefilter.
ALWAYS = -1


# What a phrase's matches hold: the patterns of the pieces of its words with one alternative
# (all of them are seen wherever it matches), and per word position with several alternatives,
# those alternatives (the patterns of one of them are all seen), split in two: the patterns of
# the alternatives of a single pattern (any one seen will do: one set operation, where most
# alternatives are a word of one piece) and the pattern sets of the others.
Choice = tuple[frozenset[int], tuple[frozenset[int], ...]]
Pieces = tuple[frozenset[int], tuple[Choice, ...]]


@dataclass(frozen=True, slots=True)
class RulePlan:
    """What the scan needs to know about one enabled rule."""

    index: int
    condition: Condition
    fields: frozenset[int]
    requires: tuple[frozenset[int], ...]  # pattern groups: one of each must occur
    # The same as term groups: one term of each must be present (checked once terms are known).
    term_requires: tuple[frozenset[int], ...] = ()
    # The words that state a due date (``due_words``), made of parts shared with other rules.
    due_words: Condition | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    """The compiled scan: hyperscan database and the maps from patterns to terms and rules."""

    fields: tuple[str, ...]
    rules: tuple[RulePlan | None, ...]
    database: hyperscan.Database | None
    term_patterns: dict[int, frozenset[int]]
    pattern_terms: dict[int, tuple[int, ...]]
    trigger_rules: dict[int, tuple[int, ...]]
    always_rules: tuple[int, ...]
    # Per phrase term: the patterns of the pieces its matches hold (checked before it counts as
    # present).
    term_pieces: dict[int, Pieces] = field(default_factory=dict)
    # Per phrase term with :attr:`Term.starts`: (pattern, UTF-8 length, length) of each beginning;
    # these patterns report every occurrence.
    term_starts: dict[int, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)
    every: frozenset[int] = frozenset()  # the patterns of term_starts
    # pattern_terms split in two: per pattern, the terms it announces that have no pieces (they
    # are present once it is seen), and those that have, with their pieces (needed patterns,
    # choices: see :func:`monitor.rules.entryscan._choices_hold`).
    pattern_plain: dict[int, tuple[int, ...]] = field(default_factory=dict)
    pattern_pieced: dict[int, tuple[tuple[int, frozenset[int], tuple[Choice, ...]], ...]] = field(
        default_factory=dict
    )

    def candidates(self, seen: set[int]) -> list[int]:
        """Indexes of the rules worth evaluating given the patterns seen, in rule order."""
        found = set(self.always_rules)
        trigger_rules = self.trigger_rules
        for pattern in seen:
            if pattern in trigger_rules:
                found.update(trigger_rules[pattern])
        kept = []
        for index in sorted(found):
            plan = self.rules[index]
            if plan is None:
                continue
            for group in plan.requires:
                if group.isdisjoint(seen):
                    break
            else:
                kept.append(index)
        return kept


@dataclass(frozen=True, slots=True)
class RuleShape:
    """The parts of a rule the plan needs (keeps this module free of the Rule type)."""

    enabled: bool
    fields: tuple[str, ...]
    condition: Condition
    due_words: Condition | None = None


def build_plan(
    rules: Sequence[RuleShape], terms: Sequence[Term], compiler: DatabaseCompiler | None = None
) -> Plan:
    """Compile the scan for the enabled rules (``compiler``: default, compile here)."""
    fields = tuple(dict.fromkeys(name for rule in rules if rule.enabled for name in rule.fields))
    used = sorted(
        {
            t
            for rule in rules
            if rule.enabled
            for part in (rule.condition, rule.due_words)
            if part is not None
            for t in part.terms()
        }
    )
    database, term_patterns, term_pieces, term_starts = _compile(used, terms, compiler or DIRECT)
    pattern_terms: dict[int, list[int]] = {}
    for term_id, patterns in term_patterns.items():
        for pattern in patterns:
            pattern_terms.setdefault(pattern, []).append(term_id)
    plans: list[RulePlan | None] = []
    trigger_rules: dict[int, list[int]] = {}
    always: list[int] = []
    parts: dict[object, object] = {}  # the rules' conditions share their equal parts
    for index, rule in enumerate(rules):
        if not rule.enabled:
            plans.append(None)
            continue
        condition = interned(rule.condition, parts)
        term_groups = requirements(condition)
        requires = tuple(
            frozenset().union(*(term_patterns[t] for t in group)) for group in term_groups
        )
        field_ids = frozenset(fields.index(name) for name in rule.fields)
        due_words = None if rule.due_words is None else interned(rule.due_words, parts)
        plans.append(RulePlan(index, condition, field_ids, requires, tuple(term_groups), due_words))
        if not requires:
            always.append(index)
            continue
        # Index the rule under its most selective required group only.
        best = max(range(len(requires)), key=lambda i: _selectivity(term_groups[i], terms))
        for pattern in requires[best]:
            trigger_rules.setdefault(pattern, []).append(index)
    return Plan(
        fields=fields,
        rules=tuple(plans),
        database=database,
        term_patterns=term_patterns,
        pattern_terms={p: tuple(t) for p, t in pattern_terms.items()},
        trigger_rules={p: tuple(r) for p, r in trigger_rules.items()},
        always_rules=tuple(always),
        term_pieces=term_pieces,
        term_starts=term_starts,
        every=frozenset(p for starts in term_starts.values() for p, _, _ in starts),
        pattern_plain={
            p: plain
            for p, t in pattern_terms.items()
            if (plain := tuple(term for term in t if term not in term_pieces))
        },
        pattern_pieced={
            p: pieced
            for p, t in pattern_terms.items()
            if (pieced := tuple((term, *term_pieces[term]) for term in t if term in term_pieces))
        },
    )


def _selectivity(group: frozenset[int], terms: Sequence[Term]) -> float:
    """Higher for groups less likely to occur: long literals, few alternatives."""
    shortest = min(
        (min((len(lit) for lit in terms[t].literals), default=4) for t in group), default=0
    )
    return shortest - 2 * math.log2(len(group))


def _compile(
    used: Sequence[int], terms: Sequence[Term], compiler: DatabaseCompiler
) -> tuple[
    hyperscan.Database | None,
    dict[int, frozenset[int]],
    dict[int, Pieces],
    dict[int, tuple[tuple[int, int, int], ...]],
]:
    """One hyperscan database for every term; for each term, the patterns that announce it; for
    each phrase the patterns of the pieces of its words (see :attr:`Plan.term_pieces`) and of
    its beginnings (see :attr:`Plan.term_starts`)."""
    expressions: list[bytes] = []
    flags: list[int] = []
    index: dict[bytes, int] = {}
    term_patterns: dict[int, frozenset[int]] = {}
    term_pieces: dict[int, Pieces] = {}
    term_starts: dict[int, tuple[tuple[int, int, int], ...]] = {}

    spelled: dict[str, bytes] = {}  # a pack repeats its literals many times over

    def literal_expression(literal: str) -> bytes:
        found = spelled.get(literal)
        if found is None:
            found = spelled[literal] = _literal_expression(literal)
        return found

    def pattern(expression: bytes, flag: int) -> int:
        if expression not in index:
            index[expression] = len(expressions)
            expressions.append(expression)
            flags.append(flag)
        return index[expression]

    def every(literal: str) -> int:
        """A literal that reports every occurrence (it may also announce a term: same id)."""
        found = pattern(literal_expression(literal), _EVERY)
        flags[found] = _EVERY
        return found

    regexes = list(dict.fromkeys(t.encode("utf-8") for i in used if (t := terms[i].regex)))
    takes = dict(zip(regexes, compiler.accepts(regexes, _REGEX_FLAGS), strict=True))
    for term_id in used:
        term = terms[term_id]
        single = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS
        if term.regex is not None:
            expression = term.regex.encode("utf-8")
            found = {pattern(expression, _REGEX_FLAGS) if takes[expression] else ALWAYS}
        else:
            found = {pattern(literal_expression(lit), single) for lit in term.literals}
        positions = tuple(
            alternatives
            for alternatives in (
                tuple(
                    frozenset(
                        pattern(literal_expression(piece), single)
                        for piece in pieces
                        if len(piece) >= _MIN_PIECE
                    )
                    for pieces in position
                )
                for position in term.pieces
            )
            if all(alternatives)  # a position with a short word is no filter
        )
        if term.starts and term.literal is None:  # phrases, and regexes that open with literals
            term_starts[term_id] = tuple(
                (every(start), len(start.encode("utf-8")), len(start)) for start in term.starts
            )
            # One more "word": without a beginning seen there is no match.
            positions += (tuple(frozenset((p,)) for p, _, _ in term_starts[term_id]),)
        if len(positions) > 1 or term_id in term_starts:
            sole = [alternatives[0] for alternatives in positions if len(alternatives) == 1]
            needed: frozenset[int] = frozenset().union(*sole)
            choices = tuple(
                _choice(alternatives) for alternatives in positions if len(alternatives) > 1
            )
            term_pieces[term_id] = (needed, choices)
        term_patterns[term_id] = frozenset(found)
    database = compiler.database(expressions, flags) if expressions else None
    return database, term_patterns, term_pieces, term_starts


def _choice(alternatives: tuple[frozenset[int], ...]) -> Choice:
    """One word position's alternatives as a :data:`Choice`."""
    singles = frozenset(p for patterns in alternatives if len(patterns) == 1 for p in patterns)
    return singles, tuple(patterns for patterns in alternatives if len(patterns) != 1)


def _literal_expression(literal: str) -> bytes:
    """A hyperscan pattern matching exactly the UTF-8 bytes of ``literal``."""
    return "".join(
        c if c.isascii() and c.isalnum() else "".join(f"\\x{b:02x}" for b in c.encode("utf-8"))
        for c in literal
    ).encode("ascii")


class DatabaseCompiler(Protocol):
    """Builds the scan's hyperscan database (directly, or through a cache on disk)."""

    def accepts(self, expressions: Sequence[bytes], flag: int) -> list[bool]:
        """Which expressions hyperscan compiles with ``flag``."""
        ...

    def database(self, expressions: Sequence[bytes], flags: Sequence[int]) -> hyperscan.Database:
        """One database of the expressions, pattern ids in list order."""
        ...


class _Direct:
    """Compiles every time (the default; :mod:`monitor.rules.hscache` adds a disk cache)."""

    def accepts(self, expressions: Sequence[bytes], flag: int) -> list[bool]:
        """Whether hyperscan accepts each regex term (else re2 matches it on every entry)."""
        return [_compiles(expression, flag) for expression in expressions]

    def database(self, expressions: Sequence[bytes], flags: Sequence[int]) -> hyperscan.Database:
        """Compile the database."""
        database = hyperscan.Database()
        # No ids list: hyperscan then numbers the patterns 0..n-1 itself, which is what we want.
        # python-hyperscan (0.9.1) keeps a reference to every id it is given and never releases
        # it, so a list of n ints leaked n ints (2 MB per 50,000-term reload) on every compile.
        database.compile(
            expressions=list(expressions), elements=len(expressions), flags=list(flags)
        )
        return database


DIRECT: DatabaseCompiler = _Direct()


def _compiles(expression: bytes, flag: int) -> bool:
    try:
        database = hyperscan.Database()
        database.compile(expressions=[expression], ids=[0], elements=1, flags=[flag])
    except hyperscan.error:
        return False
    return True

"""The one multi-pattern scan: a hyperscan database over every term, and per-entry hit lookup.

Every term is announced by patterns that must occur wherever it matches: a phrase by its most
distinctive word (one literal per alternative of an inflection list), a regex by its longest
mandatory literal or, failing that, by itself in hyperscan's prefilter mode (or by nothing: then
it counts as always present). Each pattern reports once per entry (HS_FLAG_SINGLEMATCH). Rules are
indexed by their most selective required group; exact spans are computed lazily, only for the
terms of rules that are still candidates. Pure.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import hyperscan

from monitor.rules.conditions import Condition, Hit, requirements
from monitor.rules.offsets import OffsetMap
from monitor.rules.terms import Term, on_boundaries

# Joins the fields for the one scan; no phrase can cross it (\x00 is neither word nor space).
FIELD_JOIN = "\n\x00\n"
_REGEX_FLAGS = (
    hyperscan.HS_FLAG_UTF8
    | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_CASELESS
    | hyperscan.HS_FLAG_PREFILTER
    | hyperscan.HS_FLAG_SINGLEMATCH
)


# Word pieces shorter than this are not scanned for (they occur everywhere: "of", "a").
_MIN_PIECE = 3

# The pattern id standing for "always present": terms hyperscan cannot prefilter.
ALWAYS = -1


@dataclass(frozen=True, slots=True)
class RulePlan:
    """What the scan needs to know about one enabled rule."""

    index: int
    condition: Condition
    fields: frozenset[int]
    requires: tuple[frozenset[int], ...]  # pattern groups: one of each must occur


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
    # Per phrase term, per word position, per alternative: patterns of the pieces a match holds.
    term_pieces: dict[int, tuple[tuple[frozenset[int], ...], ...]] = field(default_factory=dict)

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


class EntryScan:
    """One entry's case-folded fields, what the scan saw, and exact hits computed on demand."""

    def __init__(
        self, plan: Plan, terms: Sequence[Term], texts: list[str], *, reference: bool = False
    ) -> None:
        self.plan = plan
        self.reference = reference
        self.terms = terms
        self.texts = texts
        raw = FIELD_JOIN.join(texts)
        # ASCII text needs no Unicode folding to be scanned: the literals are matched caseless.
        # Folding (and everything after the scan) happens only for entries that have candidates.
        self._ascii = raw.isascii()
        self._folded: list[str] | None = None
        self._joined = ""
        self._present: frozenset[int] | None = None
        self.seen = _scan(plan.database, raw if self._ascii else self.joined)
        self._starts: list[int] | None = None
        self._encoded: bytes | None = None
        self._cache: dict[int, list[Hit]] = {}
        self._maps: dict[int, OffsetMap | None] | None = None

    # Plain lazy attributes rather than functools.cached_property, which takes a lock per access
    # in Python 3.11: these are read for every candidate rule of every entry.
    @property
    def present(self) -> frozenset[int]:
        """Terms that may occur: those announced by a pattern the scan saw and, for phrases,
        with a piece of every word seen (the reference path skips this second look)."""
        if self._present is None:
            pattern_terms = self.plan.pattern_terms
            seen = self.seen
            announced = {t for p in seen if p in pattern_terms for t in pattern_terms[p]}
            if not self.reference:
                pieces = self.plan.term_pieces
                announced = {t for t in announced if t not in pieces or _holds(pieces[t], seen)}
            self._present = frozenset(announced)
        return self._present

    @property
    def folded(self) -> list[str]:
        """The fields, case-folded (``lower`` is the same for ASCII, and faster)."""
        if self._folded is None:
            self._folded = [t.lower() if self._ascii else t.casefold() for t in self.texts]
            self._joined = FIELD_JOIN.join(self._folded)
        return self._folded

    @property
    def joined(self) -> str:
        """The folded fields joined by :data:`FIELD_JOIN`."""
        if self._folded is None:
            self.folded  # noqa: B018 - computes both
        return self._joined

    def _utf8_spans(self, term: Term) -> list[tuple[int, int]]:
        """Spans of a term matched by RE2, over the entry's text encoded once (the RE2 wrapper
        encodes a str again for every search and maps every offset back one by one)."""
        if self._encoded is None:
            self._encoded = self.joined.encode("utf-8", "surrogatepass")
        encoded = self._encoded
        found = [m.span() for m in term.finder.finditer(encoded)]  # type: ignore[arg-type]
        if not found:
            return []
        text = self.joined
        if len(encoded) != len(text):
            chars = _char_offsets(encoded, (offset for span in found for offset in span))
            found = [(chars[start], chars[end]) for start, end in found]
        return [
            (start, end)
            for start, end in found
            if end > start and (not term.checks_boundaries or on_boundaries(text, start, end))
        ]

    def original_span(self, hit: Hit) -> tuple[int, int]:
        """A hit's span in the original field text (each field's offset map is built once)."""
        if self._maps is None:
            self._maps = {}
        field = hit.field
        if field not in self._maps:
            same = len(self.texts[field]) == len(self.folded[field])
            self._maps[field] = None if same else OffsetMap(self.texts[field])
        offsets = self._maps[field]
        return (hit.start, hit.end) if offsets is None else offsets.span(hit.start, hit.end)

    def hits(self, term_id: int) -> list[Hit]:
        """Every exact hit of one term, in field coordinates (computed once)."""
        cached = self._cache.get(term_id)
        if cached is not None:
            return cached
        found = self._exact(term_id) if term_id in self.present else []
        self._cache[term_id] = found
        return found

    def _exact(self, term_id: int) -> list[Hit]:
        term = self.terms[term_id]
        if self.reference or isinstance(term.finder, re.Pattern) or term.literal is not None:
            spans: Iterable[tuple[int, int]] = term.spans(self.joined)
        else:
            spans = self._utf8_spans(term)
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


def _char_offsets(encoded: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Character offsets of the given UTF-8 byte offsets (each on a character start)."""
    found = {0: 0}
    last = 0
    for offset in sorted(set(offsets)):
        found[offset] = found[last] + len(encoded[last:offset].decode("utf-8", "surrogatepass"))
        last = offset
    return found


def _holds(positions: tuple[tuple[frozenset[int], ...], ...], seen: set[int]) -> bool:
    """Whether every word position has an alternative whose pieces were all seen."""
    for alternatives in positions:
        for patterns in alternatives:
            if patterns <= seen:
                break
        else:
            return False
    return True


def _field_starts(folded: list[str]) -> list[int]:
    starts = []
    offset = 0
    for text in folded:
        starts.append(offset)
        offset += len(text) + len(FIELD_JOIN)
    return starts


def _scan(database: hyperscan.Database | None, joined: str) -> set[int]:
    """The patterns that occur in ``joined`` (each reported once: HS_FLAG_SINGLEMATCH)."""
    seen = {ALWAYS}
    if database is not None:
        database.scan(
            joined.encode("utf-8", "replace"),
            match_event_handler=lambda pattern, _start, _end, _flags, _ctx: seen.add(pattern),
        )
    return seen


@dataclass(frozen=True, slots=True)
class RuleShape:
    """The parts of a rule the plan needs (keeps this module free of the Rule type)."""

    enabled: bool
    fields: tuple[str, ...]
    condition: Condition


def build_plan(
    rules: Sequence[RuleShape], terms: Sequence[Term], compiler: DatabaseCompiler | None = None
) -> Plan:
    """Compile the scan for the enabled rules (``compiler``: default, compile here)."""
    fields = tuple(dict.fromkeys(name for rule in rules if rule.enabled for name in rule.fields))
    used = sorted({t for rule in rules if rule.enabled for t in rule.condition.terms()})
    database, term_patterns, term_pieces = _compile(used, terms, compiler or DIRECT)
    pattern_terms: dict[int, list[int]] = {}
    for term_id, patterns in term_patterns.items():
        for pattern in patterns:
            pattern_terms.setdefault(pattern, []).append(term_id)
    plans: list[RulePlan | None] = []
    trigger_rules: dict[int, list[int]] = {}
    always: list[int] = []
    for index, rule in enumerate(rules):
        if not rule.enabled:
            plans.append(None)
            continue
        term_groups = requirements(rule.condition)
        requires = tuple(
            frozenset().union(*(term_patterns[t] for t in group)) for group in term_groups
        )
        field_ids = frozenset(fields.index(name) for name in rule.fields)
        plans.append(RulePlan(index, rule.condition, field_ids, requires))
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
    dict[int, tuple[tuple[frozenset[int], ...], ...]],
]:
    """One hyperscan database for every term; for each term, the patterns that announce it, and
    for each phrase the patterns of the pieces of its words (see :attr:`Plan.term_pieces`)."""
    expressions: list[bytes] = []
    flags: list[int] = []
    index: dict[bytes, int] = {}
    term_patterns: dict[int, frozenset[int]] = {}
    term_pieces: dict[int, tuple[tuple[frozenset[int], ...], ...]] = {}

    def pattern(expression: bytes, flag: int) -> int:
        if expression not in index:
            index[expression] = len(expressions)
            expressions.append(expression)
            flags.append(flag)
        return index[expression]

    regexes = list(dict.fromkeys(t.encode("utf-8") for i in used if (t := terms[i].regex)))
    takes = dict(zip(regexes, compiler.accepts(regexes, _REGEX_FLAGS), strict=True))
    for term_id in used:
        term = terms[term_id]
        if term.regex is not None:
            expression = term.regex.encode("utf-8")
            found = {pattern(expression, _REGEX_FLAGS) if takes[expression] else ALWAYS}
        else:
            single = hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_CASELESS
            found = {pattern(_literal_expression(lit), single) for lit in term.literals}
            positions = tuple(
                alternatives
                for alternatives in (
                    tuple(
                        frozenset(
                            pattern(_literal_expression(piece), single)
                            for piece in pieces
                            if len(piece) >= _MIN_PIECE
                        )
                        for pieces in position
                    )
                    for position in term.pieces
                )
                if all(alternatives)  # a position with a short word is no filter
            )
            if len(positions) > 1:
                term_pieces[term_id] = positions
        term_patterns[term_id] = frozenset(found)
    database = compiler.database(expressions, flags) if expressions else None
    return database, term_patterns, term_pieces


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

"""The logic of a rule (all / any / none / near / same_sentence) evaluated over term hits. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
# A sentence ends at . ! ? … (and CJK stops) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*\s+|\n+")
_ABBREVIATION = re.compile(
    r"(?:^|\W)(?:\w|mr|mrs|ms|dr|st|no|vs|etc|gen|sen|rep|gov|jan|feb|mar|apr|jun|jul|aug|sep|"
    r"sept|oct|nov|dec|approx|art|para|cf|e\.g|i\.e)\.$"
)


@dataclass(frozen=True, slots=True, order=True)
class Hit:
    """One occurrence of one term in one field (offsets in the case-folded field text)."""

    field: int
    start: int
    end: int
    term: int


class Hits:
    """Every hit of one entry, by term, plus lazily computed word and sentence positions."""

    def __init__(self, texts: Sequence[str], lookup: Callable[[int], list[Hit]]) -> None:
        self.texts = texts
        self.lookup = lookup

    def of(self, terms: Sequence[int], fields: frozenset[int]) -> list[Hit]:
        """Hits of any of ``terms`` inside ``fields``."""
        found: list[Hit] = []
        for term in terms:
            for hit in self.lookup(term):
                if hit.field in fields:
                    found.append(hit)
        return found

    def words_between(self, field: int, start: int, end: int, limit: int) -> int:
        """Words in ``texts[field][start:end]``, counted only up to ``limit + 1``."""
        count = 0
        if end > start:
            for _ in _WORD.finditer(self.texts[field], start, end):
                count += 1
                if count > limit:
                    break
        return count

    def sentence_break(self, field: int, start: int, end: int) -> bool:
        """Whether a sentence ends inside ``texts[field][start:end]``.

        Abbreviations such as "U.S." or "Dr." do not end a sentence.
        """
        text = self.texts[field]
        for m in _SENTENCE_END.finditer(text, start, end):
            dot = m.start()
            if not (m.group()[0] == "." and _ABBREVIATION.search(text, max(0, dot - 8), dot + 1)):
                return True
        return False


Result = list[Hit] | None


class Condition:
    """A node of a rule's logic; ``evaluate`` returns the hits that made it hold, or ``None``."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """Hits that made the condition hold (empty for a pure ``none``), or ``None``."""
        raise NotImplementedError

    def terms(self) -> set[int]:
        """Every term id this condition refers to."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class TermLeaf(Condition):
    """Any of the terms (one term, or a vocabulary's terms)."""

    ids: tuple[int, ...]

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """All hits of the terms, or ``None`` if there are none."""
        return hits.of(self.ids, fields) or None

    def terms(self) -> set[int]:
        """The term ids."""
        return set(self.ids)


@dataclass(frozen=True, slots=True)
class _Composite(Condition):
    """Base of conditions over child conditions."""

    children: tuple[Condition, ...]

    def terms(self) -> set[int]:
        """Term ids of the children."""
        return set().union(*(c.terms() for c in self.children))


@dataclass(frozen=True, slots=True)
class AllOf(_Composite):
    """Every child holds."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The children's hits, if every child holds."""
        found: list[Hit] = []
        for child in self.children:
            result = child.evaluate(hits, fields)
            if result is None:
                return None
            found.extend(result)
        return found


@dataclass(frozen=True, slots=True)
class AnyOf(_Composite):
    """At least one child holds (every child that holds contributes its hits)."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The hits of the children that hold, if any does."""
        found: list[Hit] | None = None
        for child in self.children:
            result = child.evaluate(hits, fields)
            if result is not None:
                found = (found or []) + result
        return found


@dataclass(frozen=True, slots=True)
class NoneOf(_Composite):
    """No child holds; contributes no hits."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """An empty hit list when no child holds, else ``None``."""
        for child in self.children:
            if child.evaluate(hits, fields) is not None:
                return None
        return []


@dataclass(frozen=True, slots=True)
class _Grouped(Condition):
    """Base of conditions that need one hit of each group of terms, placed together."""

    groups: tuple[tuple[int, ...], ...]

    def terms(self) -> set[int]:
        """Term ids of every group."""
        return {t for group in self.groups for t in group}

    def _candidates(self, hits: Hits, fields: frozenset[int]) -> dict[int, list[list[Hit]]] | None:
        """Per field, the hits of each group; ``None`` if some group has no hit at all."""
        per_group = [hits.of(group, fields) for group in self.groups]
        if not all(per_group):
            return None
        by_field: dict[int, list[list[Hit]]] = {}
        for index, group_hits in enumerate(per_group):
            for hit in group_hits:
                by_field.setdefault(hit.field, [[] for _ in self.groups])[index].append(hit)
        return {f: lists for f, lists in by_field.items() if all(lists)}


@dataclass(frozen=True, slots=True)
class Near(_Grouped):
    """One hit of each group, with at most ``within`` words between any two of them."""

    within: int = 0

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The closest set of hits found, if they lie within the distance."""
        for field, lists in (self._candidates(hits, fields) or {}).items():
            placed = sorted(
                (hit.start, index, hit)
                for index, group_hits in enumerate(lists)
                for hit in group_hits
            )
            found = self._window(hits, field, placed)
            if found is not None:
                return found
        return None

    def _window(self, hits: Hits, field: int, placed: list[tuple[int, int, Hit]]) -> Result:
        """From each hit (in text order) take the next hit of every other group; check the gap."""
        within = self.within
        for i, (_, group, hit) in enumerate(placed):
            chosen = {group: hit}
            first_end, last_start = hit.end, hit.start
            for _, other, other_hit in placed[i + 1 :]:
                if hits.words_between(field, first_end, other_hit.start, within) > within:
                    break  # later hits start later still: the gap only grows
                if other not in chosen:
                    chosen[other] = other_hit
                    first_end = min(first_end, other_hit.end)
                    last_start = max(last_start, other_hit.start)
                    if len(chosen) == len(self.groups):
                        break
            complete = len(chosen) == len(self.groups)
            if complete and hits.words_between(field, first_end, last_start, within) <= within:
                return list(chosen.values())
        return None


@dataclass(frozen=True, slots=True)
class SameSentence(_Grouped):
    """One hit of each group inside one sentence of one field."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The first set of hits, one per group, with no sentence end among them."""
        for field, lists in (self._candidates(hits, fields) or {}).items():
            placed = sorted(
                (hit.start, index, hit)
                for index, group_hits in enumerate(lists)
                for hit in group_hits
            )
            for i, (start, group, hit) in enumerate(placed):
                chosen = {group: hit}
                for _, other, other_hit in placed[i + 1 :]:
                    if hits.sentence_break(field, start, max(hit.end, other_hit.end)):
                        break  # later hits lie beyond this sentence end too
                    chosen.setdefault(other, other_hit)
                    if len(chosen) == len(self.groups):
                        return list(chosen.values())
        return None


def requirements(condition: Condition) -> list[frozenset[int]]:
    """Groups of terms of which at least one each must occur for the condition to hold.

    Empty when the condition can hold without any hit (a lone ``none``): such rules are
    evaluated for every entry.
    """
    if isinstance(condition, TermLeaf):
        return [frozenset(condition.ids)]
    if isinstance(condition, _Grouped):
        return [frozenset(group) for group in condition.groups]
    if isinstance(condition, AllOf):
        return [group for child in condition.children for group in requirements(child)]
    if isinstance(condition, AnyOf):
        # Some child must hold, so some term of (any one group of) each child must occur.
        per_child = [requirements(child) for child in condition.children]
        if not all(per_child):
            return []
        return [frozenset().union(*(groups[0] for groups in per_child))]
    return []

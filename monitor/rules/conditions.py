"""The logic of a rule (all / any / none / near / same_sentence) evaluated over term hits. Pure."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
# A sentence ends at . ! ? … (and CJK stops) followed by space, or at a line break.
_SENTENCE_END = re.compile(r"[.!?…。！？]+[\"'”’»)\]]*\s+|\n+")
_ABBREVIATION = re.compile(
    r"(?:^|\W)(?:\w|mr|mrs|ms|dr|st|no|vs|etc|gen|sen|rep|gov|jan|feb|mar|apr|jun|jul|aug|sep|"
    r"sept|oct|nov|dec|approx|art|para|cf|e\.g|i\.e)\.$"
)


@dataclass(frozen=True, slots=True)
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
        self._words: dict[int, list[int]] = {}
        self._sentences: dict[int, list[int]] = {}

    def of(self, terms: Sequence[int], fields: frozenset[int]) -> list[Hit]:
        """Hits of any of ``terms`` inside ``fields``."""
        found: list[Hit] = []
        for term in terms:
            for hit in self.lookup(term):
                if hit.field in fields:
                    found.append(hit)
        return found

    def word_range(self, hit: Hit) -> tuple[int, int]:
        """Index of the first and the last word the hit covers in its field."""
        starts = self._words.get(hit.field)
        if starts is None:
            starts = [m.start() for m in _WORD.finditer(self.texts[hit.field])]
            self._words[hit.field] = starts
        first = bisect_left(starts, hit.start)
        return first, max(first, bisect_left(starts, hit.end) - 1)

    def sentence(self, hit: Hit) -> int:
        """Index of the sentence the hit lies in, or -1 when it crosses a sentence end."""
        starts = self._sentences.get(hit.field)
        if starts is None:
            starts = sentence_starts(self.texts[hit.field])
            self._sentences[hit.field] = starts
        index = bisect_right(starts, hit.start) - 1
        return index if bisect_right(starts, hit.end - 1) - 1 == index else -1


def sentence_starts(text: str) -> list[int]:
    """Offsets where sentences begin (abbreviations such as "U.S." or "Dr." do not end one)."""
    starts = [0]
    for m in _SENTENCE_END.finditer(text):
        if m.group().startswith(".") and _ABBREVIATION.search(
            text, max(0, m.start() - 8), m.start() + 1
        ):
            continue
        starts.append(m.end())
    return starts


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
class AllOf(Condition):
    """Every child holds."""

    children: tuple[Condition, ...]

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The children's hits, if every child holds."""
        found: list[Hit] = []
        for child in self.children:
            result = child.evaluate(hits, fields)
            if result is None:
                return None
            found.extend(result)
        return found

    def terms(self) -> set[int]:
        """Term ids of the children."""
        return set().union(*(c.terms() for c in self.children))


@dataclass(frozen=True, slots=True)
class AnyOf(Condition):
    """At least one child holds (every child that holds contributes its hits)."""

    children: tuple[Condition, ...]

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The hits of the children that hold, if any does."""
        found: list[Hit] | None = None
        for child in self.children:
            result = child.evaluate(hits, fields)
            if result is not None:
                found = (found or []) + result
        return found

    def terms(self) -> set[int]:
        """Term ids of the children."""
        return set().union(*(c.terms() for c in self.children))


@dataclass(frozen=True, slots=True)
class NoneOf(Condition):
    """No child holds; contributes no hits."""

    children: tuple[Condition, ...]

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """An empty hit list when no child holds, else ``None``."""
        for child in self.children:
            if child.evaluate(hits, fields) is not None:
                return None
        return []

    def terms(self) -> set[int]:
        """Term ids of the children."""
        return set().union(*(c.terms() for c in self.children))


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
        for lists in (self._candidates(hits, fields) or {}).values():
            placed = sorted(
                (hits.word_range(hit), index, hit)
                for index, group_hits in enumerate(lists)
                for hit in group_hits
            )
            found = _window(placed, len(self.groups), self.within)
            if found is not None:
                return found
        return None


def _window(
    placed: list[tuple[tuple[int, int], int, Hit]], groups: int, within: int
) -> list[Hit] | None:
    """From each hit (in word order) take the next hit of every other group; check the gap."""
    for i, (words, group, hit) in enumerate(placed):
        chosen = {group: hit}
        last_start, first_end = words
        for (start, end), other, other_hit in placed[i + 1 :]:
            if start - first_end - 1 > within:
                break  # later hits start later still: the gap only grows
            if other not in chosen:
                chosen[other] = other_hit
                last_start, first_end = max(last_start, start), min(first_end, end)
                if len(chosen) == groups:
                    break
        if len(chosen) == groups and last_start - first_end - 1 <= within:
            return list(chosen.values())
    return None


@dataclass(frozen=True, slots=True)
class SameSentence(_Grouped):
    """One hit of each group inside one sentence of one field."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The hits of the first sentence holding every group."""
        for lists in (self._candidates(hits, fields) or {}).values():
            sentences: list[dict[int, Hit]] = []
            index_of: dict[int, int] = {}
            for group, group_hits in enumerate(lists):
                for hit in group_hits:
                    sentence = hits.sentence(hit)
                    if sentence < 0:
                        continue
                    slot = index_of.setdefault(sentence, len(sentences))
                    if slot == len(sentences):
                        sentences.append({})
                    sentences[slot].setdefault(group, hit)
            for chosen in sentences:
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

"""Find many multi-word names in a text in one pass of dictionary lookups over its words. Pure.

A regular expression with thousands of alternatives tries each at every character; here the
text is split into words once and each run of up to :attr:`NameIndex.longest` words is looked up.
Names follow the rule language's conventions: case-insensitive, a hyphen or an apostrophe
separates words like a space ("Quai d'Orsay", "Нью-Дели"), a ``*`` after a word matches its
forms ("Росси*": Россия, России; "Южн* Коре*": Южной Кореи), and a name in capitals of at most
four letters ("US", "UN", "ЕС") matches only in capitals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Generic, TypeVar

from monitor.spelling import unmarked

T = TypeVar("T")
_WORD = re.compile(r"\w+")
_STARRED = re.compile(r"(\w+)(\*?)")  # a name's words, each with its "*" (forms) or not
# What may stand between two words of one name: spaces, hyphens, apostrophes, the dots of "U.S.",
# an ampersand ("Trinidad & Tobago", "T&T").
_GAP = re.compile(r"[\s\-\u2010-\u2014'\u2019\u02bc.&]{1,3}")
_MAX_CASE_SENSITIVE = 4


@dataclass(frozen=True, slots=True)
class Found(Generic[T]):
    """A name found at ``start:end`` and the value it was added with."""

    value: T
    start: int
    end: int


def case_sensitive(name: str) -> bool:
    """Short all-capital names ("US", "UN", "ЕС") match only as written."""
    letters = [c for c in name if c.isalpha()]
    return len(letters) <= _MAX_CASE_SENSITIVE and name.isupper()


class NameIndex(Generic[T]):
    """Names -> values; :meth:`find` returns the longest names found, left to right."""

    def __init__(self) -> None:
        self._exact: dict[tuple[str, ...], T] = {}
        self._forms: dict[tuple[str, ...], dict[str, T]] = {}  # leading words -> stem -> value
        self._first: set[str] = set()  # the first word of every name but one-word forms
        self._stem_lengths: list[int] = []  # of one-word forms, longest first
        # Names with forms of a word before the last ("Северн* Коре*", "Vereinigte* Staaten"),
        # by their first word (or its stem), each with the order it was added in (they are tried
        # in that order): each word's text and whether it is a stem. Few.
        self._patterns: dict[str, list[tuple[int, tuple[tuple[str, bool], ...], T]]] = {}
        self._pattern_first_stems: set[str] = set()
        self._pattern_stem_lengths: list[int] = []  # of those stems, longest first
        # The most words of a name by its first word (as written for the capitals-only names,
        # else folded): how far :meth:`_at` needs to look from a word, most often one or two.
        self._longest_from: dict[str, int] = {}
        self.longest = 1

    def add(self, name: str, value: T) -> None:
        """Add a name (the first value added for a name wins), and its spelling without the
        marks writers leave off ("États-Unis": "Etats-Unis" too)."""
        self._add(name, value)
        bare = unmarked(name)
        if bare != name:
            self._add(bare, value)

    def _add(self, name: str, value: T) -> None:
        words = _WORD.findall(name)
        if not words:
            return
        cased = case_sensitive(name)
        stems = [star == "*" for _, star in _STARRED.findall(name)]
        if any(stems[:-1]):
            pattern = tuple(zip((w.casefold() for w in words), stems, strict=True))
            first, stem = pattern[0]
            order = sum(len(named) for named in self._patterns.values())
            self._patterns.setdefault(first, []).append((order, pattern, value))
            if stem:
                self._pattern_first_stems.add(first)
                self._pattern_stem_lengths = sorted(
                    {*self._pattern_stem_lengths, len(first)}, reverse=True
                )
            else:
                self._first.add(first)
            self._reach(first, len(words))
            return
        key = tuple(w if cased else w.casefold() for w in words)
        if cased:
            key = ("\0", *key)  # kept apart from the folded names
        self._reach(key[1] if cased else key[0], len(words))
        if name.rstrip().endswith("*") and len(key) == 1:
            self._stem_lengths = sorted({*self._stem_lengths, len(key[0])}, reverse=True)
        else:
            self._first.add(key[1] if cased else key[0])
        if name.rstrip().endswith("*"):
            self._forms.setdefault(key[:-1], {}).setdefault(key[-1], value)
        else:
            self._exact.setdefault(key, value)

    def _reach(self, first: str, length: int) -> None:
        """Note a name of ``length`` words starting with ``first`` (or its stem)."""
        self._longest_from[first] = max(self._longest_from.get(first, 0), length)
        self.longest = max(self.longest, length)

    def _pattern_stems(self, folded: str) -> list[str]:
        """The first-word stems of names with forms of an inner word that this word begins
        with ("южной" begins "Южн* Коре*")."""
        firsts = self._pattern_first_stems
        return [
            folded[:n]
            for n in self._pattern_stem_lengths
            if n <= len(folded) and folded[:n] in firsts
        ]

    def find(self, text: str) -> list[Found[T]]:
        """Every name in ``text``, the longest at each place, without overlaps."""
        words = list(_WORD.finditer(text))
        written = [m.group() for m in words]
        folded = [word.casefold() for word in written]
        found: list[Found[T]] = []
        i = 0
        while i < len(words):
            if not self._may_start(written[i], folded[i]):
                i += 1
                continue
            hit = self._at(words, i, text, (written, folded))
            if hit is None:
                i += 1
                continue
            value, n = hit
            found.append(Found(value, words[i].start(), words[i + n - 1].end()))
            i += n
        return found

    def _may_start(self, word: str, folded: str) -> bool:
        """Whether a name can start with this word (most words are quickly ruled out)."""
        if word in self._first or folded in self._first:
            return True
        stems = self._forms.get((), {})
        if any(folded[:n] in stems for n in self._stem_lengths if n <= len(folded)):
            return True
        return bool(self._pattern_stems(folded))

    def _at(
        self,
        words: list[re.Match[str]],
        i: int,
        text: str,
        forms: tuple[list[str], list[str]],
    ) -> tuple[T, int] | None:
        """The longest name starting at word ``i``: its value and its length in words
        (``forms``: every word as written and casefolded)."""
        written, folded = forms
        stems = self._pattern_stems(folded[i])
        # how far a name starting here can reach, and the inner-stem names that may start here
        longest = max(self._longest_from.get(k, 1) for k in (written[i], folded[i], *stems))
        patterns = sorted(
            named
            for key in dict.fromkeys((folded[i], *stems))
            for named in self._patterns.get(key, ())
        )
        n_max = 1
        while (
            n_max < longest
            and i + n_max < len(words)
            and _joined(text, words[i + n_max - 1], words[i + n_max])
        ):
            n_max += 1
        for n in range(n_max, 0, -1):
            for key in (("\0", *written[i : i + n]), tuple(folded[i : i + n])):
                value = self._exact.get(key)
                if value is None:
                    value = _form(self._forms.get(key[:-1]), key[-1])
                if value is not None:
                    return value, n
            for _, pattern, value in patterns:
                if len(pattern) == n and all(
                    word.startswith(text) if stem else word == text
                    for (text, stem), word in zip(pattern, folded[i : i + n], strict=True)
                ):
                    return value, n
        return None


def _joined(text: str, before: re.Match[str], after: re.Match[str]) -> bool:
    """Whether two words may belong to one name: a space, hyphen or apostrophe between them, or
    the dot of an abbreviation ("U.S.", "EE. UU."), not the end of a sentence ("is new. Delhi")."""
    gap = _GAP.fullmatch(text, before.end(), after.start())
    return gap is not None and ("." not in gap.group() or len(before.group()) <= 2)


def _form(stems: dict[str, T] | None, word: str) -> T | None:
    """The value of the longest stem ``word`` starts with."""
    if not stems:
        return None
    for end in range(len(word), 0, -1):
        value = stems.get(word[:end])
        if value is not None:
            return value
    return None

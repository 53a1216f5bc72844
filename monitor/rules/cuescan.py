"""Where the guards' cues can begin in a text: one hyperscan scan of their first words. Pure.

A guard's cue pattern is a long alternation of words, and Python's ``re`` tries it at every word
of a text. Every match begins with the verbatim beginning of one of the words (up to its first
wildcard or space), at the start of a word; one scan for all those beginnings gives each pattern
the few offsets where it can match, and the pattern is tried there only, in order, resuming after
each match: exactly what ``finditer`` finds, since no match can begin anywhere else.

"At the start of a word" is checked loosely (the character before is not an ASCII, Latin-1 or
Cyrillic letter or digit): every character it rules out is a word character for ``re`` too, so
the offsets never miss a match; ``re`` decides the rest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import hyperscan

if TYPE_CHECKING:
    from monitor.rules.scan import DatabaseCompiler

# Word characters for re whatever the Unicode version: ASCII, Latin-1 and Cyrillic lower case.
_WORD = r"0-9A-Za-z_\x{df}-\x{f6}\x{f8}-\x{ff}\x{430}-\x{45f}"
_WORD_START = rf"(?:^|[^{_WORD}])"

Span = tuple[int, int]


class CueScan:
    """Candidate offsets for several patterns, from one scan of their literal beginnings."""

    def __init__(
        self,
        beginnings: Sequence[Sequence[tuple[str, bool]]],
        compiler: DatabaseCompiler | None = None,
    ) -> None:
        """``beginnings``: per pattern, each (literal, whether it opens a word) a match of the
        pattern starts with; an empty literal means it can begin anywhere. ``compiler``: where
        the database comes from (e.g. a cache on disk; default: compiled here)."""
        expressions: list[bytes] = []
        self._owners: list[int] = []
        self._lengths: list[int] = []
        self._anywhere = set()
        for index, options in enumerate(beginnings):
            for literal, word_start in options:
                if not literal:
                    self._anywhere.add(index)
                    continue
                prefix = _WORD_START if word_start else ""
                expressions.append((prefix + _escaped(literal)).encode("utf-8"))
                self._owners.append(index)
                self._lengths.append(len(literal.encode("utf-8")))
        self._count = len(beginnings)
        flags = [hyperscan.HS_FLAG_UTF8] * len(expressions)
        if compiler is not None:
            self._database = compiler.database(expressions, flags)
        else:
            self._database = hyperscan.Database()
            self._database.compile(expressions=expressions, elements=len(expressions), flags=flags)

    def starts(self, text: str) -> list[list[int] | None]:
        """Per pattern, the sorted offsets in ``text`` where a match may begin (``None``:
        anywhere, for a pattern that cannot be narrowed or a text that cannot be scanned)."""
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: let re search the text
            return [None] * self._count
        found: list[set[int]] = [set() for _ in range(self._count)]
        owners, lengths = self._owners, self._lengths

        def report(pattern: int, _start: int, end: int, _flags: int, _context: object) -> None:
            found[owners[pattern]].add(end - lengths[pattern])

        self._database.scan(encoded, match_event_handler=report)
        if len(encoded) != len(text):
            chars = _char_offsets(encoded, {o for offsets in found for o in offsets})
            found = [{chars[o] for o in offsets} for offsets in found]
        return [
            None if index in self._anywhere else sorted(offsets)
            for index, offsets in enumerate(found)
        ]


def spans(pattern: re.Pattern[str], text: str, starts: list[int] | None) -> list[Span]:
    """``finditer`` spans of ``pattern`` in ``text``, given every offset where one may begin."""
    if starts is None:
        return [m.span() for m in pattern.finditer(text)]
    found = []
    after = 0
    match = pattern.match
    for start in starts:
        if start < after:
            continue  # inside the previous match: finditer resumes at its end
        m = match(text, start)
        if m is not None:
            found.append(m.span())
            after = max(m.end(), start + 1)
    return found


def _escaped(literal: str) -> str:
    """A hyperscan pattern for exactly the characters of ``literal``."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\x{{{ord(c):x}}}" for c in literal)


def _char_offsets(encoded: bytes, offsets: set[int]) -> dict[int, int]:
    """Character offsets of UTF-8 byte offsets (each on a character start)."""
    found = {0: 0}
    last = 0
    for offset in sorted(offsets):
        found[offset] = found[last] + len(encoded[last:offset].decode("utf-8"))
        last = offset
    return found

"""Offsets in case-folded text back to the original text (folding may lengthen: ß→ss). Pure.

``str.casefold`` folds character by character and never shortens one, so only the characters
that fold to several (few in any text) move the offsets after them. A map lists those characters;
turning an offset back is a binary search.
"""

from __future__ import annotations

from bisect import bisect_right


class OffsetMap:
    """Folded offsets of one text to offsets in the original; built once per field per entry."""

    __slots__ = ("_folded_starts", "_lengths", "_originals", "_shift")

    def __init__(self, text: str) -> None:
        long = [c for c in set(text) if len(c.casefold()) > 1]
        positions: list[int] = []
        for char in long:
            index = text.find(char)
            while index >= 0:
                positions.append(index)
                index = text.find(char, index + 1)
        positions.sort()
        self._originals = positions
        self._folded_starts: list[int] = []
        self._lengths: list[int] = []
        self._shift: list[int] = []  # extra folded chars up to and including each one
        extra = 0
        for index in positions:
            size = len(text[index].casefold())
            self._folded_starts.append(index + extra)
            self._lengths.append(size)
            extra += size - 1
            self._shift.append(extra)

    def original(self, folded: int) -> int:
        """The offset in the original text of the character that folded offset ``folded`` came
        from (a character that folds to several owns each of them)."""
        at = bisect_right(self._folded_starts, folded) - 1
        if at < 0:
            return folded
        if folded < self._folded_starts[at] + self._lengths[at]:
            return self._originals[at]
        return folded - self._shift[at]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the folded span ``[start, end)`` (``end > start``)."""
        if not self._originals:
            return start, end
        return self.original(start), self.original(end - 1) + 1

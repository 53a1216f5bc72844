"""One entry through the compiled scan: what hyperscan saw, and exact term hits on demand. Pure.

The scan runs once per entry. Rules whose required terms were not seen are never evaluated; for
the others, a term's exact spans are computed when a condition first asks for them:

* a phrase with :attr:`Term.starts` is matched (anchored, by its own pattern) only at the offsets
  where the scan saw one of its beginnings, in order, skipping offsets inside the previous match
  kept on word boundaries: exactly what a search of the whole text finds
  (:func:`monitor.rules.terms.boundary_spans`), since no match can begin elsewhere, at a few
  anchored attempts instead of a pass over the text per term;
* a one-word phrase (:attr:`Term.literal`) by substring search; anything else (regex terms,
  phrases with a short first word, text that is not valid UTF-8) by its pattern over the text.

The reference path (``reference=True``) ignores what the scan saw and always takes the last way;
a test holds the two equal.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence

import hyperscan

from monitor.rules.conditions import Hit
from monitor.rules.offsets import OffsetMap
from monitor.rules.scan import ALWAYS, Choice, Plan
from monitor.rules.terms import (
    Term,
    boundary_spans,
    bounded_retry,
    on_boundaries,
    re2_finditer_spans,
    re2_match_span,
)

# Joins the fields for the one scan; no phrase can cross it (\x00 is neither word nor space), nor
# a regex's gap of words ("(?:[^ ]+ ){0,3}"): two spaces in a row end any run of "word, space".
FIELD_JOIN = "\n  \x00  \n"


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
        # ASCII text needs no Unicode folding to be scanned: the literals are matched caseless,
        # and lower() keeps every offset, so the scan's offsets are the folded text's.
        # Folding (and everything after the scan) happens only for entries that have candidates.
        self._ascii = raw.isascii()
        self._folded: list[str] | None = None
        self._joined = ""
        self._present: frozenset[int] | None = None
        self._encoded: bytes | None = None
        # Offsets of the scan are usable only when it read the folded text's own UTF-8.
        self._anchored = not reference
        if self._ascii:
            scanned = raw.encode("ascii")
        else:
            try:
                scanned = self._encoded = self.joined.encode("utf-8")
            except UnicodeEncodeError:  # lone surrogates: scan a stand-in, search the text
                scanned = self.joined.encode("utf-8", "replace")
                self._anchored = False
        self._reports = _scan(plan.database, scanned)
        self.seen = {pattern for pattern, _ in self._reports}
        self.seen.add(ALWAYS)
        self._ends: dict[int, list[int]] | None = None
        self._char_ends: dict[int, list[int]] = {}
        self._starts: list[int] | None = None
        self._cache: dict[int, list[Hit]] = {}
        self._maps: dict[int, OffsetMap | None] | None = None

    # Plain lazy attributes rather than functools.cached_property, which takes a lock per access
    # in Python 3.11: these are read for every candidate rule of every entry.
    @property
    def present(self) -> frozenset[int]:
        """Terms that may occur: those announced by a pattern the scan saw and, for phrases,
        with a piece of every word and a beginning seen (on the reference path, every term:
        the scan filters nothing there)."""
        if self._present is None and self.reference:
            self._present = frozenset(range(len(self.terms)))
        elif self._present is None:
            self._present = self._announced_and_held()
        return self._present

    def _announced_and_held(self) -> frozenset[int]:
        # Plain loops, the pieces check inlined: this runs for every entry, over every term a
        # pattern seen announces (some eighty). Terms without pieces are taken by the tuple;
        # a term announced by several patterns seen is checked once for each (the same answer).
        plain = self.plan.pattern_plain
        pieced = self.plan.pattern_pieced
        seen = self.seen
        kept: set[int] = set()
        for pattern in seen:
            terms = plain.get(pattern)
            if terms is not None:
                kept.update(terms)
            checked = pieced.get(pattern)
            if checked is not None:
                for term, needed, choices in checked:
                    if needed <= seen and (not choices or _choices_hold(choices, seen)):
                        kept.add(term)
        return frozenset(kept)

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

    def _utf8(self) -> bytes:
        """The joined folded text in UTF-8 (lone surrogates kept: RE2 reads them back)."""
        if self._encoded is None:
            self._encoded = self.joined.encode("utf-8", "surrogatepass")
        return self._encoded

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

    @property
    def computed(self) -> Mapping[int, list[Hit]]:
        """The hits of every term :meth:`hits` has computed so far (a live view)."""
        return self._cache

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
        spans: Iterable[tuple[int, int]]
        if self._anchored and term_id in self.plan.term_starts:
            spans = self._anchored_spans(term, self.plan.term_starts[term_id])
        elif self.reference or isinstance(term.finder, re.Pattern) or term.literal is not None:
            spans = term.spans(self.joined)
        else:
            spans = self._utf8_spans(term)
        if self._starts is None:
            self._starts = _field_starts(self.folded)
        starts = self._starts
        folded = self.folded
        found = []
        for start, end in spans:
            index = bisect_right(starts, start) - 1
            base = starts[index]
            if end - base <= len(folded[index]):
                found.append(Hit(index, start - base, end - base, term_id))
        return found

    def _anchored_spans(
        self, term: Term, beginnings: tuple[tuple[int, int, int], ...]
    ) -> list[tuple[int, int]]:
        """The term's spans, by anchored matches where a beginning was seen."""
        ends, char_ends = self._report_ends()
        text = self.joined
        python = term.finder if isinstance(term.finder, re.Pattern) else None
        if python is None and term.twin is not None:
            python = term.twin.get()
        if python is not None:
            starts = {end - length for p, _, length in beginnings for end in char_ends.get(p, ())}
            return _anchored(text, python, sorted(starts)) if starts else []
        # RE2 runs on UTF-8: it needs byte offsets too.
        pairs = {
            (end - size, char_end - length)
            for p, size, length in beginnings
            for end, char_end in zip(ends.get(p, ()), char_ends.get(p, ()), strict=True)
        }
        if not pairs:
            return []
        # every RE2 phrase has a wider pattern; a regex term has none, and may have a bounded one
        wider = None if term.wider is None else term.wider.get()
        return _anchored_re2(
            text, self._utf8(), term.finder, wider, sorted(pairs), self._ascii, term.bounded
        )

    def _report_ends(self) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """Each beginning pattern's report offsets: in the scanned bytes, and in characters."""
        if self._ends is None:
            every = self.plan.every
            self._ends = {}
            for pattern, end in self._reports:
                if pattern in every:
                    self._ends.setdefault(pattern, []).append(end)
            if self._ascii:
                self._char_ends = self._ends
            else:
                chars = _char_offsets(
                    self._utf8(), (e for ends in self._ends.values() for e in ends)
                )
                self._char_ends = {p: [chars[e] for e in ends] for p, ends in self._ends.items()}
        return self._ends, self._char_ends

    def _utf8_spans(self, term: Term) -> list[tuple[int, int]]:
        """Spans of a term matched by RE2, over the entry's text encoded once (the RE2 wrapper
        encodes a str again for every search and maps every offset back one by one)."""
        encoded = self._utf8()
        found = re2_finditer_spans(term.finder, encoded)
        if not found:
            return []
        text = self.joined
        if len(encoded) != len(text):
            chars = _char_offsets(encoded, (offset for span in found for offset in span))
            found = [(chars[start], chars[end]) for start, end in found]
        kept = [
            (start, end)
            for start, end in found
            if end > start and (not term.checks_boundaries or on_boundaries(text, start, end))
        ]
        if len(kept) < len(found) and term.checks_boundaries:
            # a match begun inside a word may hide one that begins after it (for about one
            # term in ten): search again the slow way, one character on from each failed match
            return list(boundary_spans(term.finder, text, encoded, term.bounded))
        return kept


def _anchored(text: str, finder: re.Pattern[str], offsets: list[int]) -> list[tuple[int, int]]:
    """:func:`boundary_spans` of ``finder`` over ``text``, given every offset where a match may
    begin: each offset past the last match kept is tried (a match off the word boundaries does
    not hide the offsets inside it)."""
    found = []
    after = 0
    match = finder.match
    for offset in offsets:
        if offset < after:
            continue
        m = match(text, offset)
        if m is None:
            continue
        start, end = m.span()
        if end > start and on_boundaries(text, start, end):
            found.append((start, end))
            after = end
    return found


def _anchored_re2(
    text: str,
    encoded: bytes,
    finder: object,
    wider: re.Pattern[str] | None,
    offsets: list[tuple[int, int]],
    ascii_only: bool,
    bounded: object = None,
) -> list[tuple[int, int]]:
    """As :func:`_anchored` for an RE2 pattern, over the UTF-8 of ``text``; ``offsets`` are
    (byte, character) pairs. RE2 is asked only where the wider Python pattern (if any) matches;
    a match off the boundaries is asked of ``bounded`` (a regex term's, see
    :func:`monitor.rules.terms.boundary_spans`)."""
    found = []
    after = 0
    wide = None if wider is None else wider.match
    for offset, char in offsets:
        if char < after or (wide is not None and wide(text, char) is None):
            continue
        span = re2_match_span(finder, encoded, offset)
        if span is None:
            continue
        start, to = span
        end = _char_end(encoded, start, to, char, ascii_only)
        retried = bounded_retry(bounded, text, encoded, start, to, char, end)
        if retried is not None:
            to = retried
            end = _char_end(encoded, start, to, char, ascii_only)
        if end > char and on_boundaries(text, char, end):
            found.append((char, end))
            after = end
    return found


def _char_end(encoded: bytes, start: int, to: int, char: int, ascii_only: bool) -> int:
    """The character offset of byte ``to``, a match's end, given its start (byte ``start`` is
    character ``char``)."""
    return to if ascii_only else char + len(encoded[start:to].decode("utf-8", "surrogatepass"))


def _char_offsets(encoded: bytes, offsets: Iterable[int]) -> dict[int, int]:
    """Character offsets of the given UTF-8 byte offsets (each on a character start)."""
    found = {0: 0}
    last = 0
    for offset in sorted(set(offsets)):
        found[offset] = found[last] + len(encoded[last:offset].decode("utf-8", "surrogatepass"))
        last = offset
    return found


def _choices_hold(choices: tuple[Choice, ...], seen: set[int]) -> bool:
    """Whether every word position with several alternatives has one whose pieces were all
    seen (see :data:`monitor.rules.scan.Pieces`)."""
    for singles, others in choices:
        if singles.isdisjoint(seen):
            for patterns in others:
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


def _scan(database: hyperscan.Database | None, scanned: bytes) -> list[tuple[int, int]]:
    """(pattern, end offset) of every report: once per entry for most patterns, every
    occurrence for the beginnings of phrases."""
    reports: list[tuple[int, int]] = []
    if database is not None:
        add = reports.append
        database.scan(
            scanned,
            match_event_handler=lambda pattern, _start, end, _flags, _ctx: add((pattern, end)),
        )
    return reports

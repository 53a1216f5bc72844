"""The logic of a rule (all / any / none / near / same_sentence) evaluated over term hits. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any, ClassVar, NamedTuple

from monitor.rules.guards import (
    Cues,
    Guard,
    Span,
    combined,
    cue_starts,
    find_cues,
    is_guarded,
    spans_of,
)
from monitor.sentences import lead_end, sentence_ends

_WORD = re.compile(r"\w+")


class Hit(NamedTuple):
    """One occurrence of one term in one field (offsets in the case-folded field text).

    A named tuple: entries can hold thousands of hits, and tuples are the cheapest immutable,
    hashable and orderable value Python builds.
    """

    field: int
    start: int
    end: int
    term: int


class Hits:
    """Every hit of one entry, by term, and word and sentence questions about its fields."""

    def __init__(
        self,
        texts: Sequence[str],
        lookup: Callable[[int], list[Hit]],
        present: frozenset[int] = frozenset(),
        names: Sequence[str] = (),
        year: int | None = None,
        known: Mapping[int, list[Hit]] | None = None,
        *,
        shared: bool = True,
    ) -> None:
        self.texts = texts
        self.lookup = lookup
        self.present = present
        # Terms whose hits ``lookup`` has computed already (looked at first: they cost nothing).
        self.known: Mapping[int, list[Hit]] = {} if known is None else known
        # Rules ask about the same vocabularies over the same fields again and again.
        self._of: dict[tuple[frozenset[int], frozenset[int]], list[Hit]] = {}
        self._has: dict[tuple[frozenset[int], frozenset[int]], bool] = {}
        # Per term set, its terms the scan may have seen, in order: a vocabulary can hold
        # hundreds of terms, and rules ask about the same interned sets over and over.
        self._asked: dict[frozenset[int], list[int]] = {}
        self.names = names  # the field name of each text, for ``in:`` conditions
        self.year = year  # the entry's year of publication, for the background guard
        self.every_field = frozenset(range(len(texts)))
        self.single = [frozenset((field,)) for field in range(len(texts))]
        self._longest: dict[frozenset[int], list[int]] = {}
        self._named: dict[frozenset[str], frozenset[int]] = {}
        self._cues: dict[tuple[int, tuple[Guard, ...]], Cues] = {}
        self._cue_starts: dict[int, list[list[int] | None]] = {}
        # ``shared``: each condition's result (by identity) and each view computed once, and
        # guards skipped where ``may_hold`` rules a condition out; off, every condition is
        # interpreted afresh and unbounded (the reference path).
        self.shared = shared
        self._results: dict[tuple[int, frozenset[int]], tuple[Condition, Result]] = {}
        self._views: dict[object, Hits] = {}

    def unguarded(self) -> Hits:
        """Every hit, guarded clauses included (what ``none`` exclusions look at)."""
        return self

    def release(self) -> None:
        """Drop the views: each holds the hits it narrows, which hold it in turn, so without
        this an entry's hits, caches and views would wait for the cyclic garbage collector
        (a young-generation collection every few entries) instead of going at once."""
        views = list(self._views.values())
        self._views.clear()
        for view in views:
            if view is not self:
                view.release()

    def evaluate(self, condition: Condition, fields: frozenset[int]) -> Result:
        """``condition.evaluate`` over these hits, once per condition and fields.

        Rules share sub-conditions (see :func:`shared`), and a rule is asked again over the
        headline and the lead: each answer is computed once per entry and view.
        """
        if not self.shared or not condition.remembered:
            return condition.evaluate(self, fields)
        key = (id(condition), fields)
        known = self._results.get(key)
        if known is not None and known[0] is condition:
            return known[1]
        result = condition.evaluate(self, fields)
        self._results[key] = (condition, result)
        return result

    def title(self) -> Hits:
        """The hits in the headline only (one view per entry)."""
        return self._view("title", lambda: _TitleHits(self))

    def lead(self) -> Hits:
        """The hits in the headline and the opening sentence only (one view per entry)."""
        return self._view("lead", lambda: _LeadHits(self))

    def guarded(
        self, guards: tuple[Guard, ...], own: frozenset[int], read: frozenset[int] | None = None
    ) -> Hits:
        """The hits outside the clauses that ``guards`` find (``own``: the rule's terms; a cue
        inside one of their hits is part of a term, not a cue; ``read``: the fields the
        condition reads, default all: the others are left unguarded, their cues never looked
        for, as no hit of theirs is asked about).

        One view per guards and guarded spans: rules whose own hits leave the same clauses
        guarded share it, and with it every result computed over it.
        """
        if read is None or not self.shared:
            read = self.every_field
        spans = tuple(
            self._guarded_spans(field, guards, own) if field in read else ()
            for field in range(len(self.texts))
        )
        if self.shared and not any(spans):
            return self  # nothing guarded: the same hits, and what was computed over them
        return self._view((guards, spans), lambda: _GuardedHits(self, spans))

    def _guarded_spans(
        self, field: int, guards: tuple[Guard, ...], own: frozenset[int]
    ) -> tuple[Span, ...]:
        """The spans of one field that ``guards`` keep a rule with terms ``own`` from reading."""
        if not self.texts[field]:
            return ()  # an empty field (most often the content) has no cue
        cues = self.cues(field, guards)
        own_spans: list[Span] = []
        if cues.exemptible:  # only then can a cue lie inside one of the rule's own hits
            every = self.of(own, self.every_field)
            own_spans = [(h.start, h.end) for h in every if h.field == field]
        return tuple(spans_of(cues, self.texts[field], own_spans))

    def _view(self, key: object, make: Callable[[], Hits]) -> Hits:
        if not self.shared:
            return make()
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = make()
        return view

    def cues(self, field: int, guards: tuple[Guard, ...]) -> Cues:
        """The guards' cues in one field, found once per entry for every rule that asks."""
        key = (field, guards)
        found = self._cues.get(key)
        if found is None:
            if len(guards) == 1:
                starts = self._cue_starts.get(field)
                if starts is None:
                    starts = self._cue_starts[field] = cue_starts(self.texts[field])
                found = find_cues(self.texts[field], guards, self.year, starts)
            else:
                # Guard sets overlap (negation and hypothetical are in every rule's): each
                # guard's cues are found once per field and combined.
                found = combined([self.cues(field, (guard,)) for guard in guards])
            self._cues[key] = found
        return found

    def longest_first(self, fields: frozenset[int]) -> list[int]:
        """``fields``, the longest text first (computed once per entry and set of fields)."""
        found = self._longest.get(fields)
        if found is None:
            texts = self.texts
            found = self._longest[fields] = sorted(
                fields, key=lambda f: len(texts[f]), reverse=True
            )
        return found

    def fields_named(self, names: frozenset[str]) -> frozenset[int]:
        """The indices of the texts of the named fields (computed once per entry and names)."""
        found = self._named.get(names)
        if found is None:
            found = self._named[names] = frozenset(
                i for i, name in enumerate(self.names) if name in names
            )
        return found

    def of(self, terms: frozenset[int], fields: frozenset[int]) -> list[Hit]:
        """Hits of any of ``terms`` inside ``fields`` (computed once: do not change the list)."""
        key = (terms, fields)
        found = self._of.get(key)
        if found is None:
            found = []
            lookup = self.lookup
            if fields >= self.every_field:
                for term in self._present_of(terms):
                    found.extend(lookup(term))
            else:
                for term in self._present_of(terms):
                    found.extend([hit for hit in lookup(term) if hit.field in fields])
            self._of[key] = found
        return found

    def _present_of(self, terms: frozenset[int]) -> list[int]:
        """The terms of ``terms`` the scan may have seen, in order (computed once per set)."""
        found = self._asked.get(terms)
        if found is None:
            found = self._asked[terms] = sorted(self.present.intersection(terms))
        return found

    def has_hit(self, terms: frozenset[int], fields: frozenset[int]) -> bool:
        """Whether any of ``terms`` has a hit inside ``fields``.

        Terms whose hits are already known are looked at first, and the search stops at the
        first hit: a term's exact spans are computed only when asked for, most terms the scan
        announces have none, and most rules asked about are ruled out by a term that is absent.
        """
        key = (terms, fields)
        listed = self._of.get(key)
        if listed is not None:
            return bool(listed)
        found = self._has.get(key)
        if found is None:
            found = self._has[key] = self._search(terms, fields)
        return found

    def _search(self, terms: frozenset[int], fields: frozenset[int]) -> bool:
        known = self.known
        later = []
        every = fields >= self.every_field
        for term in self._present_of(terms):
            computed = known.get(term)
            if computed is None:
                later.append(term)
            elif computed and (every or _any_in(computed, fields)):
                return True
        lookup = self.lookup
        for term in later:
            found = lookup(term)
            if found and (every or _any_in(found, fields)):
                return True
        return False

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
        return next(sentence_ends(self.texts[field], start, end), None) is not None


def _any_in(hits: list[Hit], fields: frozenset[int]) -> bool:
    """Whether any of ``hits`` lies inside ``fields`` (a loop: no generator per call)."""
    for hit in hits:  # noqa: SIM110 - any() would build a generator for every term asked
        if hit.field in fields:
            return True
    return False


Result = list[Hit] | None


class Condition:
    """A node of a rule's logic; ``evaluate`` returns the hits that made it hold, or ``None``."""

    # Whether :meth:`Hits.evaluate` remembers the result (not worth it for a term leaf, whose
    # hits the view keeps already).
    remembered: ClassVar[bool] = True

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """Hits that made the condition hold (empty for a pure ``none``), or ``None``."""
        raise NotImplementedError

    def terms(self) -> set[int]:
        """Every term id this condition refers to."""
        raise NotImplementedError

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """False only if the condition holds over no subset of the hits (``none`` aside).

        A cheap bound for :class:`Guarded`: guards only take hits away, so a rule whose
        condition cannot hold over all of an entry's hits never needs its guards computed.
        Exclusions read every hit either way and are evaluated as they are.
        """
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class TermLeaf(Condition):
    """Any of the terms (one term, or a vocabulary's terms)."""

    ids: frozenset[int]
    remembered: ClassVar[bool] = False

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """All hits of the terms, or ``None`` if there are none."""
        return hits.of(self.ids, fields) or None

    def terms(self) -> set[int]:
        """The term ids."""
        return set(self.ids)

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether any of the terms has a hit."""
        return hits.has_hit(self.ids, fields)


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
            result = hits.evaluate(child, fields)
            if result is None:
                return None
            found.extend(result)
        return found

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether every child may hold."""
        # A loop, not all() over a generator: this runs for every node of every candidate rule.
        for child in self.children:  # noqa: SIM110
            if not child.may_hold(hits, fields):
                return False
        return True


@dataclass(frozen=True, slots=True)
class AnyOf(_Composite):
    """At least one child holds (every child that holds contributes its hits)."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The hits of the children that hold, if any does."""
        found: list[Hit] | None = None
        for child in self.children:
            result = hits.evaluate(child, fields)
            if result is not None:
                found = (found or []) + result
        return found

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether some child may hold."""
        for child in self.children:  # noqa: SIM110 - as in AllOf.may_hold
            if child.may_hold(hits, fields):
                return True
        return False


@dataclass(frozen=True, slots=True)
class NoneOf(_Composite):
    """No child holds; contributes no hits."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """An empty hit list when no child holds, else ``None``.

        Exclusions read the whole text: a guard keeps a clause from reporting a development,
        not from ruling the entry out ("vows to quit the pact if Tories return to power").
        """
        hits = hits.unguarded()
        for child in self.children:
            if hits.evaluate(child, fields) is not None:
                return None
        return []

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether it holds: exclusions read every hit, guarded or not, so this is exact."""
        return hits.evaluate(self, fields) is not None


@dataclass(frozen=True, slots=True)
class _Grouped(Condition):
    """Base of conditions that need one hit of each group of terms, placed together."""

    groups: tuple[frozenset[int], ...]

    def terms(self) -> set[int]:
        """Term ids of every group."""
        return {t for group in self.groups for t in group}

    def _candidates(self, hits: Hits, fields: frozenset[int]) -> dict[int, list[list[Hit]]] | None:
        """Per field, the hits of each group; ``None`` if some group has no hit at all."""
        per_group = []
        for group in self.groups:
            group_hits = hits.of(group, fields)
            if not group_hits:
                return None  # the other groups' hits are not needed
            per_group.append(group_hits)
        by_field: dict[int, list[list[Hit]]] = {}
        for index, group_hits in enumerate(per_group):
            for hit in group_hits:
                lists = by_field.get(hit.field)
                if lists is None:
                    lists = by_field[hit.field] = [[] for _ in self.groups]
                lists[index].append(hit)
        return {f: lists for f, lists in by_field.items() if all(lists)}

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether one field holds a hit of every group (how close they stand is not asked:
        with fewer hits a window can start inside a longer hit, so closeness is no bound)."""
        groups = self.groups
        has_hit = hits.has_hit
        for group in groups:
            if not has_hit(group, fields):
                return False  # a group with no hit at all (most often): no field to look at
        if len(fields) == 1:
            return True
        # The longest field first: where a pack's terms meet, if anywhere.
        for field in hits.longest_first(fields):
            one = hits.single[field]
            for group in groups:
                if not has_hit(group, one):
                    break
            else:
                return True
        return False

    def _first_window(
        self, hits: Hits, fields: frozenset[int], fits: Callable[[int, Hit, Hit], bool]
    ) -> Result:
        """The first minimal run of hits (in text order) covering every group that ``fits``.

        A sliding window: linear in the number of hits, so thousands of repeated terms cannot
        make it quadratic. ``fits`` judges a window by its first and last hit.
        """
        groups = len(self.groups)
        for field, lists in (self._candidates(hits, fields) or {}).items():
            placed = sorted(
                (hit.start, group, hit)
                for group, group_hits in enumerate(lists)
                for hit in group_hits
            )
            counts = [0] * groups
            covered = left = 0
            for right, (_, group, hit) in enumerate(placed):
                counts[group] += 1
                covered += counts[group] == 1
                while covered == groups:
                    first_group, first = placed[left][1], placed[left][2]
                    if counts[first_group] > 1:  # the first hit is not needed: drop it
                        counts[first_group] -= 1
                        left += 1
                        continue
                    if fits(field, first, hit):
                        chosen = {g: h for _, g, h in placed[left : right + 1]}
                        return list(chosen.values())
                    counts[first_group] -= 1
                    covered -= 1
                    left += 1
        return None


@dataclass(frozen=True, slots=True)
class Near(_Grouped):
    """One hit of each group, with at most ``within`` words between any two of them."""

    within: int = 0

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The first tightest set of hits that lies within the distance."""
        within = self.within

        def fits(field: int, first: Hit, last: Hit) -> bool:
            return hits.words_between(
                field, first.end, last.start, within
            ) <= within and not hits.sentence_break(field, first.start, max(first.end, last.end))

        return self._first_window(hits, fields, fits)


@dataclass(frozen=True, slots=True)
class SameSentence(_Grouped):
    """One hit of each group inside one sentence of one field."""

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The first tightest set of hits, one per group, with no sentence end among them."""

        def fits(field: int, first: Hit, last: Hit) -> bool:
            return not hits.sentence_break(field, first.start, max(first.end, last.end))

        return self._first_window(hits, fields, fits)


class _HitsView(Hits):
    """Some of another entry's hits: ``_keep`` says which; cues and exclusions read them all."""

    def __init__(self, inner: Hits) -> None:
        super().__init__(
            inner.texts,
            inner.lookup,
            inner.present,
            inner.names,
            inner.year,
            inner.known,
            shared=inner.shared,
        )
        self._inner = inner

    def unguarded(self) -> Hits:
        """Every hit of the entry (exclusions read the whole text)."""
        return self._inner.unguarded()

    def cues(self, field: int, guards: tuple[Guard, ...]) -> Cues:
        """The cues of a field, found once per entry (by the entry's own hits)."""
        return self._inner.cues(field, guards)

    def _keep(self, hits: list[Hit]) -> list[Hit]:
        """The hits this view keeps, in order."""
        raise NotImplementedError

    def has_hit(self, terms: frozenset[int], fields: frozenset[int]) -> bool:
        """Whether any of ``terms`` has a kept hit inside ``fields``."""
        return bool(self.of(terms, fields))

    def of(self, terms: frozenset[int], fields: frozenset[int]) -> list[Hit]:
        """The kept hits of any of ``terms`` inside ``fields`` (computed once per view)."""
        key = (terms, fields)
        found = self._of.get(key)
        if found is None:
            found = self._of[key] = self._keep(self._inner.of(terms, fields))
        return found


class _LeadHits(_HitsView):
    """The hits in the headline and the opening sentence, where news reports what happens now."""

    def __init__(self, inner: Hits) -> None:
        super().__init__(inner)
        names = list(inner.names)
        body = names.index("summary") if "summary" in names else None
        if body is None or not inner.texts[body].strip():
            body = names.index("content") if "content" in names else None
        self._body = body
        self._end = lead_end(inner.texts[body]) if body is not None else 0
        self._bodies = frozenset(i for i, name in enumerate(names) if name in _BODIES)

    def title(self) -> Hits:
        """The entry's headline view: the lead keeps every hit of the headline."""
        return self._inner.title() if self.shared else super().title()

    def _keep(self, hits: list[Hit]) -> list[Hit]:
        bodies, body, end = self._bodies, self._body, self._end
        return [h for h in hits if h.field not in bodies or (h.field == body and h.end <= end)]


_BODIES = ("summary", "content")


def in_lead(hits: Hits) -> Hits:
    """The entry's hits in its headline and opening sentence only."""
    return hits.lead()


class _TitleHits(_HitsView):
    """The hits in the headline alone."""

    def __init__(self, inner: Hits) -> None:
        super().__init__(inner)
        self._titles = frozenset(i for i, name in enumerate(inner.names) if name == "title")

    def _keep(self, hits: list[Hit]) -> list[Hit]:
        titles = self._titles
        return [h for h in hits if h.field in titles]

    def title(self) -> Hits:
        """Itself: the headline's hits are already all it keeps."""
        return self if self.shared else super().title()

    def guarded(
        self, guards: tuple[Guard, ...], own: frozenset[int], read: frozenset[int] | None = None
    ) -> Hits:
        """The headline's hits of the guarded view of the hits this one narrows: the same
        hits (a headline's guarded clauses depend on the headline's own hits alone), with what
        was computed over that view already."""
        if not self.shared:
            return super().guarded(guards, own, read)
        return self._inner.guarded(guards, own, read).title()


def in_title(hits: Hits) -> Hits:
    """The entry's hits in its headline only."""
    return hits.title()


class _GuardedHits(_HitsView):
    """The hits of an entry minus those inside guarded clauses (per field: sorted, disjoint)."""

    def __init__(self, inner: Hits, spans: tuple[tuple[Span, ...], ...]) -> None:
        super().__init__(inner)
        self._spans = [(list(field), [start for start, _ in field]) for field in spans]

    def _keep(self, hits: list[Hit]) -> list[Hit]:
        kept = []
        guarded = self._spans
        for hit in hits:
            spans, starts = guarded[hit.field]
            if not spans or not is_guarded(spans, starts, hit.start, hit.end):
                kept.append(hit)
        return kept


@dataclass(frozen=True, slots=True)
class Guarded(Condition):
    """The child condition, read only where the text neither denies nor supposes (``guards``)."""

    child: Condition
    guards: tuple[Guard, ...]
    # The child's terms that spell a cue of the guards ("will not extend", "не продлит"): a cue
    # inside one of their hits is part of the term. None: every term of the child.
    spelling: frozenset[int] | None = None
    own: frozenset[int] = dataclass_field(init=False, default=frozenset())
    # The fields an ``in:`` inside the child reads besides those it is evaluated over.
    scoped: frozenset[str] = dataclass_field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        terms = frozenset(self.child.terms())
        object.__setattr__(self, "own", terms if self.spelling is None else terms & self.spelling)
        object.__setattr__(self, "scoped", _scoped_names(self.child))

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The child's result over the hits outside guarded clauses.

        None, too, when the headline tells the development only as denied or supposed: under
        "Poland and the Baltics recommend leaving the Ottawa Convention" a summary that restates
        "the exit" reports no exit either.
        """
        if hits.shared and not self.child.may_hold(hits, fields):
            return None  # not even over every hit: the guards need not be looked for
        return self.unbounded(hits, fields)

    def unbounded(self, hits: Hits, fields: frozenset[int]) -> Result:
        """:meth:`evaluate` without the bound that spares looking for cues (the same result)."""
        # Cues are looked for only in the fields the child reads: most rules never read the
        # lead (a copy of the summary's opening sentence) and their guards need not find its.
        read = fields | hits.fields_named(self.scoped) if self.scoped else fields
        guarded = hits.guarded(self.guards, self.own, read)
        found = guarded.evaluate(self.child, fields)
        if found is None:
            return None
        if guarded is hits:
            return found
        if (
            hits.title().evaluate(self.child, fields) is not None
            and guarded.title().evaluate(self.child, fields) is None
        ):
            return None
        return found

    def terms(self) -> set[int]:
        """The child's term ids."""
        return self.child.terms()

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether the child may hold over every hit (guards only take hits away)."""
        return self.child.may_hold(hits, fields)


@dataclass(frozen=True, slots=True)
class Scoped(Condition):
    """The child condition over the named fields only (``in: [title, lead]``)."""

    child: Condition
    names: frozenset[str]

    def evaluate(self, hits: Hits, fields: frozenset[int]) -> Result:
        """The child's result over the named fields."""
        return hits.evaluate(self.child, hits.fields_named(self.names))

    def terms(self) -> set[int]:
        """The child's term ids."""
        return self.child.terms()

    def may_hold(self, hits: Hits, fields: frozenset[int]) -> bool:
        """Whether the child may hold over the named fields."""
        return self.child.may_hold(hits, hits.fields_named(self.names))


def _scoped_names(condition: Condition) -> frozenset[str]:
    """The field names of every ``in:`` (:class:`Scoped`) inside the condition."""
    if isinstance(condition, Scoped):
        return condition.names | _scoped_names(condition.child)
    if isinstance(condition, _Composite):
        return frozenset().union(*(_scoped_names(c) for c in condition.children))
    if isinstance(condition, Guarded):
        return _scoped_names(condition.child)
    return frozenset()


def interned(condition: Condition, table: dict[object, Any]) -> Condition:
    """The condition rebuilt from canonical parts: equal sub-conditions and term sets (of every
    rule interned with the same ``table``) become one object.

    Results are remembered per entry by identity (:meth:`Hits.evaluate`), so what one rule
    asked is not asked again for another; and equal term sets compare by identity, not element
    by element, as the per-entry caches look them up.
    """

    def canonical(value: Any) -> Any:
        return table.setdefault(value, value)

    rebuilt: Condition
    if isinstance(condition, TermLeaf):
        rebuilt = TermLeaf(canonical(condition.ids))
    elif isinstance(condition, _Composite):
        rebuilt = type(condition)(tuple(interned(c, table) for c in condition.children))
    elif isinstance(condition, Near):
        rebuilt = Near(tuple(canonical(g) for g in condition.groups), condition.within)
    elif isinstance(condition, _Grouped):
        rebuilt = type(condition)(tuple(canonical(g) for g in condition.groups))
    elif isinstance(condition, Guarded):
        rebuilt = Guarded(
            interned(condition.child, table), condition.guards, canonical(condition.spelling)
        )
    elif isinstance(condition, Scoped):
        rebuilt = Scoped(interned(condition.child, table), canonical(condition.names))
    else:
        return condition
    return canonical(rebuilt)  # type: ignore[no-any-return]


def requirements(condition: Condition) -> list[frozenset[int]]:
    """Groups of terms of which at least one each must occur for the condition to hold.

    Empty when the condition can hold without any hit (a lone ``none``): such rules are
    evaluated for every entry.
    """
    if isinstance(condition, TermLeaf):
        return [condition.ids]
    if isinstance(condition, Guarded | Scoped):
        return requirements(condition.child)
    if isinstance(condition, _Grouped):
        return list(condition.groups)
    if isinstance(condition, AllOf):
        return [group for child in condition.children for group in requirements(child)]
    if isinstance(condition, AnyOf):
        # Some child must hold, so some term of (any one group of) each child must occur.
        # Any choice of one group per child gives such a union; the j-th of each child (its
        # last where it has fewer) gives as many as the longest child has, each valid.
        per_child = [requirements(child) for child in condition.children]
        if not all(per_child):
            return []
        widest = max(len(groups) for groups in per_child)
        unions = {
            frozenset().union(*(groups[min(j, len(groups) - 1)] for groups in per_child))
            for j in range(widest)
        }
        return sorted(unions, key=len)
    return []

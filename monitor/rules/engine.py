"""The compiled rule set: one multi-pattern scan per entry, then the logic of the rules it touched.

Per entry the matchable fields are joined and scanned once by hyperscan for every term (see
:mod:`monitor.rules.scan`); only the rules whose required terms were seen are evaluated, and only
then are the fields case-folded and exact spans computed for the terms those rules ask about.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import InitVar, dataclass, field
from datetime import date

from monitor.feeds.entry import Entry
from monitor.rules.conditions import Condition, Hit, Hits, in_lead, in_title
from monitor.rules.deadline import extract_deadline
from monitor.rules.entryscan import EntryScan
from monitor.rules.match import Match, Severity, Span
from monitor.rules.scan import DatabaseCompiler, Plan, RuleShape, build_plan
from monitor.rules.schema import ExampleModel
from monitor.rules.terms import Term
from monitor.rules.throttle import throttle_key
from monitor.rules.vocabulary import Canonical

MAX_SPANS = 50
MAX_SPANS_PER_TERM = 5


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule."""

    id: str
    title: str
    severity: Severity
    channels: tuple[str, ...]
    condition: Condition
    description: str = ""
    tags: tuple[str, ...] = ()
    enabled: bool = True
    fields: tuple[str, ...] = ("title", "summary", "content")
    feeds: tuple[str, ...] = ()
    feed_tags: tuple[str, ...] = ()
    # Entries of unknown language ("") are never excluded: a failed detection must not silence.
    languages: tuple[str, ...] = ()
    realert_seconds: float = 0.0
    realert_key: str = "story"
    # "lead": a match only below the opening sentence is dropped when another rule's is up top
    secondary: str = "anywhere"
    # "future": a stated due date must lie after publication (else the step happens now)
    due: str = "any"
    # The words that state a due date: without a date, alone, a ``due: future`` match stands
    # only when the headline holds them (None: any of the match's words in the headline).
    due_words: Condition | None = None
    examples_match: tuple[ExampleModel, ...] = ()
    examples_no_match: tuple[ExampleModel, ...] = ()
    file: str = ""
    line: int = 0

    def applies_to(self, entry: Entry) -> bool:
        """Whether the rule's feed and language scoping admits the entry."""
        if self.feeds and entry.feed not in self.feeds:
            return False
        if self.languages and entry.language and entry.language not in self.languages:
            return False
        return not self.feed_tags or not set(self.feed_tags).isdisjoint(entry.feed_tags)


# A due date is not a development of its own: talks in the lead stay beside a headline's
# "extended until 18 May".
DUE_DATES = frozenset({"deadline"})


@dataclass(frozen=True)
class RuleSet:
    """A validated, compiled set of rules; :meth:`match` is pure (no I/O, no clock).

    Not safe to call from several threads at once (the scan reuses one scratch space).
    """

    version: str
    rules: tuple[Rule, ...]
    terms: tuple[Term, ...] = field(repr=False)
    # vocabulary name -> term key -> canonical id and name (vocabularies with groups only)
    canonical: Mapping[str, Mapping[str, Canonical]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # vocabulary name -> its term indices (for vocabulary_spans)
    vocabularies: Mapping[str, tuple[int, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )
    compiler: InitVar[DatabaseCompiler | None] = None  # where the scan's database comes from
    plan: Plan = field(init=False, repr=False, compare=False)
    # vocabulary names -> their terms that the scan announces, and those it does not (the event
    # extractor asks every alerting entry for the same vocabularies)
    _vocabulary_terms: dict[tuple[str, ...], tuple[frozenset[int], tuple[int, ...]]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self, compiler: DatabaseCompiler | None) -> None:
        shapes = [RuleShape(r.enabled, r.fields, r.condition, r.due_words) for r in self.rules]
        plan = build_plan(shapes, self.terms, compiler)
        object.__setattr__(self, "plan", plan)
        object.__setattr__(self, "_vocabulary_terms", {})

    def prepare(self) -> RuleSet:
        """Build every term's patterns now, not when an entry first needs them (they are built
        lazily so that a one-shot command starts fast; a daemon calls this in the thread that
        loads the rules, so no match on its event loop pays for a compile). Returns itself."""
        for term in self.terms:
            term.prepare()
        return self

    @property
    def channels(self) -> frozenset[str]:
        """Every channel a rule of the set publishes to."""
        return frozenset(c for rule in self.rules for c in rule.channels)

    def rule(self, rule_id: str) -> Rule | None:
        """The rule with this id, if any."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def match(self, entry: Entry, *, reference: bool = False) -> list[Match]:
        """Every enabled rule that matches the entry, in rule order, with its spans.

        ``reference`` takes the straightforward path: every enabled rule's condition is
        interpreted afresh, every term it asks about searched for by its own pattern over the
        text, with no prefilter and no :meth:`Condition.may_hold` bound. The same matches,
        slower; a test holds the two to that.
        """
        plan = self.plan
        texts = [entry.field_text(name) for name in plan.fields]
        scan = EntryScan(plan, self.terms, texts, reference=reference)
        if reference:
            candidates = [i for i, rule_plan in enumerate(plan.rules) if rule_plan is not None]
        else:
            candidates = plan.candidates(scan.seen)
        if not candidates:
            return []
        hits = Hits(
            scan.folded,
            scan.hits,
            scan.present,
            plan.fields,
            entry.published.year,
            scan.computed,
            shared=not reference,
        )
        try:
            matches = self._matches(entry, candidates, hits, scan)
            if len(matches) > 1:
                return self._reported_now(matches, hits)
            return [m for _, m in matches]
        finally:
            hits.release()

    def _matches(
        self,
        entry: Entry,
        candidates: list[int],
        hits: Hits,
        scan: EntryScan,
    ) -> list[tuple[int, Match]]:
        plan = self.plan
        present = hits.present
        matches: list[tuple[int, Match]] = []
        # Rules over the same fields share one due date (treaty-deadline and its urgent twin).
        deadlines: dict[tuple[str, ...], date | None] = {}
        for index in candidates:
            rule = self.rules[index]
            rule_plan = plan.rules[index]
            if rule_plan is None or not rule.applies_to(entry):
                continue
            if hits.shared and any(present.isdisjoint(g) for g in rule_plan.term_requires):
                continue  # a required term is surely absent: the rule cannot hold
            found = hits.evaluate(self._condition(index, hits), rule_plan.fields)
            if found is not None:
                match = self._match(rule, entry, found, scan, deadlines)
                if (
                    rule.due == "future"
                    and match.deadline
                    and match.deadline <= entry.published.date()
                ):
                    continue  # "took effect on Friday, six months after notice": not a deadline
                matches.append((index, match))
        return self._dated_or_alone(matches, hits)

    def _dated_or_alone(
        self, matches: list[tuple[int, Match]], hits: Hits
    ) -> list[tuple[int, Match]]:
        """Without a date, a ``due: future`` match stands only when it is the entry's sole
        development: "lapses", "clock" or "expiry" beside an exit the text reports is that exit's
        background ("North Korea declares immediate exit from NPT ... stopped the clock"), while
        "Russia proposes talks on extending New START" is the deadline story itself."""
        undated = {i for i, m in matches if self.rules[i].due == "future" and m.deadline is None}
        if not undated:
            return matches
        if not any(set(m.tags) - DUE_DATES for i, m in matches if i not in undated):
            # alone, a due date must be what the headline is about: "Russia tests underwater
            # drone" over "... as New START nears expiry" is no deadline story
            return [
                (i, m)
                for i, m in matches
                if i not in undated
                or not set(m.tags) <= DUE_DATES
                or self._due_in_title(i, m, hits)
            ]
        return [(i, m) for i, m in matches if i not in undated]

    def _due_in_title(self, index: int, match: Match, hits: Hits) -> bool:
        """Whether the headline states the due date: holds the rule's ``due_words`` ("Russia
        proposes talks on extending New START"), or without them any of the match's words (not
        "L'Afrique se dote d'un traité" over "le traité entrera en vigueur")."""
        rule, plan = self.rules[index], self.plan.rules[index]
        words = plan.due_words if hits.shared and plan is not None else rule.due_words
        if words is None or plan is None:
            return any(span.field == "title" for span in match.spans)
        return in_title(hits).evaluate(words, plan.fields) is not None

    def _reported_now(self, matches: list[tuple[int, Match]], hits: Hits) -> list[Match]:
        """Drop secondary matches: below the lead (``secondary: lead``) or the headline
        (``secondary: title``) when another development is reported there.

        News reports today's development in the headline and the opening sentence; a
        development met only further down, beside one reported up top, is background ("Moscow,
        which suspended the treaty in 2007, ..."). Talks the opening sentence names under a
        headline reporting another step are its setting ("... announced at a summit in Niamey").
        """
        if not any(self.rules[i].secondary != "anywhere" for i, _ in matches):
            return [m for _, m in matches]
        kept = self._up_top(matches, in_lead(hits), "lead")
        return [m for _, m in self._up_top(kept, in_title(hits), "title")]

    def _up_top(
        self, matches: list[tuple[int, Match]], view: Hits, level: str
    ) -> list[tuple[int, Match]]:
        """``matches`` minus the ``secondary: level`` ones that do not hold in ``view`` while
        a match with other tags does."""
        if not any(self.rules[i].secondary == level for i, _ in matches):
            return matches
        up_top = {i for i, _ in matches if self._holds(i, view)}
        if not up_top:
            return matches
        reported = [set(m.tags) - DUE_DATES for i, m in matches if i in up_top]
        return [
            (i, m)
            for i, m in matches
            if i in up_top
            or self.rules[i].secondary != level
            or not any(tags - set(m.tags) for tags in reported)
        ]

    def _holds(self, index: int, hits: Hits) -> bool:
        plan = self.plan.rules[index]
        if plan is None:
            return False
        return hits.evaluate(self._condition(index, hits), plan.fields) is not None

    def _condition(self, index: int, hits: Hits) -> Condition:
        """The rule's condition: the plan's, made of parts shared between rules, or on the
        reference path the rule's own, as compiled."""
        plan = self.plan.rules[index]
        assert plan is not None
        return plan.condition if hits.shared else self.rules[index].condition

    def term_spans(self, rule_id: str, entry: Entry) -> list[Span]:
        """Where the terms of one enabled rule occur in the entry, whether or not it matched."""
        plan = self.plan
        index = next((i for i, r in enumerate(self.rules) if r.id == rule_id), None)
        rule_plan = plan.rules[index] if index is not None else None
        if rule_plan is None:
            return []
        scan = EntryScan(plan, self.terms, [entry.field_text(name) for name in plan.fields])
        found = [
            hit
            for term in rule_plan.condition.terms()
            for hit in scan.hits(term)
            if hit.field in rule_plan.fields
        ]
        return self._spans(found, scan)

    def vocabulary_spans(self, names: Sequence[str], entry: Entry) -> list[Span]:
        """Where the terms of the named vocabularies occur in the entry, whatever rule matched."""
        plan = self.plan
        key = tuple(names)
        known = self._vocabulary_terms.get(key)
        if known is None:
            ids = frozenset(term for name in names for term in self.vocabularies.get(name, ()))
            # Terms no rule uses are not in the prefilter: those few are searched directly.
            known = self._vocabulary_terms[key] = (
                ids,
                tuple(sorted(ids - plan.term_patterns.keys())),
            )
        ids, unscanned = known
        if not ids:
            return []
        scan = EntryScan(plan, self.terms, [entry.field_text(name) for name in plan.fields])
        found = [hit for term in sorted(ids & scan.present) for hit in scan.hits(term)]
        for term in unscanned:
            for index, folded in enumerate(scan.folded):
                found += [Hit(index, a, b, term) for a, b in self.terms[term].spans(folded)]
        return self._spans(found, scan)

    def _match(
        self,
        rule: Rule,
        entry: Entry,
        found: list[Hit],
        scan: EntryScan,
        deadlines: dict[tuple[str, ...], date | None],
    ) -> Match:
        spans = self._spans(found, scan)
        deadline = None
        if "deadline" in rule.tags:
            if rule.fields not in deadlines:
                text = "\n".join(entry.field_text(name) for name in rule.fields)
                deadlines[rule.fields] = extract_deadline(text, entry.published)
            deadline = deadlines[rule.fields]
        return Match(
            rule_id=rule.id,
            rule_title=rule.title,
            severity=rule.severity,
            channels=rule.channels,
            tags=rule.tags,
            spans=tuple(spans),
            deadline=deadline,
            throttle_key=throttle_key(rule.realert_key, entry),
            realert_seconds=rule.realert_seconds,
        )

    def _spans(self, found: list[Hit], scan: EntryScan) -> list[Span]:
        texts, fields = scan.texts, self.plan.fields
        spans: list[Span] = []
        covered = (-1, -1)  # field and end of the last kept hit
        per_term: dict[int, int] = {}
        for hit in sorted(set(found), key=lambda h: (h.field, h.start, -h.end, h.term)):
            if hit.field == covered[0] and hit.end <= covered[1]:
                continue  # inside a longer span already shown ("Treaty" in "INF Treaty")
            covered = (hit.field, hit.end)
            # A term repeated thousands of times must not bloat the alert: a few of each suffice.
            per_term[hit.term] = per_term.get(hit.term, 0) + 1
            if per_term[hit.term] > MAX_SPANS_PER_TERM or len(spans) >= MAX_SPANS:
                continue
            start, end = scan.original_span(hit)
            text = texts[hit.field][start:end]
            term = self.terms[hit.term].source
            spans.append(Span(field=fields[hit.field], start=start, end=end, text=text, term=term))
        return spans

"""Guards: the parts of a text that deny or only suppose something, in five languages. Pure.

A rule with ``guards: [negation, hypothetical]`` ignores every hit inside a guarded clause, so
"Russia is not withdrawing from the treaty", "if Washington were to leave the pact", "urges Tokyo
to quit" or "о выходе из договора речи не идёт" do not report a withdrawal. A clause runs between
sentence ends, commas, colons, semicolons, dashes and contrasting conjunctions ("but", "mais",
"но", "aber", "pero" ...); so "Russia suspends New START but is not withdrawing from it" still
reports the suspension.

A cue guards the rest of its clause, from the cue on: in English, Russian, French and Spanish the
negation and the modal come before the verb they govern. German puts "nicht" and "kein" after the
finite verb ("Russland verlässt den Vertrag nicht"), and some denials come after what they deny
("о выходе ... речи не идёт", "il n'est pas question de ..."): those cues guard their whole
clause. Russian "не" and "ни" negate the two words after them ("не видит прогресса после
консультаций" denies the progress, not the talks). A condition that opens its sentence ("If
elected, she would leave the pact") guards the whole sentence. The ``background`` guard covers
clauses that say "already", "last year", "ещё в", "bereits", "déjà", and the six words before a
date earlier than the entry's year ("which Russia suspended in 2007"). A cue that lies inside a
hit of the rule's own terms is part of a term ("will not extend", "no longer bound", "не
продлит"), not a guard, and is ignored, when the term spells it; so are set phrases ("no later
than", "kein ... mehr"). A cue in a gap a term leaves open ("Госдума не ратифицировала" for
"parliament ... ratified") is a cue, and guards the hit it falls in.

The cues themselves are data, language by language: ``data/guards.yaml``.

Text is case-folded (as the rules engine sees it); offsets are offsets into it.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from typing import TYPE_CHECKING

import yaml

from monitor.rules.cuescan import CueScan, spans
from monitor.rules.deadline import MONTH_NAMES
from monitor.sentences import sentence_ends

if TYPE_CHECKING:
    from monitor.rules.scan import DatabaseCompiler


class Guard(StrEnum):
    """What a guard keeps a rule from reading as reported fact."""

    NEGATION = "negation"
    HYPOTHETICAL = "hypothetical"
    BACKGROUND = "background"


def _words(*words: str) -> str:
    """An alternation of words (``*`` = any further letters) on Unicode word boundaries.

    Spelled for the speed of Python's ``re``: the words are grouped by their first letter, and
    the check that no letter comes before moves behind that letter (``n(?<!\\w.)(?:ot|ever)``
    is ``(?<!\\w)(?:not|never)``). The pattern then opens with a choice of letters, which
    ``re`` skips ahead to, and at each word tries only the words of its letter. The matches are
    the same: words of different first letters never match at one offset, and the words of one
    letter keep their order (the first that matches wins, as before).
    """
    spelled = [re.escape(w).replace(r"\*", r"\w*").replace(r"\ ", r"\s+") for w in words]
    if not all(w[:1].isalnum() or w[:1] == "_" for w in spelled):
        return r"(?<!\w)(?:" + "|".join(spelled) + r")(?!\w)"
    by_letter: dict[str, list[str]] = {}
    for word in spelled:
        by_letter.setdefault(word[0], []).append(word[1:])
    groups = [f"{letter}(?<!\\w.)(?:{'|'.join(rest)})" for letter, rest in by_letter.items()]
    return r"(?:" + "|".join(groups) + r")(?!\w)"


_DATA = "data/guards.yaml"


@dataclass(frozen=True, slots=True)
class _Cues:
    """The compiled cues of one guard."""

    forward: re.Pattern[str] | None
    clause: re.Pattern[str] | None
    not_a_cue: re.Pattern[str] | None
    sentence_initial: re.Pattern[str] | None = None
    next_two_words: re.Pattern[str] | None = None


# Cues a word list cannot spell, added to the data's words: "won't", "isn't" (a negation glued
# to its verb) and French elision ("n'est", "n'a"); German "kein ... mehr" / "nicht ... mehr",
# which is "no longer" (an exit), not a denial.
_SPELLED = {
    (Guard.NEGATION, "forward"): r"(?<=\w)n['’]t(?!\w)|(?<!\w)n['’](?=\w)",
    (Guard.NEGATION, "not_a_cue"): r"(?<!\w)(?:kein\w*|nicht)\s+(?:\S+\s+){0,5}mehr(?!\w)",
}
# What every match of those begins with (see monitor.rules.cuescan): (literal, opens a word).
_SPELLED_BEGINNINGS = {
    (Guard.NEGATION, "forward"): (("n'", False), ("n’", False)),
    (Guard.NEGATION, "not_a_cue"): (("kein", True), ("nicht", True)),
}
# Cue kinds scanned for their beginnings first (sentence openers: to skip texts with none).
_SEARCHED = ("forward", "clause", "not_a_cue", "next_two_words", "sentence_initial")
# Besides the data's conjunctions, these end a clause (sentence ends come from monitor.sentences).
_BREAK_MARKS = r"[,;:()\[\]«»\"“”]|\s[—–-]\s|\x00|\n"


def _pattern(by_language: dict[str, list[str]] | None, spelled: str = "") -> re.Pattern[str] | None:
    words = _all_words(by_language or {})
    alternatives = [p for p in (_words(*words) if words else "", spelled) if p]
    return re.compile("|".join(alternatives)) if alternatives else None


@dataclass(frozen=True, slots=True)
class _Table:
    """Every guard's compiled cues, the clause breaks, and the scan for where cues begin."""

    cues: dict[Guard, _Cues]
    breaks: re.Pattern[str]
    scan: CueScan
    slots: dict[tuple[Guard, str], int]  # (guard, searched kind) -> its place in the scan


_table: _Table | None = None


def prepare_cues(compiler: DatabaseCompiler | None = None) -> None:
    """Build the guards' cues now, their scan's database through ``compiler`` (a cache on disk:
    compiling it is a good part of a one-shot command's start). Once per process; later calls
    do nothing, and without a call the first use builds them (a race builds them twice)."""
    global _table
    if _table is None:
        _table = _built_cues(compiler)


def _cues() -> _Table:
    if _table is None:
        prepare_cues()
    assert _table is not None
    return _table


def _built_cues(compiler: DatabaseCompiler | None) -> _Table:
    raw = yaml.safe_load(resources.files("monitor.rules").joinpath(_DATA).read_text("utf-8"))

    def compiled(guard: Guard, kind: str) -> re.Pattern[str] | None:
        return _pattern(raw[guard.value].get(kind), _SPELLED.get((guard, kind), ""))

    cues = {
        guard: _Cues(
            *(
                compiled(guard, kind)
                for kind in ("forward", "clause", "not_a_cue", "sentence_initial", "next_two_words")
            )
        )
        for guard in Guard
    }
    breaks = re.compile(f"{_BREAK_MARKS}|{_words(*_all_words(raw['clause_breaks']))}")
    slots: dict[tuple[Guard, str], int] = {}
    beginnings: list[list[tuple[str, bool]]] = []
    for guard in Guard:
        for kind in _SEARCHED:
            if getattr(cues[guard], kind) is None:
                continue
            slots[guard, kind] = len(beginnings)
            words = _all_words(raw[guard.value].get(kind) or {})
            beginnings.append(
                [(re.split("[* ]", w, maxsplit=1)[0], True) for w in words]
                + list(_SPELLED_BEGINNINGS.get((guard, kind), ()))
            )
    return _Table(cues, breaks, CueScan(beginnings, compiler), slots)


def _all_words(by_language: dict[str, list[str]]) -> list[str]:
    """Every language's words, the longest first: ``re`` keeps the first alternative that
    matches, so a cue is found whole whatever the order of the data ("спустя год после того,
    как" before the "спустя год после" it begins with)."""
    words = [w for language in sorted(by_language) for w in by_language[language]]
    return sorted(words, key=lambda word: len(word.replace("*", "")), reverse=True)


Span = tuple[int, int]


# "in 2007", "в 2016 году", "en 2023", "im Jahr 2007", "since 2002": a year, when it is before
# the entry's own, dates a step told as background.
_YEAR = re.compile(r"(?:19|20)\d\d(?!\d)")  # what every _DATED match holds: a cheap first look
_DATED = re.compile(
    r"(?<!\w)(?:in|since|back in|в|с|ещё в|еще в|en|dès|depuis|im|im jahr|seit|desde|en el año|"
    rf"{MONTH_NAMES}|(?:{MONTH_NAMES})\s+\d{{1,2}},)\s+(?:de\s+)?(?P<year>(?:19|20)\d\d)(?!\d)"
)
# "tagt erstmals seit 2003", "meets for the first time since 2019": today's step, counted from then
_FIRST_SINCE = re.compile(
    r"(?:first|erstmals|ersten mal|впервые|première fois|primera vez)\s+(?:time\s+)?"
    r"(?:(?:since|seit|с|depuis|desde)\s+)?$",
    re.IGNORECASE,
)
# A step named by its year: "claiming that its 1993 suspension of notice had kept the clock"
_DATED_STEP = re.compile(
    r"(?<!\w)(?:its|the|their|his|her|this|that)\s+(?P<year>(?:19|20)\d\d)\s+"
    r"(?:suspension|withdrawal|exit|moratorium|denunciation|ratification|accession|freeze|pullout)"
    r"(?!\w)",
    re.IGNORECASE,
)
# German puts the participle after the date: "Moskau hatte seine Teilnahme 2023 ausgesetzt".
# The date dates the words before it and the participle that closes its clause.
_DATED_VERB_LAST = re.compile(
    r"(?<![\w.])(?P<year>(?:19|20)\d\d)\s+(?P<verb>[a-zäöüß]*ge[a-zäöüß]{2,}(?:t|en)|[a-zäöüß]+iert)"
    r"(?=\s*(?:[.,;:)]|$|\s+(?:und|aber|worden|hatte|hatten|hat|haben)\b))"
)


@dataclass(frozen=True, slots=True)
class Cues:
    """The cues one text holds for a set of guards: found once per entry, used by every rule."""

    initial: tuple[Span, ...]  # sentences opened by a condition: guarded whole
    dated: tuple[Span, ...]  # the words a past date dates: guarded whole
    words: tuple[Span, ...]  # cues that guard the next two words
    clauses: tuple[tuple[int, int, bool], ...]  # (start, end, whole clause) of the other cues
    set_phrases: tuple[Span, ...]  # where a negation word negates nothing
    breaks: tuple[Span, ...]  # sentence ends and clause breaks, sorted

    @property
    def exemptible(self) -> bool:
        """Whether a rule's own hits can matter (a cue inside one is part of a term)."""
        return bool(self.words or self.clauses)


def cue_starts(text: str) -> list[list[int] | None]:
    """Where the cues of every guard may begin in ``text`` (for :func:`find_cues`)."""
    return _cues().scan.starts(text)


def find_cues(
    text: str,
    guards: Iterable[Guard],
    year: int | None = None,
    starts: list[list[int] | None] | None = None,
) -> Cues:
    """Every cue of ``guards`` in ``text`` (``year``: the entry's, for the background guard;
    ``starts``: :func:`cue_starts` of the text, when several calls share it)."""
    table = _cues()
    if starts is None:
        starts = table.scan.starts(text)
    initial: list[Span] = []
    words: list[Span] = []
    dates: list[Span] = []
    clauses: list[tuple[int, int, bool]] = []
    set_phrases: list[Span] = []

    def found(guard: Guard, kind: str, pattern: re.Pattern[str]) -> list[Span]:
        return spans(pattern, text, starts[table.slots[guard, kind]])

    for guard in guards:
        compiled = table.cues[guard]
        for kind, pattern, whole in (
            ("forward", compiled.forward, False),
            ("clause", compiled.clause, True),
        ):
            if pattern is not None:
                clauses.extend((s, e, whole) for s, e in found(guard, kind, pattern))
        if compiled.not_a_cue is not None:
            set_phrases.extend(found(guard, "not_a_cue", compiled.not_a_cue))
        if (
            compiled.sentence_initial is not None
            and starts[table.slots[guard, "sentence_initial"]] != []
        ):
            initial.extend(_whole_sentences(text, compiled.sentence_initial))
        if compiled.next_two_words is not None:
            words.extend(found(guard, "next_two_words", compiled.next_two_words))
        if guard is Guard.BACKGROUND and year is not None and _YEAR.search(text):
            dates.extend(
                m.span()
                for pattern in (_DATED, _DATED_STEP, _DATED_VERB_LAST)
                for m in pattern.finditer(text)
                if int(m["year"]) < year
                and not _FIRST_SINCE.search(text, max(0, m.start() - 40), m.start())
            )
    breaks: list[Span] = []
    if clauses or dates:
        breaks = sorted(
            [
                *sentence_ends(text),
                *(
                    (m.start(), m.end())
                    for m in table.breaks.finditer(text)
                    if not (m.group()[:1].isalpha() and _COORDINATED_VERB.match(text, m.end()))
                    and not (m.group() == "," and _REPORTED.match(text, m.end()))
                ),
            ]
        )
    dated = []
    ends = sorted(b_end for _, b_end in breaks)
    for start, end in dates:
        # "which Russia suspended in 2007": the verb a date modifies stands just before it, so
        # the date guards the six words before it (within its clause), not the whole sentence
        # ("le retrait ... de l'accord de Vienne conclu en 2015" is today's withdrawal).
        # A treaty's making dates only itself: in "dénonce la convention signée avec Paris en
        # 1965" the date is the signing's, and the denunciation before it is today's.
        clause_start = _last_at_most(ends, start)
        before = list(_WORD.finditer(text, clause_start, start))[-_DATED_REACH:]
        made = [m for m in before if _MADE.fullmatch(m.group())]
        first = made[-1] if made else before[0] if before else None
        dated.append((first.start() if first else start, end))
    return Cues(
        tuple(initial), tuple(dated), tuple(words), tuple(sorted(clauses)),
        tuple(set_phrases), tuple(breaks),
    )  # fmt: skip


# "Пашинян пообещал, что Армения выйдет из ОДКБ", "promised, that ...": what a cue says is
# said in the clause its comma opens.
_REPORTED = re.compile(r"\s*(?:(?:что|чтобы|that|que|dass)(?!\w)|qu['’])")

# "podría seguir el ejemplo de EE UU y abandonar la OMS", "appelle la France à signer et
# ratifier", "urged Washington to sign and ratify": a conjunction that joins a second verb to
# the first goes on in the same clause (an infinitive after it; the English verbs named).
_COORDINATED_VERB = re.compile(
    r"\s+(?:[^\W\d_]{2,}(?:ar|er|ir|re|ть|ти|чь)|ratify|sign|join|leave|quit|withdraw|exit|"
    r"suspend|abandon|scrap|rejoin|zu\s)(?!\w)"
)


def combined(parts: Sequence[Cues]) -> Cues:
    """The cues of several guards from each guard's own (what :func:`find_cues` finds for
    them together: breaks do not depend on the guard)."""
    breaks = next((part.breaks for part in parts if part.breaks), ())
    clauses = sorted(c for part in parts for c in part.clauses)
    dated = tuple(d for part in parts for d in part.dated)
    return Cues(
        tuple(i for part in parts for i in part.initial), dated,
        tuple(w for part in parts for w in part.words), tuple(clauses),
        tuple(s for part in parts for s in part.set_phrases),
        breaks if clauses or dated else (),
    )  # fmt: skip


def spans_of(cues: Cues, text: str, own: Sequence[Span] = ()) -> list[Span]:
    """The guarded spans, given the spans of the rule's own hits (a cue inside one is no cue)."""
    spans = [*cues.initial, *cues.dated]
    if cues.exemptible:
        ignored = _merged([*own, *cues.set_phrases])
        starts = [s for s, _ in ignored]
        spans.extend(
            _next_words(text, start, end, 2)
            for start, end in cues.words
            if not _within(ignored, starts, start, end)
        )
        break_starts = [b_start for b_start, _ in cues.breaks]  # sorted, as the breaks are
        break_ends = sorted(b_end for _, b_end in cues.breaks)
        for start, end, whole in cues.clauses:
            if _within(ignored, starts, start, end):
                continue
            clause_start = _last_at_most(break_ends, start)
            after = bisect_left(break_starts, end)
            clause_end = break_starts[after] if after < len(break_starts) else len(text)
            spans.append((clause_start if whole else start, clause_end))
    return _merged(spans)


def guarded_spans(
    text: str, guards: Iterable[Guard], own: Sequence[Span] = (), year: int | None = None
) -> list[Span]:
    """The spans of ``text`` a rule with ``guards`` must not read as fact, in text order.

    ``own`` are the spans of the rule's own term hits: a cue inside one of them is part of the
    term and guards nothing.
    """
    return spans_of(find_cues(text, guards, year), text, own)


def spelled_guards(source: str) -> frozenset[Guard]:
    """The guards whose cues a term as written (``source``) spells ("will not extend",
    "re:не продл[а-я]*" spell a negation): only a cue the term spells is part of its hit. A cue
    met in a gap the term leaves open ("re:госдума (?:[^ ]+ ){0,2}ратифицир[а-я]*") is a cue like
    any other. One scan of the spelled text serves every guard."""
    if source.startswith("re:"):
        # A group's first alternative stays glued to the word it ends ("écart(?:e|ent)" spells
        # "écarte"); classes, escapes and alternation bars part words.
        spelled = _REGEX_GLUE.sub("", _REGEX_APART.sub(" ", source[3:]))
    else:
        spelled = _PHRASE_SYNTAX.sub(" ", source)
    spelled = spelled.casefold()
    starts = cue_starts(spelled)
    if not any(starts) and None not in starts:
        return frozenset()  # no cue can begin anywhere in it (most terms)
    return frozenset(
        guard
        for guard in Guard
        if (cues := find_cues(spelled, (guard,), starts=starts)).words or cues.clauses
    )


_REGEX_APART = re.compile(r"\\.|\[(?:\\.|[^\]])*\]|\|")
_REGEX_GLUE = re.compile(r"\(\?(?:[:=!]|P?<\w+>)?|[)?*+]|\{\d*,?\d*\}")
_PHRASE_SYNTAX = re.compile(r"[\[\]{},*:]")


def _last_at_most(ends: Sequence[int], offset: int) -> int:
    """The greatest of the sorted ``ends`` not after ``offset`` (0 if none): where the clause
    around ``offset`` begins."""
    index = bisect_right(ends, offset)
    return ends[index - 1] if index else 0


def _within(merged: Sequence[Span], starts: Sequence[int], start: int, end: int) -> bool:
    """Whether ``[start, end)`` lies inside one of ``merged`` (sorted, disjoint) spans."""
    i = bisect_right(starts, start) - 1
    return i >= 0 and merged[i][1] >= end


_WORD = re.compile(r"\w+")
_DATED_REACH = 6  # words before a date that it dates
# Participles of a treaty's making ("signed", "signée", "conclu", "adopté", "firmado",
# "unterzeichnete", "подписанный"): a date after one dates the making, not the words before it.
_MADE = re.compile(
    r"signed|concluded|agreed|adopted|sign[ée]e?s?|conclue?s?|paraphée?s?|adoptée?s?|firmad[oa]s?|"
    r"suscrit[oa]s?|adoptad[oa]s?|angenommen(?:e|en|er|es)?|"
    r"celebrad[oa]s?|unterzeichnet(?:e|en|er|es)?|geschlossen(?:e|en|er|es)?|"
    r"подписанн[а-я]*|заключенн[а-я]*|заключённ[а-я]*"
)


def _next_words(text: str, start: int, end: int, count: int) -> Span:
    """From a cue to the end of the ``count`` words after it."""
    stop = end
    for found in _WORD.finditer(text, end):
        stop = found.end()
        count -= 1
        if count == 0:
            break
    return (start, stop)


def _whole_sentences(text: str, opener: re.Pattern[str]) -> list[Span]:
    """The sentences that open with ``opener`` ("If elected, she would leave the pact."), and
    the quotations that do, to the end of their sentence ("Bolsonaro: «Si soy electo, Brasil
    sale de la ONU»")."""
    found: list[Span] = []
    starts = [0, *(end for _, end in sentence_ends(text))]
    for i, start in enumerate(starts):
        begin = start + len(text[start:]) - len(text[start:].lstrip())
        if opener.match(text, begin):
            stop = starts[i + 1] if i + 1 < len(starts) else len(text)
            found.append((begin, stop))
    for quote in _QUOTE_OPENS.finditer(text):
        begin = quote.end()
        if opener.match(text, begin):
            after = bisect_right(starts, begin)
            found.append((begin, starts[after] if after < len(starts) else len(text)))
    return found


# Where a quotation opens (and a condition may open its sentence).
_QUOTE_OPENS = re.compile(r"[«“„\"]\s*")


def _merged(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def is_guarded(spans: Sequence[Span], starts: Sequence[int], start: int, end: int) -> bool:
    """Whether the hit ``[start, end)`` is guarded by ``spans`` (sorted, disjoint; ``starts``:
    their starts): it lies within one, or one begins inside it, at a cue in a gap its term
    leaves open ("госдума не ратифицировала"; a cue the term spells guards nothing) or among
    the words a past date dates."""
    i = bisect_right(starts, start)
    if i < len(starts) and starts[i] < end:
        return True
    return i > 0 and spans[i - 1][1] >= end

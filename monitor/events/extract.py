"""Matches + Entry -> Event: which treaty, who acts, what happened, when it falls due. Pure.

- **treaty**: the canonical id of the most salient treaty-vocabulary span in the entry: title
  before summary before content, then the earliest. A general name ("arms control") is no treaty,
  nor is a name inside a longer one of another treaty ("СНВ" in "СНВ-2"); a loose alias
  (``treaty_aliases``: "the nuclear deal") counts when no instrument is named; an organisation
  that is itself a treaty id and heads its field (the venue or party: "IAEA bestätigt Verstoß
  gegen Atomabkommen") ranks after the instrument the field names, and one written before a
  treaty noun ("the Council of Europe accord") is none; failing all, an organisation in the
  title that is a treaty id (NATO, WHO).
- **development**: the primary tag. Each tag is placed where its rule's own words (spans that
  are neither a treaty's name nor an actor, nor shared by every matching rule) first appear; the
  main clauses of title and summary come before their clauses of circumstance ("as", "after",
  "tras" ...), ties broken by :data:`PRECEDENCE`. The other tags are kept as ``secondary``.
- **actors**: the states or organisations taking the step (:func:`monitor.events.actors.subject`;
  for a violation, the party in breach); none for a treaty's own end, or for its entry into force
  when the headline and the summary's opening sentence name no state.
- **due**: the entry's one due date; **published**: the entry's publication time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from monitor.events.actors import ActorTable, bilateral, subject
from monitor.events.model import Event
from monitor.events.sources import background, other_step
from monitor.feeds.entry import Entry
from monitor.rules.combine import due
from monitor.rules.deadline import MONTH_NAMES
from monitor.rules.match import Match, Span
from monitor.rules.vocabulary import Canonical, term_key
from monitor.sentences import first_sentence

# Vocabularies whose groups name treaties (and the treaty bodies a state joins or leaves), and
# loose names no rule uses, consulted when none of the former occurs.
TREATY_VOCABULARIES = ("treaties", "treaty_bodies")
ALIAS_VOCABULARIES = ("treaty_aliases",)
# The pack's words for the developments that are never told in each other's words: a state
# leaving or pausing (or a body's sanction on it), and a breach. A follow-up source matched no
# rule, so it has no development; the ones whose words it uses tell which of its actor's stories
# it can report (monitor.events.sources.follow). Joining, talks and due dates are left out: their
# words ("takes effect", "approved", "meeting") stand in the reports of every development.
DEVELOPMENT_WORDS = {
    "withdrawal": ("withdraw_terms", "body_exit_terms"),
    "suspension": ("suspend_terms",),
    "membership": ("member_suspend_verbs", "member_suspended"),
    "violation": ("violation_terms",),
}
# The step a text reports, most decisive first: a state leaving a treaty is the news even when the
# text also mentions the violation it cites. A deadline comes last: it is mostly the due date of
# another step ("withdraws, effective in six months"), which the event carries as ``due``.
PRECEDENCE = (
    "withdrawal", "revocation", "suspension", "membership", "ratification", "violation", "talks",
    "deadline",
)  # fmt: skip
# The development of a report whose title leads on a step none of the tags covers (an
# enrichment, an expulsion, a counter-step) while its tags stand only below the title.
COUNTER_STEP = "counter-step"
# Such a title: an answer, or enrichment (an expulsion there is mostly the occasion of an exit:
# "Moskau kommt Ausschluss aus dem Europarat zuvor").
_COUNTER_STEP = re.compile(
    r"(?<!\w)(?:in response|in retaliation|retaliat\w*|hits back|в ответ|en réponse|"
    r"en représailles|als reaktion|als antwort|en respuesta|en represalia|enrich\w*|обогащ\w*|"
    r"enrichi\w*|anreicher\w*|enriquec\w*)(?!\w)",
    re.IGNORECASE,
)
# Ids that name the field rather than one treaty ("arms control"): never an event's treaty.
GENERAL_IDS = frozenset({"arms-control", "accession-protocol"})
_FIELDS = ("title", "summary", "content")
# A treaty noun right after a name ("Council of Europe accord", "NATO treaty").
_NOUN_AFTER = re.compile(
    r"\s+(?:treaty|accord|convention|pact|agreement|charter)(?!\w)", re.IGNORECASE
)
# A treaty named by a common noun only ("a Cold War-era arms treaty").
_GENERIC = re.compile(
    r"(?<!\w)(?:treaty|pact|accord|agreement|convention|\w*vertrag|\w*abkommen|traité|tratado|"
    r"acuerdo|pacto|договор\w*|соглашени\w*)(?!\w)",
    re.IGNORECASE,
)


# A treaty or treaty organisation that ends, dissolved by its members (rules/withdrawal.yaml).
_DISSOLVED = re.compile(
    r"ist geschichte|sind geschichte|a vécu|ont vécu|se disuelve|se disolvió|disoluci[oó]n|"
    r"dissolved|dissolves|dissous|dissoute|dissolution|aufgelöst|auflösung|löst sich auf|"
    r"роспуск|прекратил[аио]? существование|ceases? to exist|ceased to exist|ends its life|"
    r"поставлена точка|el fin del|la fin du|disparaître|disparaîtra|to disappear|"
    r"(?:уйд[её]т|уш[её]л|ушл[аио]) в историю",
    re.IGNORECASE,
)
# A treaty that enters into force, told in its headline: the step of no one party ("Вступила в
# силу Конвенция МОТ о труде в морском судоходстве", "La convention du travail maritime devient
# contraignante"), whichever ratifying state a report's summary recalls. Now, not later: "le
# traité entrera en vigueur en janvier" is the ratification that brings it there.
_IN_FORCE = re.compile(
    r"(?<!\w)(?:(?:enters|entered|entering|comes|came|coming) into (?:force|effect)|"
    r"(?:takes|took|taking) effect|(?:goes|went|going) into effect|now in force|"
    r"(?:becomes|became|becoming) (?:legally )?binding|"
    r"(?:entre|entrent|entré|entrée|entrés|entrées) en vigueur|(?<!entrera )(?<!entreront )"
    r"(?<!entrer )en vigueur|(?:devient|deviennent|devenu|devenue) contraignante?s?|"
    r"(?:entra|entran|entró|entraron) en vigor|(?<!entrará )(?<!entrarán )(?<!entrar )en vigor|"
    r"cobra vigencia|rige|rigen|(?:empieza|comienza|entra) a regir|"
    r"tritt in kraft|treten in kraft|in kraft getreten|(?:gilt|gelten) ab (?:heute|sofort|jetzt)|"
    r"(?:вступил|вступила|вступило|вступили|вступает|вступают) в (?:силу|действие)|"
    r"(?:обр[её]л|обрела|обрели) силу)(?!\w)",
    re.IGNORECASE,
)
# A headline that tells the entry into force as to come ("will take effect", "вступает в силу
# с 1 января", "tritt am 1. Juli in Kraft").
_LATER = re.compile(
    r"(?<!\w)(?:will|to (?:take|enter|come|go|become)|set to|due to|wird|werden|soll|sollen|va|"
    r"vont|a partir|à partir|desde el|from (?:\d|next|today|tomorrow)|on \d|am \d|с \d|"
    rf"с начала|со следующего|(?:in|en|from) (?:{MONTH_NAMES}))(?!\w)",
    re.IGNORECASE,
)
# What a state pauses of its own in an organisation: its membership, participation, cooperation,
# mission, work or obligations ("Sudan freezes IGAD membership", "suspends its participation in
# the OSCE", "Iran halts snap IAEA inspections", "прекратил выполнение Дополнительного протокола",
# "suspending its engagement with IGAD").
_OWN_PART = re.compile(
    r"(?<!\w)(?:membership|participation|cooperation|co-operation|mission|work|seat|contributions|"
    r"engagement|contacts?|contactos|Kontakte|взаимодействи\w*|контакт\w*|"
    r"inspections?|obligations|commitments|protocole?|safeguards|verification|monitoring|"
    r"membresía|participación|cooperación|misión|inspecciones|obligaciones|compromisos|"
    r"adhésion|coopération|engagements|"
    r"Mitgliedschaft|Teilnahme|Zusammenarbeit|Inspektion\w*|Verpflichtung\w*|Protokoll\w*|"
    r"членств\w*|участи\w*|сотрудничеств\w*|постпредств\w*|работ\w*|взнос\w*|инспекц\w*|"
    r"обязательств\w*|протокол\w*|выполнени\w*)(?!\w)",
    re.IGNORECASE,
)


# Names that passed to a successor: before talks on New START began (April 2009), "START",
# "СНВ" and "the Strategic Arms Reduction Treaty" were START I (signed 1991, lapsed December
# 2009) or the talks that led to it: "Soviets Recess Strategic Arms Talks" (1983), "В Лиссабоне
# поделили ответственность за СНВ" (1992) are not New START. id -> (first day it names it, the
# id before then).
PREDECESSORS: Mapping[str, tuple[date, str]] = {
    "new-start": (date(2009, 4, 1), "start-i"),
    # the eleven agreed to go on without the US in Da Nang (November 2017): before, the
    # Trans-Pacific Partnership was the TPP
    "cptpp": (date(2017, 11, 11), "tpp"),
}


class Extractor:
    """What extraction needs besides the entry: the vocabularies' ids and the actor table."""

    def __init__(
        self,
        canonical: Mapping[str, Mapping[str, Canonical]],
        actors: ActorTable,
        scan: Callable[[Entry], Sequence[Span]] | None = None,
        words: Callable[[Entry], tuple[str, ...]] = lambda entry: (),
    ) -> None:
        self.canonical = canonical
        self.actors = actors
        # The developments whose words an entry uses (see DEVELOPMENT_WORDS).
        self.words = words
        # Where the treaty vocabularies occur in an entry, whichever terms the rules used
        # (RuleSet.vocabulary_spans); the matches' own spans when not given.
        self.scan = scan
        # An organisation that is itself a treaty id (nato, who) names the treaty when no
        # treaty term matched: "Sweden becomes NATO's 32nd member".
        self.treaty_names = {
            c.id: c.name for v in TREATY_VOCABULARIES for c in canonical.get(v, {}).values()
        }

    def treaty_of(
        self, span: Span, vocabularies: Sequence[str] = TREATY_VOCABULARIES
    ) -> Canonical | None:
        """The treaty a span names, if its term is in one of the vocabularies."""
        key = term_key(span.term)
        for vocabulary in vocabularies:
            found = self.canonical.get(vocabulary, {}).get(key)
            if found is not None:
                return found
        return None

    def event(self, entry: Entry, matches: Sequence[Match]) -> Event | None:
        """The event an entry reports (``None`` when no rule matched)."""
        if not matches:
            return None
        spans = [s for m in matches for s in m.spans]
        if self.scan is not None:
            spans = list(dict.fromkeys([*spans, *self.scan(entry)]))
        named = [(s, c) for s in spans if (c := self.treaty_of(s)) is not None]
        fields = [(name, entry.field_text(name)) for name in _FIELDS]
        # A treaty's name, or its loose alias ("pacto nuclear"), is no actor and no step's words.
        treaty_spans = _by_field(
            s for s in spans if self.treaty_of(s, (*TREATY_VOCABULARIES, *ALIAS_VOCABULARIES))
        )
        # A field's treaty names and actor mentions: no development's own words.
        names_in = {f: [*treaty_spans.get(f, ()), *self._actor_spans(entry, f)] for f in _FIELDS}
        # Where the rules' own words (neither a treaty's name nor an actor's) start, by field.
        steps = {
            f: [
                s.start
                for s in _outside(
                    [s for m in matches for s in m.spans if s.field == f], names_in[f]
                )
            ]
            for f in _FIELDS
        }
        named = [(s, c) for s, c in named if not self._instrument_of(s, c, entry)]
        treaty = self._of_its_era(self._treaty(named, spans, fields[0][1], steps), entry)
        # Neither a treaty's name nor an actor's is the development's own words.
        span_fields = {span.field for m in matches for span in m.spans}
        names = {f: names_in[f] for f in _FIELDS if f in span_fields}
        tags = _tag_order(matches, names, dict(fields))
        development_spans = _by_field(
            s for m in matches if tags and tags[0] in m.tags for s in _own(m, treaty_spans)
        )
        ignore = frozenset((treaty.id,)) if treaty else frozenset()
        primary = tags[0] if tags else ""
        if tags and "title" not in development_spans and _COUNTER_STEP.search(entry.title):
            # The title leads on a step no tag covers ("Тегеран в ответ на резолюцию МАГАТЭ
            # запустит новый центр по обогащению"), the tag only in the text below: the report
            # is of that counter-step, not of the step it answers (a story of its own).
            tags = (COUNTER_STEP, *tags)
        actors = subject(
            self.actors, fields, treaty_spans, development_spans, ignore,
            finding=primary == "violation",
        )  # fmt: skip
        tags, actors = self._body_on_member(tags, actors, treaty, fields[:2])
        if (
            treaty is not None
            and tags
            and tags[0] == "withdrawal"
            and _DISSOLVED.search(entry.title)
        ):
            # the treaty or its organisation itself ends: its members' common step, whichever
            # of them a report names ("Der Warschauer Pakt ist Geschichte", "В Праге поставлена
            # точка ..."): the one story of the treaty's end
            actors = ()
        if (
            actors
            and treaty is not None
            and tags
            and tags[0] == "ratification"
            and _IN_FORCE.search(entry.title)
            and not _LATER.search(entry.title)
            and not self._states_in(entry.title, ignore)
            and not self._states_in(first_sentence(entry.summary), ignore)
        ):
            # the treaty enters into force, its headline and opening sentence naming no state:
            # the common step of its parties, whichever of them the summary recalls further
            # down ("Россия ратифицировала конвенцию в прошлом году", "Deutschland hat das
            # Übereinkommen ebenfalls ratifiziert"): one story in every language. States that
            # open the summary act today: "СССР, США и Великобритания сдали на хранение
            # ратификационные грамоты".
            actors = ()
        return Event(
            treaty=treaty.id if treaty else None,
            actors=actors,
            development=tags[0] if tags else matches[0].rule_id,
            secondary=tags[1:],
            due=due(matches),
            published=entry.published,
            treaty_name=treaty.name if treaty else None,
            actor_names=tuple(self.actors.name(a) for a in actors),
            parties=() if treaty else self._parties(fields[:2], actors),
            bilateral=treaty is None and bilateral(fields[0][1], self.actors),
        )

    def source(self, entry: Entry) -> Event | None:
        """What a report that matched no rule names: its treaty and acting parties, no
        development (a possible follow-up source, :mod:`monitor.events.sources`). ``None`` when
        it names no treaty or no actor, or reads as background."""
        if self.scan is None or background(entry) or other_step(entry):
            return None
        # Title and summary only: a source is read from what it leads on (and a long article's
        # text would cost a scan of its own on every entry that matches nothing).
        lead = replace(entry, content="")
        spans = list(self.scan(lead))
        named = [(s, c) for s in spans if (c := self.treaty_of(s)) is not None]
        fields = [(name, entry.field_text(name)) for name in _FIELDS[:2]]
        treaty = self._of_its_era(self._treaty(named, spans, fields[0][1]), entry)
        if treaty is None or treaty.id in GENERAL_IDS:
            return None
        treaty_spans = _by_field(s for s, _ in named)
        actors = subject(
            self.actors, fields, treaty_spans, {}, frozenset((treaty.id,)), body_leads=True
        )
        if not actors:
            return None
        return Event(
            treaty=treaty.id,
            actors=actors,
            development="",
            # a source's secondary tags: the developments whose words it uses (where it leads)
            secondary=self.words(lead),
            published=entry.published,
            treaty_name=treaty.name,
            actor_names=tuple(self.actors.name(a) for a in actors),
        )

    def _body_on_member(
        self,
        tags: tuple[str, ...],
        actors: tuple[str, ...],
        treaty: Canonical | None,
        fields: Sequence[tuple[str, str]],
    ) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """A step on a member is the organisation's, whoever the report leads on ("Paraguay
        suspended from Mercosur" and "Mercosur suspends Paraguay" are Mercosur's step), and an
        organisation that suspends is acting on a member, never pausing its own part ("L'Union
        africaine suspend à son tour la Guinée" is the AU's membership step). So is a state's
        suspension from an organisation that says nothing of the state pausing its own part
        ("L'UA lève la suspension du Gabon", "Conakry exclue des organes de la Cédéao"; not
        "Uzbekistan suspends its CSTO membership")."""
        body = treaty.id if treaty is not None and treaty.id in self.actors.names else None
        if body is None or not tags:
            return tags, actors
        if tags[0] == "suspension" and (
            actors == (body,) or not any(_OWN_PART.search(text) for _, text in fields)
        ):
            tags = ("membership", *(t for t in tags[1:] if t != "membership"))
        if tags[0] == "membership":
            actors = (body,)
        return tags, actors

    def _parties(self, fields: Sequence[tuple[str, str]], actors: Sequence[str]) -> tuple[str, ...]:
        """The states the title and summary name besides the actors, sorted: the other parties
        of a treaty the report does not name ("Seoul protests Japanese scrapping of fishing
        accord": kr)."""
        acting = {m for a in actors for m in self.actors.members.get(a, (a,))}
        named = {
            m.actor
            for _, text in fields
            for m in self.actors.mentions(text)
            if len(m.actor) == 2 and m.actor not in self.actors.members
        }
        return tuple(sorted(named - acting))

    def _treaty(
        self,
        named: Sequence[tuple[Span, Canonical]],
        spans: Sequence[Span],
        title: str,
        steps: Mapping[str, Sequence[int]] | None = None,
    ) -> Canonical | None:
        """The most salient treaty: by field (title first), then the earliest; a loose alias
        counts when no instrument is named, and an organisation that heads its field ranks
        after what else the field names. Failing all, an organisation in the title."""
        specific = [(s, c) for s, c in named if c.id not in GENERAL_IDS]
        if not any(c.id not in self.actors.names for _, c in specific):
            specific += [(s, c) for s in spans if (c := self.treaty_of(s, ALIAS_VOCABULARIES))]
        candidates = _outermost(specific)
        if candidates:
            return min(candidates, key=lambda sc: self._rank(sc[0], sc[1], steps))[1]
        return self._organisation(title)

    def _of_its_era(self, treaty: Canonical | None, entry: Entry) -> Canonical | None:
        """The treaty a name meant when the entry was published (see :data:`PREDECESSORS`)."""
        if treaty is None or treaty.id not in PREDECESSORS:
            return treaty
        until, earlier = PREDECESSORS[treaty.id]
        if entry.published.date() >= until or earlier not in self.treaty_names:
            return treaty
        return Canonical(earlier, self.treaty_names[earlier])

    def _rank(
        self, span: Span, treaty: Canonical, steps: Mapping[str, Sequence[int]] | None
    ) -> tuple[int, bool, int]:
        # An organisation that is itself a treaty id (NATO, the IAEA, the Council of Europe)
        # named before any words of the step is the party acting on, or the venue speaking of,
        # the instrument the field also names, even by a description: "NATO-Staaten setzen
        # KSE-Vertrag aus" reports cfe, "IAEA bestätigt Verstoß Irans gegen Atomabkommen" the
        # JCPOA. Named after the step's words, it is what the step acts on: "Russia notified its
        # exit from the Council of Europe, and so from the ECHR's jurisdiction".
        heads = treaty.id in self.actors.names and not any(
            start < span.start for start in (steps or {}).get(span.field, ())
        )
        return (_field_rank(span.field), heads, span.start)

    def _instrument_of(self, span: Span, treaty: Canonical, entry: Entry) -> bool:
        """Whether an organisation's name only qualifies a treaty noun after it: "the Council of
        Europe accord" is one of its conventions, not the organisation."""
        if treaty.id not in self.actors.names:
            return False
        return _NOUN_AFTER.match(entry.field_text(span.field), span.end) is not None

    def _states_in(self, text: str, ignore: frozenset[str]) -> bool:
        """Whether ``text`` names an actor besides those in ``ignore``."""
        return any(m.actor not in ignore for m in self.actors.mentions(text))

    def _actor_spans(self, entry: Entry, name: str) -> list[tuple[int, int]]:
        text = entry.field_text(name)
        # A name's closing dot ("U.S.") is part of the rules' span, not of the mention.
        return [
            (m.start, m.end + int(text[m.end : m.end + 1] == "."))
            for m in self.actors.mentions(text)
        ]

    def _organisation(self, title: str) -> Canonical | None:
        """The first organisation the title names whose id is also a treaty id."""
        for mention in self.actors.mentions(title):
            if mention.actor in self.treaty_names:
                rest = title[: mention.start] + title[mention.end :]
                if _GENERIC.search(rest):
                    return None  # it acts on a treaty the title only describes
                return Canonical(mention.actor, self.treaty_names[mention.actor])
        return None


def extractor_for(rules: object, actors: ActorTable) -> Extractor:
    """The extractor for a rule set (any matcher: one without vocabularies gives no ids)."""
    canonical = getattr(rules, "canonical", None) or {}
    spans = getattr(rules, "vocabulary_spans", None)
    if spans is None:
        return Extractor(canonical, actors)
    names = (*TREATY_VOCABULARIES, *ALIAS_VOCABULARIES)
    return Extractor(
        canonical, actors, lambda entry: spans(names, entry), _development_words(rules, spans)
    )


def _development_words(
    rules: object, spans: Callable[[Sequence[str], Entry], Sequence[Span]]
) -> Callable[[Entry], tuple[str, ...]]:
    """The developments whose words an entry uses, from one search of all their vocabularies."""
    vocabularies: Mapping[str, Sequence[int]] = getattr(rules, "vocabularies", {})
    terms = getattr(rules, "terms", ())
    developments: dict[str, set[str]] = {}
    for development, names in DEVELOPMENT_WORDS.items():
        for name in names:
            for index in vocabularies.get(name, ()):
                developments.setdefault(term_key(terms[index].source), set()).add(development)
    every = tuple(name for names in DEVELOPMENT_WORDS.values() for name in names)

    def words(entry: Entry) -> tuple[str, ...]:
        found = {
            d for span in spans(every, entry) for d in developments.get(term_key(span.term), ())
        }
        return tuple(sorted(found))

    return words


def _outermost(candidates: Sequence[tuple[Span, Canonical]]) -> list[tuple[Span, Canonical]]:
    """Treaty names not inside a longer one of another treaty: "Договор СНВ-2" names START II,
    not the New START its "СНВ" would alone. Nor a name whose last words open another
    treaty's name: "membership of the Commonwealth of Independent States" names the CIS, not
    the Commonwealth its "membership of the Commonwealth" would alone."""
    return [
        (s, c)
        for s, c in candidates
        if not any(
            o.field == s.field
            and oc.id != c.id
            and (
                (o.start <= s.start and s.end <= o.end and (o.end - o.start) > (s.end - s.start))
                or s.start < o.start < s.end < o.end
            )
            for o, oc in candidates
        )
    ]


def _field_rank(field: str) -> int:
    return _FIELDS.index(field) if field in _FIELDS else len(_FIELDS)


def _salience(span: Span) -> tuple[int, int]:
    return (_field_rank(span.field), span.start)


def _by_field(spans: Iterable[Span]) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for span in spans:
        found.setdefault(span.field, []).append((span.start, span.end))
    return found


def _own(match: Match, names: Mapping[str, Sequence[tuple[int, int]]]) -> list[Span]:
    """The spans of a match that are not among ``names`` (a treaty's name, an actor's)."""
    return [s for s in match.spans if _outside([s], names.get(s.field, ()))]


def _outside(spans: Iterable[Span], names: Sequence[tuple[int, int]]) -> list[Span]:
    """The spans that lie inside none of ``names``."""
    return [s for s in spans if not any(a <= s.start and s.end <= b for a, b in names)]


def _tag_order(
    matches: Sequence[Match],
    names: Mapping[str, Sequence[tuple[int, int]]],
    texts: Mapping[str, str],
) -> tuple[str, ...]:
    """Every tag of the matches, the primary first: most salient field, then a tag whose words
    stand in the main clause before one named only in a clause of circumstance ("Bolton in
    Moscow for talks as Russia warns on treaty exit": talks; "NATO suspends CFE after Russian
    withdrawal": suspension), then precedence."""
    placed: dict[str, tuple[int, int, int, int]] = {}
    clauses = {name: _circumstance(text) for name, text in texts.items()}
    # Words every matching rule used ("NATO allies", a state's name) place no tag before another.
    shared = set.intersection(*({_key(s) for s in m.spans} for m in matches))
    if len({m.tags for m in matches}) < 2:
        shared = set()
    for match in matches:
        own = [s for s in _own(match, names) if _key(s) not in shared]
        own = own or _own(match, names) or list(match.spans)
        where = min(
            (
                (_clause_rank(s.field, _within(s.start, clauses.get(s.field))), 0, s.start)
                for s in own
            ),
            default=(len(_FIELDS), 0, 0),
        )
        for tag in match.tags:
            rank = PRECEDENCE.index(tag) if tag in PRECEDENCE else len(PRECEDENCE)
            key = (where[0], where[1], rank, where[2])
            placed[tag] = min(placed.get(tag, key), key)
    return tuple(sorted(placed, key=lambda t: placed[t]))


# Words opening a clause of circumstance: what follows is the occasion, not the step reported.
_CIRCUMSTANCE = re.compile(
    r"(?<!\w)(?:as|after|amid|following|despite|while|nach|trotz|während|après|malgré|"
    r"alors que|tras|después de|pese a|после|на фоне|несмотря на)(?!\w)",
    re.IGNORECASE,
)


def _circumstance(text: str) -> tuple[int, int] | None:
    """Where a field's first clause of circumstance stands: from its opening word to the end,
    or to the first comma when it opens the field ("After Russia's exit, NATO ...")."""
    found = _CIRCUMSTANCE.search(text)
    if found is None:
        return None
    if found.start() < 3:
        comma = text.find(",", found.end())
        return (found.start(), comma if comma >= 0 else len(text))
    return (found.start(), len(text))


def _clause_rank(field: str, circumstance: bool) -> int:
    """Title, then summary, main clauses first: a clause of circumstance in the title is the
    occasion, and the summary's main clause says what happened ("Venezuela inicia su retirada
    ... tras la convocatoria de una reunión": the summary's withdrawal, not the title's talks).
    The long content comes last."""
    rank = _field_rank(field)
    if rank >= 2:
        return 4 + rank - 2 + int(circumstance)
    return rank + 2 * int(circumstance)


def _key(span: Span) -> tuple[str, int, int]:
    return (span.field, span.start, span.end)


def _within(position: int, clause: tuple[int, int] | None) -> bool:
    return clause is not None and clause[0] <= position < clause[1]

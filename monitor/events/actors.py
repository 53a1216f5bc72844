"""States and organisations named in a text, and which of them take the step it reports. Pure.

The vocabulary (``data/actors.yaml``, shipped in the package) lists for each actor its names,
capitals, leaders, ministries and demonyms in five languages. :class:`ActorTable` finds their
mentions in one pass of one regular expression; :func:`subject` picks the actors taking the step:
the grammatical subject, i.e. the first actor named before the development's words (with the
actors coordinated with it: "US and Russia agree ..."), in the title before the summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from monitor.errors import RuleError
from monitor.events.names import NameIndex, case_sensitive
from monitor.rules.yamlsource import read_yaml

_ID = r"^[a-z0-9][a-z0-9-]{0,31}$"
# What may stand between two actors that act together: "US and Russia", "Россия и США", "A, B".
# (A name's trailing dot is not part of the mention: "U.S.-Russia", "U.S. and Russia".)
# An article may stand before a name ("Le Burkina, le Mali et le Niger annoncent ...").
_CONJUNCTION = re.compile(
    r"^\.?\s*(?:,|&|/|-|–|and|и|et|und|y|e|та|·)?\s*(?:(?:the|le|la|les|el|los|las)\s+)?$",
    re.IGNORECASE,
)
# A headline whose subject only reacts ("Tokyo regrets Pyongyang's NPT pullout", "Путин назвал
# ошибочным решение США о выходе") reports the step of the next actor it names.
_LEAD = r"^[.,\s'‘’\"«»“”]*(?:[\w-]+[,\s'‘’\"«»“”]+){0,3}?(?:"
_REACTION_VERBS = (
    r"says?|said|calls?|called|urges?|urged|regrets?|warns?|warned|slams?|critici[sz]es|"
    r"condemns?|denounces?|welcomes?|reacts?|responds?|laments?|decries|blasts?|rejects?|"
    r"accuses|accused|hail(?:s|ed)?|salut(?:es|ed|e)|commend(?:s|ed)?|prais(?:es|ed|e)|welcomed|"
    r"shrugs? off|protests?|fume[sd]?|bristles?|"
    r"(?:is |are )?(?:disappointed|dismayed|alarmed|angered)|"
    r"lodges? (?:a )?protest|"
    r"назвал\w*|заявил\w*|осудил\w*|раскритиковал\w*|призвал\w*|сожале\w*|приветствовал\w*|"
    r"ответил\w*|отреагировал\w*|прокомментировал\w*|обвинил\w*|обвиня\w*|"
    r"dénoncen?t?|condamnen?t?|critiquen?t?|regrett?en?t?|déplorent|déplore|saluen?t?|"
    r"réagi(?:t|ssent)|juge(?:nt)?|accusen?t?|"
    r"kritisier(?:t|en)|verurteil(?:t|en)|bedauer(?:t|n)|begrüß(?:t|en)|warn(?:t|en)|"
    r"reagier(?:t|en)|nenn(?:t|en)|wirft|werfen|"
    r"critica[n]?|condena[n]?|lamenta[n]?|denuncia[n]?|advierte[n]?|responde[n]?|"
    r"califica[n]?|acusa[n]?"
)
_REACTION = re.compile(_LEAD + _REACTION_VERBS + r")\b", re.IGNORECASE)
# Whoever finds, confirms or alleges a violation names the party in breach after it ("IAEA
# confirms Iran breaching ...", "U.S. says Russia is not complying"): outlets vary the finder,
# the party in breach is the event's actor.
_FINDING = re.compile(
    _LEAD
    + _REACTION_VERBS
    + r"|confirms?|confirmed|verifies|verified|finds|found|declares?|declared|reports?|"
    r"подтверди\w*|установил\w*|bestätigt|confirma[n]?|constate|confirme)\b",
    re.IGNORECASE,
)
# A subject that answers another ("Putin responde a Trump y congela el Tratado INF") takes the
# step itself when the step is coordinated after the one it answers.
_RESPONSE = re.compile(
    r"^[\s'‘’\"«»“”]*(?:responds?|responded|reacts?|reacted|hits back|retaliates|ответил\w*|"
    r"отреагировал\w*|réagit|répond|riposte|reagiert|antwortet|responde|reacciona)\b",
    re.IGNORECASE,
)
# A subject that says it takes the step reports its own ("The U.S. Treasury said it had sent
# Hungary formal notice", "Paris a annoncé qu'il dénonçait", "Berlin erklärte, dass es ...").
_OF_ITSELF = re.compile(
    r"\s+(?:that\s+)?(?:it|they|we)\s+(?:has|had|have|would|will|was|were|is|are)\b|"
    r",?\s+qu['’](?:il|elle|ils|elles)\s|,?\s+dass\s+(?:es|sie|er)\s",
    re.IGNORECASE,
)
# "Russia responds in kind as US suspends INF pact": answering with the same step is acting.
_IN_KIND = re.compile(
    r"^[\s'‘’\"«»“”]*(?:responds? in kind|responded in kind|hits back|retaliates|mirrors|"
    r"mirrored|follows suit|riposte|répond par|ответил[а-я]* зеркально|зеркально)",
    re.IGNORECASE,
)
# "citing anti-Israel bias", "pro-Russian separatists": an adjective, not an actor
_ADJECTIVE_PREFIX = ("anti-", "pro-", "анти", "про-")
_AND = re.compile(r"(?<!\w)(?:and|и|et|und|y|e)(?!\w)", re.IGNORECASE)
# A subject welcoming a step ("Guterres salutes 50th ratification"), unlike one saying what it
# does itself ("North Korea says it will no longer abide by ..."), names someone else's step.
_WELCOMES = re.compile(
    r"(?<!\w)(?:hails?|salutes?|commends?|praises?|welcomes?|приветствовал\w*|salue\w*|"
    r"begrüß\w*|celebra\w*|saluda\w*)(?!\w)",
    re.IGNORECASE,
)
# What links an answer to the step it answers with: "Putin responde a Trump y congela ...",
# "Pakistán responde a India con la suspensión de visados".
_ANSWER_LINK = re.compile(
    r"(?<!\w)(?:and|и|et|und|y|e|with|by|con|avec|par|en|mit|durch|через)(?!\w)", re.IGNORECASE
)
# People, not their state: "Pakistani nationals", "ressortissants indiens", "Pakistanis barred".
_PEOPLE = (
    r"nationals|citizens|pilgrims|travell?ers|tourists|students|workers|граждан\w*|"
    r"ressortissants|citoyens|touristes|Staatsbürger\w*|Bürger\w*|Touristen|ciudadanos|"
    r"nacionales|turistas|peregrinos"
)
_PEOPLE_AFTER = re.compile(r"\s+(?:" + _PEOPLE + r")(?!\w)", re.IGNORECASE)
# ... or counted: "four Chileans", "cuatro chilenos condenados", "deux Français".
_COUNT = (
    r"\d+|two|three|four|five|six|seven|eight|nine|ten|dos|tres|cuatro|cinco|seis|deux|trois|"
    r"quatre|cinq|six|zwei|drei|vier|fünf|sechs|два|двух|три|трёх|трех|четыре|четырёх|пять"
)
_PEOPLE_BEFORE = re.compile(r"(?<!\w)(?:" + _PEOPLE + "|" + _COUNT + r")\s+$", re.IGNORECASE)
# A region's adjective is no state's: "South American countries", "Latin American leaders".
_REGION_BEFORE = re.compile(r"(?<!\w)(?:South|North|Latin|Central|Pan)[\s-]+$", re.IGNORECASE)
# An English demonym used as a plural noun ("Pakistanis", "Iranians") names people.
_PLURAL_DEMONYM = re.compile(r"[A-Z]\w*(?:is|ans)$")
# German names a state, capital or leader in the genitive with an "s" ("Schwedens
# Funkaufklärung", "Moskaus Antwort", "Putins Dekret"): a one-word Latin name also matches with
# it, except where the plural names something else ("the Americas", "the two Koreas").
_GENITIVE = re.compile(r"[A-Za-zÄÖÜäöüéè]{3,}[a-rt-wyäöü]")
_NOT_GENITIVE = frozenset({"America", "Korea", "Guinea", "Congo", "Sudan", "Turkey", "Jordan"})


def _genitive(term: str) -> str | None:
    """The German genitive of a one-word name ("Schweden" -> "Schwedens"), or None."""
    if term in _NOT_GENITIVE or case_sensitive(term) or not _GENITIVE.fullmatch(term):
        return None
    return term + "s"


# A short topic before a colon ("Nucléaire iranien : Paris, Londres et Berlin ...").
_TOPIC = re.compile(r"^([^:]{1,40}?)\s?:\s")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Term = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ActorModel(_Model):
    """One state or organisation as the data file writes it."""

    id: Annotated[str, StringConstraints(pattern=_ID)]
    name: Term
    names: Annotated[tuple[Term, ...], Field(min_length=1)]
    capitals: tuple[Term, ...] = ()
    leaders: tuple[Term, ...] = ()
    institutions: tuple[Term, ...] = ()
    demonyms: tuple[Term, ...] = ()
    # A group acting as one (the E3): a mention stands for its members.
    members: tuple[Annotated[str, StringConstraints(pattern=_ID)], ...] = ()

    def terms(self) -> tuple[str, ...]:
        """Every noun that names the actor (demonyms apart)."""
        return self.names + self.capitals + self.leaders + self.institutions


class ActorsFile(_Model):
    """The whole data file."""

    version: int
    actors: tuple[ActorModel, ...]


# How many texts' mentions an actor table keeps (an entry's fields, and a few more).
_RECENT_TEXTS = 16


@dataclass(frozen=True, slots=True)
class Mention:
    """One actor named at ``start:end`` of a text (``demonym``: by an adjective, "iranien")."""

    actor: str
    start: int
    end: int
    demonym: bool = False


class ActorTable:
    """The compiled actor vocabulary: mentions in a text, display names by id."""

    def __init__(self, actors: Iterable[ActorModel]) -> None:
        self.names: dict[str, str] = {}
        self.members: dict[str, tuple[str, ...]] = {}
        self._index: NameIndex[tuple[str, bool]] = NameIndex()  # -> (actor, demonym)
        self._recent: dict[str, tuple[Mention, ...]] = {}
        actors = tuple(actors)
        # a written form another actor owns is not shadowed by a genitive
        known = {term for actor in actors for term in (*actor.terms(), *actor.demonyms)}
        for actor in actors:
            if actor.id in self.names:
                raise RuleError(f"actors: id {actor.id!r} is listed twice")
            self.names[actor.id] = actor.name
            if actor.members:
                self.members[actor.id] = actor.members
            for term in actor.terms():
                self._index.add(term, (actor.id, False))
                genitive = _genitive(term)
                if genitive is not None and genitive not in known:
                    self._index.add(genitive, (actor.id, False))
            for term in actor.demonyms:
                self._index.add(term, (actor.id, True))

    def mentions(self, text: str) -> list[Mention]:
        """Every actor mention in ``text``, in order."""
        # One entry's fields are read several times over (the treaty, the tags, the subject):
        # the last few texts' mentions are kept rather than found again.
        known = self._recent.get(text)
        if known is None:
            if len(self._recent) >= _RECENT_TEXTS:
                self._recent.clear()
            known = self._recent[text] = tuple(
                Mention(found.value[0], found.start, found.end, found.value[1])
                for found in self._index.find(text)
            )
        return list(known)

    def name(self, actor: str) -> str:
        """The display name of an actor id (the id itself when unknown)."""
        return self.names.get(actor, actor)


def parse_actors(raw: bytes, source: str = "actors.yaml") -> ActorTable:
    """Validate and compile an actors file; a :class:`RuleError` names file, line and field."""
    located = read_yaml(raw, source)
    try:
        model = ActorsFile.model_validate(located.data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc: tuple[Any, ...] = tuple(first["loc"])
        while loc and loc not in located.values:
            loc = loc[:-1]
        line, column = located.position(loc)
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        message = f"{where.lstrip('.')}: {first['msg']}"
        raise RuleError(message, file=source, line=line, column=column) from None
    return ActorTable(model.actors)


def load_actors() -> ActorTable:
    """The actor vocabulary shipped in the package."""
    raw = resources.files("monitor.events").joinpath("data/actors.yaml").read_bytes()
    return parse_actors(raw, "monitor/events/data/actors.yaml")


Spans = Mapping[str, Sequence[tuple[int, int]]]


def subject(
    table: ActorTable,
    fields: Sequence[tuple[str, str]],
    treaty_spans: Spans,
    development_spans: Spans,
    ignore: frozenset[str] = frozenset(),
    *,
    reactions: bool = True,
    finding: bool = False,
    body_leads: bool = False,
) -> tuple[str, ...]:
    """The actors taking the step, sorted: the subject of the first field that names one.

    ``fields`` are (name, text) in order of salience (title, then summary). Mentions inside a
    treaty's name ("Paris Agreement", "Minsk agreements"), qualifying it ("UN treaty", "pacto
    nuclear con Irán") or governed by a preposition of aim ("60 Tage für Moskau", "Face à
    Moscou") are not actors. In a field, the actors named before the first development span are
    preferred over those named after it. Actors in ``ignore`` (the organisation that is the
    treaty: NATO in "Sweden joins NATO") are skipped. A topic before a colon that names actors
    only by adjectives ("Nucléaire iranien : ...") or is only a speaker ("Рябков: ...",
    "Gorbachev: Trump's exit ...") gives way to what follows it. With ``reactions``, a subject
    that only reacts ("X says", "X regrets") gives way to the next actor named; with ``finding``
    (a violation) so does one that finds or alleges it ("IAEA confirms Iran breaching ...").
    """
    verbs = _FINDING if finding else _REACTION
    reacted: tuple[str, ...] = ()
    for name, text in fields:
        treaties = treaty_spans.get(name, ())
        steps = development_spans.get(name, ())
        found_here = table.mentions(text)
        body = (
            None
            if finding
            else _acting_body(found_here, ignore, text, steps, leads=body_leads and name == "title")
        )
        mentions = [
            m
            for m in found_here
            if (m is body or m.actor not in ignore)
            and (m is body or not _inside(m, treaties))
            and not _modifies(m, treaties, text)
            and not _follows_treaty(m, treaties, text)
            and not _before(_PARTY_WITH, text, m.start)
            and not _before(_VENUE_OF, text, m.start)
            and not (_before(_AT, text, m.start) and _SEAT.match(text, m.end))
            and not (m.actor in _DEPOSITARIES and _before(_DEPOSITED_AT, text, m.start))
            and not text[max(0, m.start - 5) : m.start].lower().endswith(_ADJECTIVE_PREFIX)
            and not (m.demonym and _people(m, text))
            and not (m.demonym and _before(_REGION_BEFORE, text, m.start))
        ]
        mentions = _without_topic(mentions, text, speaker=reactions)
        mentions = [
            m
            for m in mentions
            if not (_before(_AIMED_AT, text, m.start) or _before(_OPPOSED, text, m.start))
            # a finding against a state names the state in breach: "Trade body rules against
            # U.S. on gasoline rule", "La OMC falla contra Estados Unidos"
            or (finding and _before(_AGAINST, text, m.start))
        ]
        if not mentions:
            continue
        starts = [start for start, end in steps if not _covers(mentions, start, end)]
        before = [m for m in mentions if starts and m.end <= min(starts)]
        if name == "title" and _unnamed_subject(text, mentions, starts):
            # "Parliament approves Sweden's NATO accession", "PM hails 'brave' US move, tells
            # diplomats to follow suit": the title's subject is a body or a leader it leaves
            # unnamed; the names after it are the step's object, and the summary says whose
            # body or leader it is ("Hungary's National Assembly ratified ...", "Prime Minister
            # Benjamin Netanyahu ... Israel's withdrawal").
            summary = subject(
                table, fields[1:], treaty_spans, development_spans, ignore,
                reactions=reactions, finding=finding,
            )  # fmt: skip
            if summary:
                return summary
        chosen = _coordinated(before or mentions, text)
        after = text[chosen[-1].end :]
        verb = verbs.match(after) if reactions and not _IN_KIND.match(after) else None
        itself = _OF_ITSELF.match(after, verb.end()) if verb else None
        if itself and _step_within(text, chosen[-1].end + itself.end(), starts, words=2):
            # "The U.S. Treasury said it had sent Hungary formal notice": its own step, told
            # right after (not "Kremlin says it will seek clarification after Armenia freezes")
            verb = None
        if verb and _acts_on(text, chosen[-1].end + verb.end(), treaty_spans.get(name, ())):
            verb = None  # the treaty is the verb's object: "Washington dénonce le traité ..."
        # the next actor named after the verb ("Macron, May et Merkel regrettent le retrait
        # américain": not Merkel)
        later = [m for m in mentions if verb and m.start >= chosen[-1].end + verb.end()]
        if later:
            answered = _coordinated(later, text)
            if not _answers(text, chosen[-1].end, answered[-1].end, starts) and not (
                name == "title" and _own_clause(text, answered[-1].end, starts, mentions)
            ):
                chosen = answered
        found = tuple(sorted({a for m in chosen for a in table.members.get(m.actor, (m.actor,))}))
        if verb and not later and name == "title" and _WELCOMES.search(verb.group(0)):
            # A title whose subject only reacts and names no other actor ("Guterres salutes 50th
            # ratification of nuclear ban treaty"): the summary says whose step it is.
            reacted = reacted or found
            continue
        return found
    return reacted


# A title opening on a body it does not name: "Parliament approves ...", "Lawmakers back ...",
# "Госдума ..." is named (Russia's), "Парламент ратифицировал ..." is not.
_UNNAMED_BODY = re.compile(
    r"^[\s'‘’\"«»“”]*(?:the\s+|le\s+|la\s+|l'|el\s+|das\s+|der\s+|die\s+)?(?:parliament|"
    r"lawmakers|legislators|legislature|senate|senators|national assembly|lower house|upper "
    r"house|house of representatives|house|congress|deputies|mps|парламент\w*|депутат\w*|"
    r"сенат\w*|parlement|députés|"
    r"sénat|assemblée nationale|parlament|abgeordnete\w*|senat|parlamento|diputados|senado|"
    r"congreso|asamblea nacional)(?!\w)",
    re.IGNORECASE,
)


def _unnamed_subject(text: str, mentions: Sequence[Mention], starts: Sequence[int]) -> bool:
    """Whether a title opens on a body with a step ("Parliament approves ...") or on a leader
    ("PM hails ...") whose state it does not name: not "Парламент Эстонии ратифицировал ...",
    where the body's state stands between the body and its step, nor "President Trump ..."."""
    body = _UNNAMED_BODY.match(text) if starts else None
    if body and not _named_body(mentions, starts, body.end()):
        return True
    leader = _UNNAMED_LEADER.match(text)
    return leader is not None and not any(
        _CONJUNCTION.match(text[leader.end() : m.start]) for m in mentions
    )


# A title opening on a leader or minister it does not name ("PM hails ...", "Le président
# dénonce ...", "Премьер заявил ..."): "President Trump", "Israeli PM" name theirs.
_UNNAMED_LEADER = re.compile(
    r"^[\s'‘’\"«»“”]*(?:the\s+|le\s+|la\s+|el\s+|der\s+|die\s+)?(?:pm|premier|prime minister|"
    r"president|chancellor|foreign minister|fm|premierminister\w*|kanzler\w*|präsident\w*|"
    r"außenminister\w*|premier ministre|première ministre|président\w*|chef de l'état|"
    r"ministre des affaires étrangères|presidente|presidenta|primer ministro|primera ministra|"
    r"canciller|премьер\w*|президент\w*|канцлер\w*|глава мид)(?!\w)",
    re.IGNORECASE,
)


def _acting_body(
    mentions: Sequence[Mention],
    ignore: frozenset[str],
    text: str,
    steps: Sequence[tuple[int, int]],
    *,
    leads: bool = False,
) -> Mention | None:
    """The organisation that is the event's treaty when it heads the field as the subject of the
    step ("Council of Europe assembly suspends Azerbaijani delegation", "ПАСЕ не подтвердила
    полномочия ..."): a body acting on a state is an actor of its own, not the instrument.
    Not in a topic before a colon, not a possessive ("UNASUR's members suspend ..." is theirs),
    and only when it is named first and before the step's words (with ``leads``, for a report
    whose step's words are unknown: when it opens the field, "L'APCE refuse de valider ...")."""
    if not mentions or mentions[0].actor not in ignore or not (steps or leads):
        return None
    head = mentions[0]
    topic = _TOPIC.match(text)
    if topic is not None and head.start < topic.end():
        return None
    if text[head.end : head.end + 2] in ("'s", "’s") or text[head.start : head.end].endswith(
        ("'s", "’s")
    ):
        return None
    if not steps:
        return head if _OPENS.fullmatch(text, 0, head.start) else None
    first_step = min(
        (start for start, _ in steps if not head.start <= start < head.end), default=None
    )
    return head if first_step is not None and head.end <= first_step else None


# Nothing but an article (or quotes) before a name that opens a field.
_OPENS = re.compile(r"[\s'‘’\"«»“”]*(?:(?:the|le|la|les|l'|el|los|las|der|die|das)\s*)?", re.I)


# A preposition of aim or opposition right before a name: the actor is the step's target, not
# its subject ("60 Tage für Moskau", "Face à Moscou, le flanc est ...", "ultimatum to Russia").
_AIMED_AT = re.compile(
    r"(?<!\w)(?:for|against|to|für|gegen|pour|contre|face à|para|contra|frente a|для|против)"
    r"\s+(?:(?:the|le|la|l'|les|el|la|die|der|den)\s*)?$",
    re.IGNORECASE,
)
# A body's seat is where a step is taken, not who takes it: "lodges ratification papers at UN
# headquarters".
_AT = re.compile(r"(?<!\w)(?:at|in)\s+(?:the\s+)?$", re.IGNORECASE)
_SEAT = re.compile(
    r"(?:'s)?\s*(?:headquarters|HQ|Hauptquartier|Zentrale|secretariat)\b", re.IGNORECASE
)
# Where an instrument is lodged is no party to it: "Cancillería deposita en la ONU la
# ratificación", "Palaos entregó en la ONU el primer instrumento", "remis à l'ONU", "bei der UNO
# hinterlegt", "сдала на хранение в ООН".
_DEPOSITARIES = frozenset({"un"})
_DEPOSITED_AT = re.compile(
    r"(?<!\w)(?:at|in|with|en|ante|à|auprès de|aux|bei|в)\s+(?:(?:the|la|l'|l’|der|den)\s*)?$",
    re.IGNORECASE,
)
# Who opposes a step does not take it: "l'accord d'Entebbe entre en vigueur malgré l'opposition de
# l'Egypte", "despite opposition from Cairo", "pese a la oposición de Egipto".
_OPPOSED = re.compile(
    r"(?<!\w)(?:despite|over|amid|malgré|en dépit de|pese a|a pesar de|trotz|вопреки|"
    r"несмотря на)\s+(?:the\s+|l'|l’|la\s+|les\s+|des\s+|dem\s+|den\s+)?(?:strong\s+|fierce\s+)?"
    r"(?:opposition|objections?|protests?|resistance|réserves|oposición|objeciones|"
    r"protestas|widerstand\w*|einwände\w*|einsprüche\w*|protest\w*|возражени\w*|"
    r"несогласи\w*|протест\w*)\s+(?:of|from|by|de|d'|d’|du|des|de la|del|von|der|со стороны)"
    r"\s*(?:(?:the|l'|l’|le|la|les|el)\s*)?$",
    re.IGNORECASE,
)
# The venue of talks is no party to them: "El Este ... ha dado por concluida la ronda de Viena",
# "Truppenabbau-Gespräche in Wien", "переговоры в Вене".
_VENUE_OF = re.compile(
    r"(?<!\w)(?:talks|negotiations|conference|round|pourparlers|négociations|conférence|"
    r"conversaciones|negociaciones|conferencia|ronda|gespräche|verhandlungen|konferenz|runde|"
    r"переговоры|переговорах|переговоров|конференци[яиюей]|раунд[аеу]?)\s+"
    r"(?:in|at|of|à|de|en|в|во)\s+$",
    re.IGNORECASE,
)
# ... of which opposition alone, before the state a finding is against.
_AGAINST = re.compile(
    r"(?<!\w)(?:against|gegen|contre|contra|против)\s+(?:(?:the|le|la|l'|les|el|die|der|den)\s*)?$",
    re.IGNORECASE,
)
# A party named after the treaty it belongs to ("the arms treaty with Russia", "pacto nuclear
# con Irán", "l'accord avec l'Iran") qualifies the treaty.
_WITH = re.compile(r"^\s*(?:with|con|avec|mit|с|со)\s+(?:(?:the|l'|el|la)\s*)?$", re.IGNORECASE)


# A treaty named by a common noun, in five languages, singular or plural.
_TREATY_NOUN = (
    r"(?:treaty|treaties|pacts?|accords?|agreements?|deals?|conventions?|traités?|pactes?|"
    r"tratados?|acuerdos?|pactos?|convenios?|convención|convenciones|vertrag|verträge|"
    r"abkommen|konventionen?|договор\w*|соглашени\w*|конвенци\w*)(?!\w)"
)
# ... and so does one named after a treaty the vocabulary does not name, a few words on
# ("ратифицировал договор о государственной границе с Таджикистаном": Kyrgyzstan's step).
_PARTY_WITH = re.compile(
    r"(?<!\w)" + _TREATY_NOUN + r"[^.;:!?]{0,60}?\s(?:with|с|со|avec|con|mit)\s+"
    r"(?:(?:the|l'|la|le|les|el|los|den|dem|der)\s*)?$",
    re.IGNORECASE,
)


def bilateral(text: str, table: ActorTable) -> bool:
    """Whether the text names a treaty by a state it is with ("tratado de extradición con
    Estados Unidos")."""
    return any(_before(_PARTY_WITH, text, m.start) for m in table.mentions(text))


def _named_body(mentions: Sequence[Mention], starts: Sequence[int], body_end: int) -> bool:
    """Whether a state is named between a title's body and its step (the body's word itself may
    be a step word: "parliament" approves)."""
    after = [start for start in starts if start >= body_end] or list(starts)
    return any(body_end <= m.start and m.end <= min(after) for m in mentions)


# How far before a name the patterns that end at it ("treaty ... with", "against the", "South")
# can reach: each is a few words long, so a long article is never searched from its start for
# every name in it.
_REACH = 240


def _before(pattern: re.Pattern[str], text: str, end: int) -> bool:
    """Whether ``pattern`` (anchored with ``$``) matches text ending at ``end``."""
    return pattern.search(text, max(0, end - _REACH), end) is not None


def _follows_treaty(mention: Mention, spans: Sequence[tuple[int, int]], text: str) -> bool:
    return any(end <= mention.start and _WITH.match(text[end : mention.start]) for _, end in spans)


def _step_within(text: str, offset: int, starts: Sequence[int], *, words: int) -> bool:
    """Whether a step's words begin after ``offset`` with at most ``words`` words between."""
    return any(start >= offset and len(text[offset:start].split()) <= words for start in starts)


def _answers(text: str, subject_end: int, answered_end: int, starts: Sequence[int]) -> bool:
    """Whether the subject answers the next actor with a step of its own: a response verb, then
    the step after a conjunction ("Putin responde a Trump y congela ..." → Putin acts)."""
    if not _RESPONSE.match(text[subject_end:]):
        return False
    step = min((start for start in starts if start >= answered_end), default=None)
    return step is not None and _ANSWER_LINK.search(text[answered_end:step]) is not None


def _own_clause(
    text: str, answered_end: int, starts: Sequence[int], mentions: Sequence[Mention]
) -> bool:
    """Whether a headline goes on, after a comma, to a step of the subject's own: a clause with
    no subject of its own and no reaction verb ("Netanyahu hails 'brave' Trump decision, tells
    diplomats to prepare exit" is Israel's exit; "Berlin regrets US decision, says exit hurts
    NATO" is still the US's)."""
    comma = text.find(",", answered_end)
    if comma < 0 or _REACTION.match(text[comma + 1 :]):
        return False
    step = min((start for start in starts if start > comma), default=None)
    return step is not None and not any(comma < m.start < step for m in mentions)


# Nothing but an article between a verb and its object.
_ARTICLE_ONLY = re.compile(r"^\s*(?:(?:the|le|la|les|l'|el|los|las|den|die|das)\s*)?$", re.I)


# A treaty the vocabulary does not name, written as the verb's object ("dénonce l'accord de
# pêche", "denuncia el tratado", "kündigt das Abkommen").
_TREATY_OBJECT = re.compile(
    r"\s*(?:(?:the|its|their|le|la|les|l'|leurs?|ses|son|sa|el|los|las|sus?|den|die|das|seine?n?)"
    r"\s*)?" + _TREATY_NOUN,
    re.IGNORECASE,
)


def _acts_on(text: str, verb_end: int, treaties: Sequence[tuple[int, int]]) -> bool:
    """Whether a treaty is the object of the verb ending at ``verb_end``: to denounce a treaty
    is to leave it ("Washington dénonce le traité d'amitié de 1955"), not to react."""
    return bool(_TREATY_OBJECT.match(text, verb_end)) or any(
        start >= verb_end and _ARTICLE_ONLY.match(text[verb_end:start]) for start, _ in treaties
    )


def _people(mention: Mention, text: str) -> bool:
    """Whether a demonym names people rather than their state: "Pakistani nationals",
    "ressortissants indiens", "Pakistanis barred from travel"."""
    return bool(
        _PEOPLE_AFTER.match(text, mention.end)
        or _before(_PEOPLE_BEFORE, text, mention.start)
        or _PLURAL_DEMONYM.match(text[mention.start : mention.end])
    )


def _without_topic(mentions: list[Mention], text: str, *, speaker: bool) -> list[Mention]:
    """Mentions after a short topic prefix, when the topic names actors by adjectives only, or
    (with ``speaker``) is only a speaker: a name and nothing else ("Рябков: ...")."""
    topic = _TOPIC.match(text)
    if topic is None:
        return mentions
    inside = [m for m in mentions if m.end <= topic.end(1)]
    after = [m for m in mentions if m.start >= topic.end()]
    if after and all(m.demonym for m in inside):
        return after
    if speaker and after and inside and not _rest(topic.group(1), inside).strip(" .,"):
        return after
    return mentions


def _rest(text: str, mentions: Sequence[Mention]) -> str:
    """The text without the mentions' names."""
    for m in sorted(mentions, key=lambda m: m.start, reverse=True):
        text = text[: m.start] + text[m.end :]
    return text


def _modifies(mention: Mention, spans: Sequence[tuple[int, int]], text: str) -> bool:
    """Whether the mention only qualifies the treaty named right after it ("UN treaty banning
    nuclear weapons"); a possessive ("Russia's New START") is no mere qualifier."""
    if text[mention.start : mention.end].endswith(("'s", "’s")):
        return False  # a possessive term ("Washington's") ends where the possessive does
    return any(
        start >= mention.end
        and not text[mention.end : start].strip(" \u00a0")
        and not _VERB_LED.match(text, start)
        for start, _end in spans
        if start - mention.end <= 2
    )


# A treaty name written with its exit verb ("pulls out of UNESCO", "leave the WTO"): the actor
# before it is the subject, not a qualifier.
_VERB_LED = re.compile(r"(?:withdraw|pull|exit|quit|leav|left|join|rejoin)\w*\b", re.IGNORECASE)


def _inside(mention: Mention, spans: Sequence[tuple[int, int]]) -> bool:
    return any(start <= mention.start and mention.end <= end for start, end in spans)


def _covers(mentions: Sequence[Mention], start: int, end: int) -> bool:
    """Whether a span is an actor's name (a rule's state-actor term), not the development."""
    return any(m.start <= start and end <= m.end for m in mentions)


def _coordinated(mentions: Sequence[Mention], text: str) -> list[Mention]:
    """The first mention and those joined to it by "and", "," or nothing ("US President Trump")."""
    chosen = [mentions[0]]
    for mention in mentions[1:]:
        gap = text[chosen[-1].end : mention.start]
        if not _CONJUNCTION.match(gap):
            break
        chosen.append(mention)
    return chosen

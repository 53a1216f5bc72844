"""Events and stories, pure: actors, extraction from the pack's matches, story choice (tables)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.events.actors import load_actors, parse_actors, subject
from monitor.events.extract import Extractor, extractor_for
from monitor.events.model import Event
from monitor.events.names import NameIndex
from monitor.events.stories import StoryIndex, choose, open_story, title_words
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set
from tests.rules_helpers import entry

PACK = Path(__file__).resolve().parent.parent / "rules"
T0 = datetime(2019, 2, 1, 12, 0, tzinfo=UTC)


PackEvents = tuple[RuleSet, Extractor]


@pytest.fixture(scope="module")
def pack() -> PackEvents:
    """The shipped pack and extraction with its ids and the shipped actor vocabulary."""
    rule_set = load_rule_set([PACK])
    return rule_set, Extractor(rule_set.canonical, load_actors())


def _event_of(pack: PackEvents, title: str, summary: str = "") -> Event | None:
    item = entry(title, summary)
    return pack[1].event(item, pack[0].match(item))


MENTIONS = [
    ("the Kremlin said", ["ru"]),
    ("Moscou et Washington", ["ru", "us"]),
    ("Путин и Трамп", ["ru", "us"]),
    ("Kreml: Russland und die USA", ["ru", "ru", "us"]),
    ("Tratado INF: EE.UU. y Rusia", ["us", "ru"]),
    ("Quai d'Orsay and the Élysée", ["fr", "fr"]),
    ("Tehran, Pezeshkian and Raisi", ["ir", "ir", "ir"]),
    ("российский МИД", ["ru"]),
    ("let us know, un accord", []),  # "us" and the French "un" are no actors
    ("Rusia, ruso y rusos", ["ru", "ru", "ru"]),
    ("Zelensky meets Erdoğan", ["ua", "tr"]),
    # a capital or state whose name holds another's is the longer one
    ("Port of Spain follows Kingston's lead", ["tt", "jm"]),
    ("Government pulls T&T out; Trinidad & Tobago", ["tt", "tt"]),
    ("Papua New Guinea and Equatorial Guinea", ["pg", "gq"]),
    ("Папуа — Новая Гвинея и Экваториальная Гвинея", ["pg", "gq"]),
    ("Republic of the Congo, not DR Congo", ["cg", "cd"]),
    # a capital's accent or a ё the writer left off
    ("l'Elysée et l'Egypte", ["fr", "eg"]),
    ("Соединенные Штаты", ["us"]),
    # a pronoun that spells a state's name is no state: Togo with its title or office
    ("После того, как Россия вышла, президент Того промолчал", ["ru", "tg"]),
]


@pytest.mark.parametrize(("text", "expected"), MENTIONS)
def test_actor_mentions_in_five_languages(text: str, expected: list[str]) -> None:
    """Names, capitals, leaders, ministries and demonyms map to ISO codes."""
    assert [m.actor for m in load_actors().mentions(text)] == expected


def test_a_text_asked_again_gets_the_mentions_it_got_first() -> None:
    """The mentions kept for a text survive the caller changing its list and many other texts."""
    table = load_actors()
    texts = [text for text, _ in MENTIONS] * 3
    first = [table.mentions(text) for text in texts]
    for found in first:
        found.clear()
    fresh = load_actors()
    assert [table.mentions(text) for text in texts] == [fresh.mentions(text) for text in texts]
    assert all(table.mentions(text) for text, expected in MENTIONS if expected)


EVENTS = [
    # (title, summary, treaty, actors, development)
    ("US suspends INF Treaty; Russia says it will respond", "", "inf", ("us",), "suspension"),
    ("Putin suspends Russia's participation in New START", "", "new-start", ("ru",), "suspension"),
    ("Россия приостанавливает участие в Договоре РСМД", "", "inf", ("ru",), "suspension"),
    ("USA setzen INF-Abrüstungsvertrag aus", "", "inf", ("us",), "suspension"),
    ("Le Kremlin suspend le traité FNI", "", "inf", ("ru",), "suspension"),
    ("Rusia suspende el Tratado INF", "", "inf", ("ru",), "suspension"),
    ("US and Russia agree to extend New START", "", "new-start", ("ru", "us"), "talks"),
    ("Sweden becomes NATO's 32nd member", "", "nato", ("se",), "ratification"),
    ("Trump says US will leave the Paris climate agreement", "", "paris-agreement", ("us",),
     "withdrawal"),
    ("Armenia ratifies Rome Statute", "", "icc", ("am",), "ratification"),
    # "UN" only qualifies the treaty named right after it; Honduras takes the step
    ("UN treaty banning nuclear weapons ratified by Honduras, its 50th state", "", "tpnw",
     ("hn",), "ratification"),
    ("Poland and Baltic states to quit landmine treaty", "", "ottawa-convention",
     ("ee", "lt", "lv", "pl"), "withdrawal"),
    ("Treaty news", "Washington suspended its INF Treaty obligations.", "inf", ("us",),
     "suspension"),
    # the one answering acts when its own step follows ("y congela"): Russia, not the US
    ("Putin responde a Trump y congela el Tratado INF", "", "inf", ("ru",), "suspension"),
    # NATO acts on the CFE Treaty: the treaty is cfe, NATO the actor
    ("NATO-Staaten setzen KSE-Vertrag aus", "", "cfe", ("nato",), "suspension"),
    # an organisation acting on a treaty the title only describes is not that treaty
    ("NATO allies suspend Cold War-era arms treaty", "", None, ("nato",),
     "suspension"),
    # answering in kind is acting; "anti-Israel" is an adjective, not Israel
    ("Russia responds in kind as US suspends INF pact", "", "inf", ("ru",), "suspension"),
    ("Washington pulls out of UNESCO, citing anti-Israel bias", "", "unesco", ("us",),
     "withdrawal"),
    # articles between coordinated actors
    ("Le Burkina, le Mali et le Niger annoncent leur retrait de la CPI", "", "icc",
     ("bf", "ml", "ne"), "withdrawal"),
    # a reaction, then a step of the subject's own after a comma: Israel leaves, not the US;
    # a second reaction after the comma keeps the step the one reacted to
    ("Netanyahu hails 'brave' Trump decision, tells diplomats to prepare exit",
     "Israel is to leave UNESCO.", "unesco", ("il",), "withdrawal"),
    ("Berlin regrets Trump decision, says exit hurts culture",
     "The United States is to leave UNESCO.", "unesco", ("us",), "withdrawal"),
    # a title led by a leader it does not name: the summary names the leader and the state;
    # a leader named in the title is that leader's state
    ("PM hails 'brave and moral' US move, tells diplomats to follow suit",
     "Prime Minister Benjamin Netanyahu instructed the Foreign Ministry to prepare for Israel's "
     "withdrawal from UNESCO.", "unesco", ("il",), "withdrawal"),
    ("Le président salue la décision américaine et annonce le retrait de l'UNESCO",
     "Benyamin Netanyahou a ordonné de préparer le retrait d'Israël de l'UNESCO.", "unesco",
     ("il",), "withdrawal"),
    ("President Trump pulls US out of UNESCO", "Netanyahu welcomed the decision.", "unesco",
     ("us",), "withdrawal"),
    # who opposes a step does not take it
    ("Nil : l'accord d'Entebbe entre en vigueur malgré l'opposition de l'Egypte",
     "Le Soudan du Sud a déposé la sixième ratification.", "nile-basin-cfa", ("ss",),
     "ratification"),
    # a body's seat is where the step is taken; a state pausing its engagement with a body acts
    ("Caribbean nation lodges ratification papers at UN headquarters",
     "Jamaica has become a state party to the UN treaty outlawing nuclear weapons.", "tpnw",
     ("jm",), "ratification"),
    # the depositary is no party: the summary names who deposited
    ("Cancillería deposita en la ONU la ratificación del Tratado de Alta Mar",
     "Chile completó este martes la ratificación del acuerdo.", "high-seas", ("cl",),
     "ratification"),
    # a subject that says it took the step, told right after, took it (not a reaction)
    ("Treasury cites 9% rate in serving notice on 1979 accord",
     "The U.S. Treasury said it had sent Hungary formal notice that it would end their "
     "bilateral income tax treaty.", None, ("us",), "withdrawal"),
    ("Kremlin says it will seek clarification after Armenia freezes CSTO role",
     "The Kremlin said it would contact Yerevan to clarify remarks that Armenia had frozen its "
     "participation in the Collective Security Treaty Organization.", "csto", ("am",),
     "suspension"),
    ("Port Sudan halts contact with regional mediators",
     "Sudan's foreign ministry said it was suspending its engagement with IGAD.", "igad", ("sd",),
     "suspension"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors", "development"), EVENTS)
def test_events_of_pack_matches(
    pack: PackEvents,
    title: str,
    summary: str,
    treaty: str | None,
    actors: tuple[str, ...],
    development: str,
) -> None:
    """Treaty id, the acting states and the primary development, whatever the language."""
    event = _event_of(pack, title, summary)
    assert event is not None
    assert (event.treaty, event.actors, event.development) == (treaty, actors, development)
    assert event.published == entry().published


SCANNED = [
    # (title, summary, treaty, actors, development): the daemon's extraction (vocabulary scan)
    # the longer name wins: "СНВ-2" is START II, not the New START of its "СНВ"
    ("Госдума ратифицировала Договор СНВ-2", "", "start-ii", ("ru",), "ratification"),
    # an organisation heading the title speaks of the convention it also names
    ("Le Conseil de l'Europe juge « dévastateur » le retrait turc de la convention d'Istanbul",
     "", "istanbul-convention", ("tr",), "withdrawal"),
    ("IAEA bestätigt Verstoß Irans gegen Atomabkommen", "", "jcpoa", ("ir",), "violation"),
    # after the step's words, the organisation is what the step acts on
    ("Москва покидает Страсбург", "Россия уведомила о выходе из Совета Европы, а значит и из-под "
     "юрисдикции ЕСПЧ.", "council-of-europe", ("ru",), "withdrawal"),
    # an organisation's name before a treaty noun names one of its conventions
    ("Turkey formally quits the Council of Europe accord on violence against women", "",
     "istanbul-convention", ("tr",), "withdrawal"),
    ("Russia quits the Council of Europe", "", "council-of-europe", ("ru",), "withdrawal"),
    # the party in breach acts, whoever finds the breach
    ("U.S. says Russia not complying with New START", "", "new-start", ("ru",), "violation"),
    # a clause of circumstance does not lead
    ("Bolton in Moscow for talks as Russia warns on INF Treaty exit", "", "inf", ("us",),
     "talks"),
    ("NATO allies suspend CFE treaty after Russian withdrawal", "", "cfe", ("nato",),
     "suspension"),
    # plural reactions, the actor after the verb
    ("Macron, May et Merkel « regrettent » le retrait américain de l'accord sur le nucléaire "
     "iranien", "", "jcpoa", ("us",), "withdrawal"),
    # a speaker before a colon
    ("Gorbachev: Trump's INF Treaty exit is 'not the work of a great mind'", "", "inf", ("us",),
     "withdrawal"),
    # the Alliance of Sahel States acts as its three states
    ("Les pays de l'AES annoncent leur retrait de la CPI", "", "icc", ("bf", "ml", "ne"),
     "withdrawal"),
    # a target is no subject; a party after "the treaty with" qualifies it
    ("60 Tage für Moskau", "Die USA setzen Russland ein Ultimatum: binnen 60 Tagen muss Moskau "
     "zum INF-Vertrag zurückkehren.", "inf", ("us",), "deadline"),
    ("Claves de la ruptura del pacto nuclear con Irán", "Estados Unidos abandona el acuerdo "
     "nuclear con Irán.", "jcpoa", ("us",), "withdrawal"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors", "development"), SCANNED)
def test_events_read_the_treaty_acted_on_and_the_party_acting(
    pack: PackEvents,
    title: str,
    summary: str,
    treaty: str | None,
    actors: tuple[str, ...],
    development: str,
) -> None:
    """Venue and instrument, finder and party in breach, speaker and actor, main clause and
    circumstance: the event names the treaty acted on, the party acting and its step."""
    extractor = extractor_for(pack[0], load_actors())
    item = entry(title, summary)
    event = extractor.event(item, pack[0].match(item))
    assert event is not None
    assert (event.treaty, event.actors, event.development) == (treaty, actors, development)


def test_the_title_decides_the_development_and_other_tags_are_secondary(
    pack: PackEvents,
) -> None:
    """An ultimatum over a violation is a violation with the deadline secondary, and carries its
    due date."""
    event = _event_of(pack, "Pompeo gives Russia 60-day ultimatum over INF Treaty violation")
    assert event is not None
    assert (event.development, event.secondary) == ("violation", ("deadline",))
    assert event.due == date(2019, 3, 17)
    assert event.line() == "United States · INF Treaty · violation"


def test_an_entry_without_matches_has_no_event(pack: PackEvents) -> None:
    """No rule matched: no event."""
    assert _event_of(pack, "Weather") is None


def test_a_bad_actor_file_names_file_line_and_field() -> None:
    """A malformed actors file is a RuleError with its position."""
    raw = b"version: 1\nactors:\n  - id: Bad Id\n    name: X\n    names: [X]\n"
    with pytest.raises(RuleError) as caught:
        parse_actors(raw, "actors.yaml")
    assert caught.value.location_message().startswith("actors.yaml:3:9: actors[0].id:")


def _ev(actors: tuple[str, ...] = ("us",), development: str = "suspension", hours: float = 0,
        treaty: str | None = "inf", secondary: tuple[str, ...] = ()) -> Event:  # fmt: skip
    return Event(
        treaty=treaty,
        actors=actors,
        development=development,
        secondary=secondary,
        published=T0 + timedelta(hours=hours),
    )


STORY_CASES = [
    # (later event, later title, joins the first story "US suspends INF Treaty"?)
    (_ev(hours=20), "Washington suspend le traité FNI", True),
    (_ev(("ru",), hours=20), "Russia suspends INF Treaty", False),  # another actor
    (_ev(development="violation", hours=2), "US suspends INF Treaty", False),  # another step
    (_ev(hours=24 * 180), "US suspends INF Treaty", False),  # months later
    (_ev(hours=-30), "US suspends INF Treaty", True),  # an earlier report, in the window
    (_ev(("ru", "us"), hours=3), "US and Russia suspend", True),  # overlapping actors
    (_ev((), hours=3), "INF Treaty suspended", True),  # no actor named
    (_ev(development="withdrawal", secondary=("suspension",), hours=1), "US quits INF", True),
    # suspension and withdrawal are one step of one actor, whichever the outlet wrote
    (_ev(development="withdrawal", hours=1), "US quits INF", True),
    (_ev((), development="withdrawal", hours=1), "INF treaty dead", False),  # of nobody named
    (_ev(treaty="new-start", hours=1), "US suspends New START", False),  # another treaty
]


@pytest.mark.parametrize(("event", "title", "joins"), STORY_CASES)
def test_story_choice(event: Event, title: str, joins: bool) -> None:
    """Same treaty, development and actors within the window join; anything else does not."""
    first = open_story("wire:1", _ev(), title_words("US suspends INF Treaty"), T0)
    chosen = choose(event, title_words(title), [first], T0)
    assert (chosen is first) == joins


def test_a_report_naming_no_actor_joins_no_story_where_choosing_would_be_a_guess() -> None:
    """No actor named, two stories of different actors on its treaty: choosing one would be a
    guess, so it opens its own; with one such story (or stories sharing an actor) it joins."""
    india = open_story("w:1", _ev(("in",), "ratification"), title_words("India ratifies"), T0)
    eu = open_story("w:2", _ev(("eu",), "ratification"), title_words("EU ratifies Paris"), T0)
    nameless = _ev((), "ratification", hours=2)
    words = title_words("Strasbourg ratifie l'accord de Paris")
    assert choose(nameless, words, [india, eu], T0) is None
    assert choose(nameless, words, [eu], T0) is eu
    assert choose(_ev(("eu",), "ratification", hours=2), words, [india, eu], T0) is eu


def test_without_a_treaty_id_titles_must_also_agree() -> None:
    """Treaty None: similar titles join, unrelated ones with the same key do not."""
    first = open_story("w:1", _ev(treaty=None), title_words("Mali suspends defence pact"), T0)
    alike = title_words("Mali suspends its defence pact with France")
    assert choose(_ev(treaty=None, hours=1), alike, [first], T0) is first
    other = title_words("Trade accord frozen amid row")
    assert choose(_ev(treaty=None, hours=1), other, [first], T0) is None


def test_without_a_treaty_id_the_same_parties_stand_for_the_treaty() -> None:
    """Treaty None: reports of the same actors' same step naming the same other states join
    whatever their words ("fisheries pact with South Korea", "Fischereiabkommen mit Südkorea");
    other parties, other actors or another step do not."""
    japan = _ev(("jp",), development="withdrawal", treaty=None)
    with_korea = replace(japan, parties=("kr",))
    first = open_story(
        "w:1", with_korea, title_words("Japan gives notice to end fisheries pact"), T0
    )
    german = title_words("Fischereistreit: Japan kündigt Abkommen mit Südkorea")
    assert (
        choose(replace(with_korea, published=T0 + timedelta(hours=9)), german, [first], T0) is first
    )
    jointly = replace(japan, actors=("bd", "in"), development="ratification")
    first_joint = open_story("w:2", jointly, title_words("India, Bangladesh seal land pact"), T0)
    french = title_words("Inde-Bangladesh : un accord pour en finir avec les enclaves")
    later = replace(jointly, published=T0 + timedelta(hours=3))
    assert choose(later, french, [first_joint], T0) is first_joint
    for other in (
        replace(with_korea, parties=("cn",)),
        replace(with_korea, parties=()),
        replace(with_korea, actors=("kr",), parties=("jp",)),
        replace(with_korea, development="suspension"),
    ):
        assert choose(other, german, [first], T0) is None


def test_the_other_parties_of_an_unnamed_treaty_are_read_from_title_and_summary(
    pack: PackEvents,
) -> None:
    """A report naming no treaty id keeps the states it names besides the actors; one naming a
    treaty id keeps none (its treaty says which)."""
    fisheries = _event_of(
        pack,
        "Tokyo dénonce l'accord de pêche qui le liait à Séoul",
        "Le Japon met fin à l'accord bilatéral de pêche de 1965.",
    )
    assert fisheries is not None
    assert (fisheries.treaty, fisheries.actors, fisheries.development) == (
        None,
        ("jp",),
        "withdrawal",
    )
    assert fisheries.parties == ("kr",)
    protest = _event_of(pack, "Seoul protests 'unilateral' Japanese scrapping of fishing accord")
    assert protest is not None
    assert (protest.actors, protest.parties) == (("jp",), ("kr",))
    named = _event_of(pack, "Russia suspends INF Treaty with the United States")
    assert named is not None
    assert (named.treaty, named.parties) == ("inf", ())


def test_the_story_index_gives_stable_ids_shared_by_one_story() -> None:
    """The first report's id names the story; later reports get it; a replay gets the same."""
    ids = []
    for _ in range(2):
        index = StoryIndex()
        ids.append(
            [
                index.assign("w:1", _ev(), "US suspends INF", T0),
                index.assign("w:2", _ev(hours=5), "Washington suspend le FNI", T0),
                index.assign("w:3", _ev(("ru",), hours=20), "Russia suspends INF", T0),
                index.assign("w:1", _ev(), "US suspends INF", T0),
            ]
        )
    assert ids[0] == ids[1]
    first, second, third, again = ids[0]
    assert first == second == again != third


def test_reports_naming_each_others_step_are_one_development() -> None:
    """An ultimatum read as a deadline joins one read as a suspension when each names the other's
    step, or when both carry the due date; a report of a due date alone joins the step of the
    same actor (a step's date read without the step), never a step of nobody it names; a report
    of another step does not join."""
    first = open_story("w:1", _ev(secondary=("deadline",)), title_words("US ultimatum"), T0)
    both = _ev(development="deadline", secondary=("suspension",), hours=2)
    assert choose(both, title_words("Ultimatum aus Washington"), [first], T0) is first
    dated = _ev(development="deadline", hours=2)
    assert choose(dated, title_words("Ultimatum aus Washington"), [first], T0) is first
    undated = open_story("w:2", _ev(), title_words("US suspends"), T0)
    assert choose(dated, title_words("Ultimatum aus Washington"), [undated], T0) is undated
    nobody = replace(dated, actors=())
    assert choose(nobody, title_words("Ultimatum: 60 Tage"), [undated], T0) is None
    other = _ev(development="violation", hours=2)
    assert choose(other, title_words("Russia cheats"), [first], T0) is None


def test_a_report_naming_no_treaty_joins_the_one_treaty_its_actors_act_on() -> None:
    """Treaty None with a treaty noun in the title ("arms treaty") joins the story of the same
    actors and step of a named treaty; not without the noun, not another actor's, and not when
    the stories it could join are of two treaties."""
    inf = open_story("w:1", _ev(("ru",)), title_words("Russia suspends INF"), T0)
    unnamed = _ev(("ru",), treaty=None, hours=3)
    words = title_words("Blinken calls Russian move on arms treaty irresponsible")
    assert choose(unnamed, words, [inf], T0) is inf
    assert (
        choose(unnamed, title_words("Blinken calls Russian move irresponsible"), [inf], T0) is None
    )
    assert choose(replace(unnamed, actors=("us",)), words, [inf], T0) is None
    start = open_story("w:2", _ev(("ru",), treaty="new-start"), title_words("Russia suspends"), T0)
    assert choose(unnamed, words, [inf, start], T0) is None


def test_a_story_without_a_treaty_is_read_by_reports_naming_none() -> None:
    """The index keeps every story in its treaty's slot and in the slot of every treaty; a named
    report never joins a story of no treaty, a report naming none reads every treaty's."""
    index = StoryIndex()
    named = index.assign("w:1", _ev(("ru",)), "Russia suspends INF", T0)
    unnamed = _ev(("ru",), treaty=None, hours=2)
    assert index.assign("w:2", unnamed, "Russia suspends Cold War arms treaty", T0) == named
    alone = index.assign("w:3", _ev(("us",), treaty=None), "US freezes arms pact", T0)
    assert index.assign("w:4", _ev(("us",), hours=1), "US suspends INF", T0) != alone


NAMES = [
    # (names added, text, found texts)
    (["North Korea", "Korea"], "North Korea and Korea", ["North Korea", "Korea"]),
    (["Росси*"], "России и Россию, но не Рос", ["России", "Россию"]),
    (["US"], "let us see: the US and the us", ["US"]),
    (["Quai d'Orsay"], "le Quai d’Orsay a dit", ["Quai d’Orsay"]),
    (["Нью-Дели"], "в Нью-Дели и Нью Дели", ["Нью-Дели", "Нью Дели"]),
    (["New Delhi"], "is new. Delhi said", []),  # a sentence break is no gap inside a name
    (["Weißen Haus*"], "im Weißen Hauses", ["Weißen Hauses"]),
    # forms of any word of a name, not only the last
    (
        ["Южн* Коре*", "Коре*"],
        "Южной Кореи, Южная Корея, Кореи",
        ["Южной Кореи", "Южная Корея", "Кореи"],
    ),
    (["Vereinigte* Staaten"], "die Vereinigten Staaten, Vereinigte Staat", ["Vereinigten Staaten"]),
]


@pytest.mark.parametrize(("names", "text", "expected"), NAMES)
def test_the_name_index_finds_the_longest_names_by_their_words(
    names: list[str], text: str, expected: list[str]
) -> None:
    """Case folding, word forms, short capitals, apostrophes and hyphens as in the rules."""
    index: NameIndex[str] = NameIndex()
    for name in names:
        index.add(name, name)
    assert [text[f.start : f.end] for f in index.find(text)] == expected


def test_times_without_a_zone_are_taken_as_utc() -> None:
    """A naive publication time compares with an aware one instead of failing."""
    first = open_story("w:1", _ev(), title_words("US suspends INF"), T0)
    naive = replace(_ev(hours=1), published=(T0 + timedelta(hours=1)).replace(tzinfo=None))
    assert choose(naive, title_words("US suspends INF"), [first], T0) is first


# Issue 12's fifth pass (fresh5): a treaty named by description, the party acting when the verb
# reads as a reaction, people named by a demonym, a welcoming subject, a counter-step.
FIFTH_PASS = [
    # denouncing a treaty is leaving it, not reacting
    ("Washington dénonce le traité d'amitié de 1955 avec Téhéran", "", "us-iran-amity", ("us",),
     "withdrawal"),
    # an answer with a step of its own ("con", not only "y")
    ("Pakistán responde a India con la suspensión de visados del programa SAARC", "", "saarc",
     ("pk",), "suspension"),
    # "Pakistani nationals" and "Pakistanis" are people, not Pakistan
    ("Pakistanis barred from travel under SAARC visa exemption scheme", "India said Pakistani "
     "nationals would no longer be allowed to travel under the SAARC Visa Exemption Scheme and "
     "that visas already issued under it stood cancelled, with holders given 48 hours to leave.",
     "saarc", ("in",), "withdrawal"),
    # a welcoming subject with no other actor in the title: the summary says whose step it is
    ("Guterres salutes 50th ratification of nuclear ban treaty", "Secretary-General António "
     "Guterres commended the States that have ratified the Treaty on the Prohibition of Nuclear "
     "Weapons after Honduras deposited its instrument.", "tpnw", ("hn",), "ratification"),
    # one who says what it will do itself stays the actor
    ("North Korea says it will no longer abide by 2018 military pact with South", "",
     "inter-korean-military", ("kp",), "withdrawal"),
    # a bilateral accord named by description, the partner inside its name
    ("Le Mali dénonce les accords de défense avec la France", "La junte au pouvoir à Bamako a "
     "annoncé mettre fin au traité de coopération en matière de défense de 2014.",
     "france-defence-accords", ("ml",), "withdrawal"),
    ("Russia suspends nuclear research pact with U.S., two days after plutonium move", "",
     "us-russia-nuclear-research", ("ru",), "suspension"),
    # the title leads on an answer, the tag only below it: a counter-step, not the finding
    ("Тегеран в ответ на резолюцию МАГАТЭ запустит новый центр по обогащению урана", "Иран "
     "объявил о создании нового объекта после того, как совет управляющих МАГАТЭ обвинил "
     "страну в нарушении обязательств.", "iaea", ("ir",), "counter-step"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors", "development"), FIFTH_PASS)
def test_events_name_described_treaties_and_the_party_taking_its_own_step(
    pack: PackEvents,
    title: str,
    summary: str,
    treaty: str | None,
    actors: tuple[str, ...],
    development: str,
) -> None:
    """Treaties named by description get their id; a verb acting on a treaty, an answer with a
    step, people named by a demonym, a welcoming subject and a counter-step read as fresh5 needs."""
    extractor = extractor_for(pack[0], load_actors())
    item = entry(title, summary)
    event = extractor.event(item, pack[0].match(item))
    assert event is not None
    assert (event.treaty, event.actors, event.development) == (treaty, actors, development)


BODY_STEPS = [
    # (title, treaty, actors, development): a body's step on a member is the body's, however
    # the report is led
    (
        "Commonwealth suspends Fiji over election delay",
        "commonwealth",
        ("commonwealth",),
        "membership",
    ),
    ("Paraguay suspended from Mercosur over Lugo ouster", "mercosur", ("mercosur",), "membership"),
    ("OAS lifts Cuba's 47-year suspension", "oas", ("oas",), "membership"),
    (
        "UN tourism body suspends Russia over Ukraine invasion",
        "un-tourism",
        ("un-tourism",),
        "membership",
    ),
    # a state's suspension told without its own part paused: the body's
    ("L'UA lève la suspension du Gabon", "african-union", ("african-union",), "membership"),
    # a state's own pause stays the state's
    ("Iran halts snap IAEA inspections as new law takes effect", "iaea", ("ir",), "suspension"),
    ("Uzbekistan suspends its membership in the CSTO", "csto", ("uz",), "suspension"),
    ("Sudan freezes IGAD membership over invitation to RSF leader", "igad", ("sd",), "suspension"),
]


@pytest.mark.parametrize(("title", "treaty", "actors", "development"), BODY_STEPS)
def test_a_bodys_step_on_a_member_is_the_bodys_membership_step(
    pack: PackEvents, title: str, treaty: str, actors: tuple[str, ...], development: str
) -> None:
    """Suspending, expelling or readmitting a member is the organisation's step (development
    ``membership``, actor the organisation); an organisation never pauses its own part."""
    event = _event_of(pack, title)
    assert event is not None
    assert (event.treaty, event.actors, event.development) == (treaty, actors, development)


def test_capitals_and_counted_demonyms() -> None:
    """ "Alger" is Algeria; "cuatro chilenos condenados" are people, not Chile."""
    table = load_actors()
    text = "Alger riposte et dénonce l'accord; cuatro chilenos condenados"
    assert [m.actor for m in table.mentions(text)] == ["dz", "cl"]
    event_text = "El fallo ordenó un nuevo juicio para cuatro chilenos condenados"
    mention = table.mentions(event_text)[0]
    assert mention.demonym
    assert subject(table, [("summary", event_text)], {}, {}) == ()


@pytest.mark.parametrize(
    "text",
    [
        "El Este da por concluida sin fecha la ronda de Viena sobre reducción de tropas",
        "The East ends the round of talks in Vienna without a new date",
        "Восток прервал переговоры в Вене без новой даты",
    ],
)
def test_the_venue_of_talks_is_no_party_to_them(text: str) -> None:
    """The city the talks meet in names no actor of the step: not Austria."""
    table = load_actors()
    assert [m.actor for m in table.mentions(text)] == ["at"]
    assert subject(table, [("title", text)], {}, {}) == ()


def test_a_state_a_treaty_is_with_is_a_party_not_the_actor(pack: PackEvents) -> None:
    """ "ratified the treaty on the state border with Tajikistan" is Kyrgyzstan's step (its
    parliament by name), and a treaty named by the state it is with is bilateral: it never joins
    a story of a multilateral treaty the same actor acts on."""
    kyrgyz = _event_of(
        pack, "Жогорку Кенеш ратифицировал договор о государственной границе с Таджикистаном"
    )
    assert kyrgyz is not None
    assert (kyrgyz.actors, kyrgyz.parties, kyrgyz.bilateral) == (("kg",), ("tj",), True)
    tax = _event_of(pack, "Le Mali et le Niger dénoncent leurs conventions fiscales avec la France")
    assert tax is not None
    assert (tax.actors, tax.parties, tax.development) == (("ml", "ne"), ("fr",), "withdrawal")
    icsid = open_story("w:1", _ev(("hn",), "withdrawal", treaty="icsid"), title_words("x"), T0)
    extradition = _ev(("hn",), "withdrawal", hours=40, treaty=None)
    words = title_words("Castro anuncia la denuncia del tratado de extradición con Estados Unidos")
    assert choose(replace(extradition, bilateral=True), words, [icsid], T0) is None
    assert choose(extradition, words, [icsid], T0) is icsid


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (datetime(1992, 5, 23, tzinfo=UTC), "start-i"),
        (datetime(2011, 2, 5, tzinfo=UTC), "new-start"),
    ],
)
def test_a_name_means_the_treaty_of_its_day(
    pack: PackEvents, published: datetime, expected: str
) -> None:
    """ "START" and "СНВ" name New START only from its talks on (2009): a report of 1992 is of
    START I, whose Lisbon Protocol four former Soviet states signed then."""
    item = replace(
        entry("Украина ратифицировала договор СНВ", "Верховная Рада ратифицировала договор СНВ."),
        published=published,
    )
    event = pack[1].event(item, pack[0].match(item))
    assert event is not None
    assert event.treaty == expected


IN_FORCE = [
    # (title, summary, actors): a treaty entering into force, its headline naming no party, is
    # the step of no one party, whichever ratifying state a summary recalls
    ("Вступила в силу Конвенция МОТ о труде в морском судоходстве",
     "Документ Международной организации труда устанавливает стандарты для моряков. Россия "
     "ратифицировала конвенцию в прошлом году.", ()),
    ("Das Seearbeitsübereinkommen der ILO ist in Kraft getreten",
     "Es legt Mindeststandards für Lohn und Arbeitszeit fest. Deutschland hat das Übereinkommen "
     "ebenfalls ratifiziert.", ()),
    # states that open the summary act today: they deposit the instruments
    ("Вступил в силу Договор о запрещении испытаний ядерного оружия",
     "Сегодня СССР, США и Великобритания сдали на хранение ратификационные грамоты.",
     ("gb", "ru", "us")),
    # a party the headline names still acts: its own accession takes effect
    ("Finland's accession to NATO takes effect", "", ("fi",)),
    # to come, not now: the ratification that brings it there is the step
    ("Honduras ratifica el tratado de prohibición de armas nucleares, que entrará en vigor en "
     "enero", "", ("hn",)),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "actors"), IN_FORCE)
def test_a_treaty_entering_into_force_is_the_step_of_no_one_party(
    pack: PackEvents, title: str, summary: str, actors: tuple[str, ...]
) -> None:
    """Reports of one entry into force in several languages are one story: none of them takes
    a state its summary recalls below the opening sentence as ratifying for the actor."""
    extractor = extractor_for(pack[0], load_actors())
    item = entry(title, summary)
    event = extractor.event(item, pack[0].match(item))
    assert event is not None
    assert (event.development, event.actors) == ("ratification", actors)

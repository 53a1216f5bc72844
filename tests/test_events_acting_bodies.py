"""Who acts when a body and a state take steps on one organisation, and one id per instrument.

Issue 12's sixth pass (fresh6): the Council of Europe's assembly suspending Azerbaijan's
delegation and Baku suspending its own participation the same day are two stories; a parliament
the title leaves unnamed is the summary's state's, not the state named as its object; Article 50
and "leaves the EU" are one treaty id.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.events.actors import load_actors
from monitor.events.extract import Extractor, extractor_for
from monitor.events.model import Event
from monitor.events.stories import StoryIndex
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set
from tests.rules_helpers import entry

PACK = Path(__file__).resolve().parent.parent / "rules"
T0 = datetime(2024, 1, 24, 17, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def pack() -> tuple[RuleSet, Extractor]:
    """The shipped pack with the extraction the daemon uses (vocabulary scan included)."""
    rule_set = load_rule_set([PACK])
    return rule_set, extractor_for(rule_set, load_actors())


def _event(pack: tuple[RuleSet, Extractor], title: str, summary: str = "") -> Event:
    item = entry(title, summary)
    event = pack[1].event(item, pack[0].match(item))
    assert event is not None, title
    return event


ACTORS = [
    # (title, summary, treaty, actors): the organisation heading the title acts on a state
    ("Council of Europe assembly suspends Azerbaijani delegation", "The Parliamentary Assembly "
     "of the Council of Europe voted not to ratify the credentials of Azerbaijan's delegation.",
     "council-of-europe", ("council-of-europe",)),
    ("ПАСЕ не подтвердила полномочия делегации Азербайджана", "", "council-of-europe",
     ("council-of-europe",)),
    # the state's own step on the same body
    ("Azerbaijan suspends its engagement with PACE after credentials vote", "Azerbaijan's "
     "delegation announced it was halting its participation in the Parliamentary Assembly of the "
     "Council of Europe.", "council-of-europe", ("az",)),
    ("Bakou claque la porte de l'Assemblée du Conseil de l'Europe", "", "council-of-europe",
     ("az",)),
    # the organisation named after the step is what the step acts on
    ("Sweden becomes NATO's 32nd member", "", "nato", ("se",)),
    # a finder of a violation heading the title still gives way to the party in breach
    ("Nucléaire : l'AIEA épingle l'Iran pour manquement à ses obligations", "", "iaea", ("ir",)),
    # a parliament the title leaves unnamed: the summary names whose it is
    ("Parliament approves Sweden's NATO accession", "Hungary's National Assembly ratified "
     "Sweden's accession protocol by 188 votes to 6.", "nato", ("hu",)),
    ("Parliament approves Finland's NATO membership", "Turkey's parliament ratified Finland's "
     "accession protocol on Thursday.", "nato", ("tr",)),
    # ... and with no actor in the summary, the title's names stand
    ("Parliament approves Sweden's NATO accession", "", "nato", ("se",)),
    # a parliament the title names by its state's genitive is that state's, whatever the summary
    ("Парламент Эстонии ратифицировал договор о границе с Россией", "Рийгикогу одобрил "
     "договоры; в Москве такую поправку считают неприемлемой.", None, ("ee",)),
    # Article 50 and leaving the EU are one instrument, whatever the language
    (
        "Article 50: UK formally begins Brexit process",
        "Britain's ambassador handed Theresa May's letter to Donald Tusk, triggering the two-year "
        "exit procedure.",
        "eu",
        ("gb",),
    ),
    ("Brexit : le Royaume-Uni active l'article 50", "", "eu", ("gb",)),
    ("Britain leaves the EU, ending 47 years of membership", "", "eu", ("gb",)),
    ("Reino Unido consuma su salida de la Unión Europea", "", "eu", ("gb",)),
]  # fmt: skip


def test_a_body_opening_a_title_is_the_actor_of_its_step_and_of_the_source(
    pack: tuple[RuleSet, Extractor],
) -> None:
    """ "L'APCE refuse de valider les pouvoirs de la délégation azerbaïdjanaise" is the assembly's
    step on a member (membership), so neither as an alert nor as a follow-up source can it join
    Azerbaijan's own story."""
    item = entry("L'APCE refuse de valider les pouvoirs de la délégation azerbaïdjanaise")
    matches = pack[0].match(item)
    assert [m.tags for m in matches] == [("membership",)]
    event = pack[1].event(item, matches)
    source = pack[1].source(item)
    assert event is not None
    assert source is not None
    assert event.actors == source.actors == ("council-of-europe",)


def _at(hours: float, actors: tuple[str, ...], development: str, treaty: str) -> Event:
    return Event(treaty, actors, development, published=T0 + timedelta(hours=hours))


def test_a_body_acting_on_a_state_and_the_states_own_step_are_two_stories(
    pack: tuple[RuleSet, Extractor],
) -> None:
    """PACE refusing Azerbaijan's credentials and Baku halting its work there, four hours apart,
    open two stories; each one's reports in another language join their own."""
    index = StoryIndex()
    reports = [
        (0, "Council of Europe assembly suspends Azerbaijani delegation", ""),
        (4, "Azerbaijan suspends its engagement with PACE after credentials vote",
         "Azerbaijan's delegation announced it was halting its participation in the "
         "Parliamentary Assembly of the Council of Europe."),
        (15, "Bakou claque la porte de l'Assemblée du Conseil de l'Europe", ""),
        (16, "Le Conseil de l'Europe suspend la délégation azerbaïdjanaise", ""),
    ]  # fmt: skip
    stories = []
    for n, (hours, title, summary) in enumerate(reports):
        item = entry(title, summary)
        event = pack[1].event(item, pack[0].match(item))
        assert event is not None, title
        event = _at(hours, event.actors, event.development, event.treaty or "")
        stories.append(index.assign(f"w:{n}", event, title, T0 + timedelta(hours=hours)))
    assert stories[0] != stories[1]
    assert stories[2] == stories[1]
    assert stories[3] == stories[0]


def test_talks_then_a_ratification_three_days_later_are_two_stories() -> None:
    """Orbán and Kristersson's talks, then Hungary's ratification of Sweden's accession 70 hours
    later: one treaty and a shared actor, but another development is another story."""
    index = StoryIndex()
    talks = index.assign(
        "w:1", _at(0, ("hu", "se"), "talks", "nato"), "Orban meets Kristersson", T0
    )
    ratified = index.assign(
        "w:2",
        _at(70, ("hu",), "ratification", "nato"),
        "Parliament approves Sweden's NATO accession",
        T0 + timedelta(hours=70),
    )
    assert talks != ratified


REPORTS = [
    # (title, summary, treaty, actors): fresh6's reactions and descriptions
    # an exit in other words, the body's name without its accent (a source until "tourne le
    # dos" and "Etats" were read)
    ("Tbilissi tourne le dos à la Communauté des Etats indépendants", "", "cis", ("ge",)),
    (
        "Moscow fumes as Yerevan joins International Criminal Court",
        "Armenia's lawmakers approved joining the ICC.",
        "icc",
        ("am",),
    ),
    # "South American" is no American state; the summary's named states act
    ("Half of UNASUR's members suspend participation in regional bloc", "Six South American "
     "countries, including Brazil and Argentina, said they would stop taking part in the Union "
     "of South American Nations.", "unasur", ("ar", "br")),
    # "the Commonwealth" opening "the Commonwealth of Independent States" is the CIS
    ("Georgia quits the CIS", "Georgia's membership of the Commonwealth of Independent States "
     "ended on Tuesday.", "cis", ("ge",)),
    # a peace deal named by description; "la paz" is no La Paz
    ("Colombia's Congress ratifies peace accord", "Colombia's lower house approved the revised "
     "peace deal with Marxist Farc rebels.", "colombia-farc-peace", ("co",)),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors"), [*ACTORS, *REPORTS])
def test_the_event_names_the_acting_party_and_the_instrument(
    pack: tuple[RuleSet, Extractor],
    title: str,
    summary: str,
    treaty: str,
    actors: tuple[str, ...],
) -> None:
    """The organisation that heads the title before the step acts (not for a finding); a title
    opening on an unnamed parliament takes the summary's subject; the EU has one id; a fuming
    subject gives way to the state acting; a region's adjective names no state; a name whose end
    opens a longer treaty name gives way to it; a peace deal by description."""
    event = _event(pack, title, summary)
    assert (event.treaty, event.actors) == (treaty, actors)


SOURCES = [
    # (title that alerts on nothing, summary, treaty, actors of its source reading)
    ("Australia 'extremely disappointed' as Japan quits whaling body", "", "iwc", ("jp",)),
    ("Beijing 'deeply regrets' Panama's decision on Belt and Road cooperation", "",
     "belt-and-road", ("pa",)),
    ("Italien verlässt die Neue Seidenstrasse", "", "belt-and-road", ("it",)),
    ("El Congreso colombiano avala la paz con las FARC", "", "colombia-farc-peace", ("co",)),
    ("EU-Parlament macht Weg für Klimavertrag frei", "", "paris-agreement", ("eu",)),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors"), SOURCES)
def test_reports_naming_a_treaty_by_description_read_as_follow_up_sources(
    pack: tuple[RuleSet, Extractor],
    title: str,
    summary: str,
    treaty: str,
    actors: tuple[str, ...],
) -> None:
    """Reactions and late reports that name the instrument by a description the press uses get
    its id and the acting party, so they can join its story as sources."""
    item = entry(title, summary)
    assert not pack[0].match(item)
    source = pack[1].source(item)
    assert source is not None
    assert (source.treaty, source.actors) == (treaty, actors)


NEW_INSTRUMENTS = [
    # (title, summary, treaty, actors, development): instruments the vocabulary lacked
    ("Auch Israel steigt aus UN-Migrationspakt aus", "", "migration-compact", ("il",),
     "withdrawal"),
    ("Estonia, Latvia and Lithuania leave BRELL", "The three Baltic states operated in island "
     "mode after exiting the BRELL agreement with Russia and Belarus.", "brell",
     ("ee", "lt", "lv"), "withdrawal"),
    ("Страны Балтии вышли из энергокольца БРЭЛЛ", "", "brell", ("ee", "lt", "lv"),
     "withdrawal"),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors", "development"), NEW_INSTRUMENTS)
def test_the_migration_compact_and_the_baltic_grid_agreement_are_treaties(
    pack: tuple[RuleSet, Extractor],
    title: str,
    summary: str,
    treaty: str,
    actors: tuple[str, ...],
    development: str,
) -> None:
    """Leaving the UN migration compact or the BRELL grid alerts with one id in any language."""
    event = _event(pack, title, summary)
    assert (event.treaty, event.actors, event.development) == (treaty, actors, development)


@pytest.mark.parametrize(
    ("title", "actors"),
    [
        # leaders of the years an archive reaches back to name their states, not the treaty's
        # other party
        ("Sadat kündigt den Freundschaftsvertrag mit Moskau", ("eg",)),
        ("Siad Barre tears up friendship treaty with Moscow", ("so",)),
        # the Soviet Union is Russia, as Moscow is
        ("L'URSS reconnaît que le radar de Krasnoïarsk violait le traité ABM", ("ru",)),
    ],
)
def test_leaders_and_states_of_past_decades_are_the_actors(
    pack: tuple[RuleSet, Extractor], title: str, actors: tuple[str, ...]
) -> None:
    """Before the actor vocabulary knew them, the first two read as Russia and Ethiopia and
    split their stories from the reports naming Egypt and Somalia."""
    assert _event(pack, title).actors == actors


@pytest.mark.parametrize(
    ("title", "summary", "treaty"),
    [
        # a bare name several treaties share is no id where the instrument is told otherwise
        ("Bagdad dénonce l'accord d'Alger sur le Chatt el-Arab", "", "iran-iraq-algiers"),
        ("Iraq abrogates 1975 border pact with Iran", "", "iran-iraq-algiers"),
        ("Mali junta ends Algiers Accord with northern rebels", "", "algiers-accord-mali"),
    ],
)
def test_the_algiers_agreements_are_told_apart(
    pack: tuple[RuleSet, Extractor], title: str, summary: str, treaty: str
) -> None:
    """Iran and Iraq's border settlement of 1975 read as Mali's peace accord of 2015 and split
    from the reports naming the Shatt al-Arab."""
    assert _event(pack, title, summary).treaty == treaty


# Session 20 (grouping fresh14): a finding against a state names the state in breach, and a
# treaty that ends is its members' common step, whichever of them a report names.
ENDINGS = [
    ("Trade Body Rules Against U.S. on Clean-Air Gasoline Rule", "The WTO panel found that the "
     "gasoline rule discriminated against imports.", "wto", ("us",)),
    ("Der Warschauer Pakt ist Geschichte", "Auf der Prager Burg haben die Vertreter der sechs "
     "Mitgliedstaaten das Protokoll über die Auflösung unterzeichnet.", "warsaw-pact", ()),
    ("Westeuropäische Union wird aufgelöst", "Deutschland, Frankreich und Großbritannien kündigen "
     "den Brüsseler Vertrag.", "weu", ()),
]  # fmt: skip


@pytest.mark.parametrize(("title", "summary", "treaty", "actors"), ENDINGS)
def test_who_a_finding_is_against_and_who_ends_a_treaty(
    pack: tuple[RuleSet, Extractor], title: str, summary: str, treaty: str, actors: tuple[str, ...]
) -> None:
    event = _event(pack, title, summary)
    assert (event.treaty, event.actors) == (treaty, actors)


@pytest.mark.parametrize(
    ("text", "actors"),
    [
        ("Schwedens Funkaufklärung verstößt gegen die Konvention", ["se"]),
        ("Putins Dekret und Moskaus Antwort", ["ru", "ru"]),
        ("Frankreichs Präsident in Kairo", ["fr", "eg"]),
        # an English plural of a name is not its genitive: the continents, the two states
        ("Trade across the Americas and the two Koreas", []),
        ("GCHQ's bulk interception regime broke privacy law", ["gb"]),
    ],
)
def test_a_german_genitive_names_the_state(text: str, actors: list[str]) -> None:
    """ "Schwedens", "Putins", "Moskaus" name Sweden and Russia as their nominatives do."""
    assert [mention.actor for mention in load_actors().mentions(text)] == actors

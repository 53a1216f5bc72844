"""What a text reports as happening now: guards, ``in:`` fields, the lead, secondary and due.

Issue 14: a tag is given only for a development the text reports as happening now, not for one
it denies, supposes, demands, or mentions as background further down.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.guards import Guard, guarded_spans, spelled_guards
from monitor.rules.loader import load_rule_set
from monitor.sentences import first_sentence
from tests.rules_helpers import entry, one_rule, only

WITHDRAWAL = "{same_sentence: [[treaty, договор*, traité, Vertrag, tratado], [withdraw*, leav*, выход*, выйд*, quitt*, retir*, austret*, verlässt, tritt, aus, salir]]}"  # noqa: E501

GUARDED = [
    # (title, reported as fact?)
    ("Russia withdraws from the treaty", True),
    ("Russia is not withdrawing from the treaty", False),
    ("Russia won't leave the treaty, Lavrov says", False),
    ("Russia suspends the pact but is not leaving the treaty", False),
    ("Moscow has no plans to leave the treaty", False),
    ("Kremlin denies it will leave the treaty", False),
    ("Tokyo could leave the treaty, analysts say", False),
    ("If elected, she would leave the treaty", False),
    # a quotation opened by a condition: the whole quoted sentence is supposed
    ("Bolsonaro: «Si soy electo, México va a salir del tratado»", False),
    ('Candidate says: "If I win, Russia will leave the treaty"', False),
    ("Иранские депутаты готовят законопроект о выходе из договора", False),
    ("Senators urge Washington to leave the treaty", False),
    ("The treaty, which Moscow never ratified, is one Washington will leave", True),
    ("Россия не выходит из договора", False),
    ("Песков: о выходе из договора речи не идёт", False),
    ("Россия выходит из договора", True),
    ("Paris ne va pas quitter le traité", False),
    ("Il n'est pas question de quitter le traité", False),
    ("Paris va quitter le traité", True),
    ("Deutschland verlässt den Vertrag nicht", False),
    ("Deutschland verlässt den Vertrag", True),
    ("Wenn Berlin aus dem Vertrag austreten würde", False),
    ("El Gobierno niega salir del tratado", False),
    ("El Gobierno podría salir del tratado", False),
    ("México va a salir del tratado", True),
    # a conjunction joining a second verb to the supposed one stays in its clause
    ("Bolsonaro podría seguir a EE UU y salir del tratado", False),
    ("Moscow could stay and leave the treaty later", False),
    ("Russia suspends the pact and will not leave the treaty", False),
    # Russian denials after the verb they deny guard the clause
    ("Лавров: выходить из договора Москва не планирует", False),
    ("Россия не собирается выходить из договора", False),
    # what a cue reports goes on past the comma that opens "что", "that", "que", "dass"
    ("Пашинян пообещал, что Армения выйдет из договора", False),
    ("Il a promis, qu'il va quitter le traité", False),
    # wanting to is not doing; a vote put off decides nothing
    ("Poland's justice minister wants to leave the treaty", False),
    ("Le ministre veut quitter le traité", False),
    ("Das Parlament vertagt das Votum über den Austritt aus dem Vertrag", False),
    # "without" / "sin" / "sans" before a finding deny it
    ("The court closed the case without declaring that Russia must leave the treaty", False),
    ("El Gobierno cerró la sesión sin declarar que va a salir del tratado", False),
    ("The tribunal threw out the claim that Russia must leave the treaty", False),
    ("La Cour a tranché sans se prononcer sur le devoir de quitter le traité", False),
    # a step still awaited has not happened
    ("The Duma still awaits a bill to withdraw from the treaty", False),
    ("Sigue pendiente de votación la ley para salir del tratado", False),
]


@pytest.mark.parametrize(("title", "fact"), GUARDED)
def test_guards_keep_denials_and_suppositions_from_matching_in_five_languages(
    tmp_path: Path, title: str, fact: bool
) -> None:
    """``guards: [negation, hypothetical]`` ignores hits in clauses that deny or suppose."""
    rule_set = one_rule(tmp_path, WITHDRAWAL, extra="guards: [negation, hypothetical]\n")
    assert (only(rule_set.match(entry(title=title))) is not None) is fact
    (tmp_path / "plain").mkdir()
    unguarded = one_rule(tmp_path / "plain", WITHDRAWAL)
    assert only(unguarded.match(entry(title=title))) is not None  # the guard made the difference


def test_a_negation_inside_a_term_is_part_of_the_term(tmp_path: Path) -> None:
    """ "will not extend" and "no longer bound" are what the rule looks for, not denials."""
    match = "{same_sentence: [treaty, [will not extend, no longer bound, не продлит]]}"
    rule_set = one_rule(tmp_path, match, extra="guards: [negation]\n")
    for title in (
        "Russia will not extend the treaty",
        "Russia is no longer bound by the treaty",
        "Россия не продлит treaty",
    ):
        assert only(rule_set.match(entry(title=title))) is not None, title


def test_a_negation_in_a_gap_a_term_leaves_open_is_a_cue(tmp_path: Path) -> None:
    """A term with a gap ("parliament ... ratifies") spells no negation: a "не" or "not" that
    falls into the gap denies the step ("Госдума не ратифицировала"), as it would outside."""
    match = (
        "{any: ['re:госдума (?:[^ ]+ ){0,2}ратифицир[а-я]*', "
        "'re:senate (?:[^ ]+ ){0,2}ratif[a-z]*', "
        "'re:écart(?:e|ent) (?:[^ ]+ ){1,3}de ses instances']}"
    )
    rule_set = one_rule(tmp_path, match, extra="guards: [negation]\n")
    for title, fact in (
        ("Госдума ратифицировала соглашение", True),
        ("Госдума не ратифицировала соглашение", False),
        ("Госдума пока не ратифицировала соглашение", False),
        ("Senate ratifies the treaty", True),
        ("Senate did not ratify the treaty", False),
        # "écarte" is a negation cue ("Paris écarte une sortie"), but this term spells it
        ("L'Union africaine écarte la Mauritanie de ses instances", True),
    ):
        assert (only(rule_set.match(entry(title=title))) is not None) is fact, title


@pytest.mark.parametrize(
    ("source", "spells"),
    [
        ("will not extend", True),
        ("[ne fait plus partie de, quitte]", True),
        (r"re:не\s+(?:будет\s+)?продл", True),
        (r"re:\bécart(?:e|ent|é) (?:[^ ]+ ){1,3}de ses instances\b", True),
        ("re:госдума (?:[^ ]+ ){0,3}ратифицир[а-я]*", False),
        (r"re:a[\]n]o b", False),  # a class is no letters of the term
        ("{ru:выйти} из", False),
    ],
)
def test_a_term_spells_a_cue_only_in_its_own_letters(source: str, spells: bool) -> None:
    assert (Guard.NEGATION in spelled_guards(source)) is spells


def test_exclusions_read_guarded_clauses_too(tmp_path: Path) -> None:
    """``none`` still sees a hit a guard hides: the pledge is ruled out, not turned into news."""
    rule_set = one_rule(
        tmp_path,
        "{all: [treaty, quit*], none: [return to power]}",
        extra="guards: [hypothetical]\n",
    )
    title = "Leader vows to quit the treaty if the party can return to power"
    assert only(rule_set.match(entry(title=title))) is None


def test_guarded_spans_run_from_the_cue_to_the_end_of_its_clause() -> None:
    """The clause ends at a comma, a conjunction or the sentence end."""
    text = "russia suspends the pact but is not leaving it, officials said. it will leave."
    spans = guarded_spans(text, [Guard.NEGATION])
    assert [text[a:b] for a, b in spans] == ["not leaving it"]


def test_in_reads_a_condition_in_the_named_fields_only(tmp_path: Path) -> None:
    """``in: [title, lead]``: talks in the headline or opening sentence, the treaty anywhere."""
    rule_set = one_rule(tmp_path, "{all: [treaty, {in: [title, lead], match: talks}]}")
    up_top = entry(title="Talks open in Geneva", summary="Envoys met. The treaty is at stake.")
    assert only(rule_set.match(up_top)) is not None
    lead = entry(title="Envoys meet", summary="Talks opened today. The treaty is at stake.")
    assert only(rule_set.match(lead)) is not None
    below = entry(title="Treaty signed", summary="It was signed today. It took years of talks.")
    assert only(rule_set.match(below)) is None


def test_guards_read_the_lead_a_rule_reads_through_in(tmp_path: Path) -> None:
    """Guards look for cues in the fields an ``in:`` reads, not only in the rule's own."""
    rule_set = one_rule(
        tmp_path,
        "{all: [treaty, {in: [lead], match: withdraws}]}",
        extra="guards: [negation]\n",
    )
    told = entry(title="Treaty news", summary="Moscow withdraws from the treaty. More follows.")
    assert only(rule_set.match(told)) is not None
    denied = entry(title="Treaty news", summary="Moscow never withdraws from the treaty. More.")
    assert only(rule_set.match(denied)) is None


def test_in_names_only_known_fields(tmp_path: Path) -> None:
    """A misspelt field is a rule-file error naming it."""
    with pytest.raises(Exception, match="unknown field 'leed'"):
        one_rule(tmp_path, "{in: [title, leed], match: talks}")


def test_the_lead_is_the_opening_sentence() -> None:
    """Abbreviations do not end it; a summary with no full stop is cut at a word."""
    assert first_sentence("The U.S. left on Friday. It said so.") == "The U.S. left on Friday."
    assert first_sentence("  Short one  ") == "Short one"
    assert len(first_sentence("word " * 200)) <= 400
    item = Entry(id="a", feed="f", feed_url="", guid="g", title="t", link="", content="A. B c.")
    assert item.field_text("lead") == "A. B c."  # "A." is an initial, not a sentence end


@pytest.mark.parametrize(
    ("text", "first"),
    [
        # a German ordinal before a month or a counted noun ends nothing
        ("Es tritt am 15. Januar in Kraft. Es gilt.", "Es tritt am 15. Januar in Kraft."),
        ("Eritrea ist 182. Mitglied der UNO. Mehr", "Eritrea ist 182. Mitglied der UNO."),
        ("AU nimmt Marokko als 55. Mitglied auf. Gut.", "AU nimmt Marokko als 55. Mitglied auf."),
        # a year, or a number before anything else, still ends a sentence
        ("The treaty was signed in 1987. It lapsed.", "The treaty was signed in 1987."),
        ("Parliament voted 120 to 55. The bill passed.", "Parliament voted 120 to 55."),
    ],
)  # fmt: skip
def test_a_german_ordinal_does_not_end_a_sentence(text: str, first: str) -> None:
    assert first_sentence(text) == first


def _pack(directory: Path, rules: str) -> RuleSet:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "r.yaml").write_text("version: 1\nrules:\n" + textwrap.dedent(rules))
    return load_rule_set([directory])


_TWO_RULES = """\
  - id: withdrawal
    title: W
    severity: high
    channels: [t]
    tags: [withdrawal]
    secondary: lead
    match: {same_sentence: [treaty, [withdraw*, withdrew]]}
  - id: suspension
    title: S
    severity: high
    channels: [t]
    tags: [suspension]
    secondary: lead
    match: {same_sentence: [treaty, [suspend*]]}
"""


def test_a_development_only_below_the_lead_is_background_beside_one_up_top(
    tmp_path: Path,
) -> None:
    """``secondary: lead`` drops it when another rule is reported in the headline or lead."""
    rule_set = _pack(tmp_path, _TWO_RULES)
    background = entry(
        title="Russia withdraws from the treaty",
        summary="Moscow said so on Monday. It had suspended the treaty in 2007.",
    )
    assert [m.rule_id for m in rule_set.match(background)] == ["withdrawal"]
    both = entry(title="Russia suspends the treaty and withdraws from the treaty")
    assert [m.rule_id for m in rule_set.match(both)] == ["withdrawal", "suspension"]
    only_below = entry(title="Moscow moves", summary="It said so. It suspends the treaty.")
    assert [m.rule_id for m in rule_set.match(only_below)] == ["suspension"]


def test_talks_in_the_lead_under_a_headline_reporting_another_step_are_its_setting(
    tmp_path: Path,
) -> None:
    """``secondary: title``: the summit where a step was announced is not treaty talks; talks
    in the headline, or beside a headline that only gives a due date, stay."""
    rule_set = _pack(
        tmp_path,
        _TWO_RULES
        + """  - id: talks
    title: T
    severity: low
    channels: [t]
    tags: [talks]
    secondary: title
    match: {all: [treaty, {in: [title, lead], match: "[talks, summit]"}]}
  - id: deadline
    title: D
    severity: high
    channels: [t]
    tags: [deadline]
    match: {all: [treaty, until]}
""",
    )
    setting = entry(
        title="Russia suspends the treaty",
        summary="Putin announced the step at a summit in Minsk. Allies regret it.",
    )
    assert [m.rule_id for m in rule_set.match(setting)] == ["suspension"]
    news = entry(title="Talks on the treaty open", summary="Russia suspends the treaty, it said.")
    assert {m.rule_id for m in rule_set.match(news)} == {"talks", "suspension"}
    extended = entry(title="The treaty is extended until May", summary="Talks ended in Istanbul.")
    assert {m.rule_id for m in rule_set.match(extended)} == {"talks", "deadline"}


HEADLINED = [
    # (title, summary, reported as fact?)
    ("Allies recommend leaving the treaty", "The exit from the treaty would take a year.", False),
    (
        "Warschau: Kein Austritt aus dem Vertrag",
        "Der Austritt aus dem Vertrag sei vom Tisch.",
        False,
    ),
    ("Paris renonce à quitter le traité", "Le retrait du traité avait été annoncé.", False),
    ("Russia leaves the treaty", "Moscow denies it could leave the treaty soon.", True),
    ("Moscow moves", "Russia leaves the treaty, it said.", True),
]


@pytest.mark.parametrize(("title", "summary", "fact"), HEADLINED)
def test_a_development_the_headline_denies_or_supposes_is_not_restated_as_fact_below(
    tmp_path: Path, title: str, summary: str, fact: bool
) -> None:
    """The headline frames the story: a summary restating a denied or proposed exit as "the
    exit" does not make it one; a headline without the development leaves the summary free."""
    withdrawal = (
        "{same_sentence: [[treaty, traité, Vertrag], [leav*, exit, quitt*, retrait, Austritt]]}"
    )
    rule_set = one_rule(tmp_path, withdrawal, extra="guards: [negation, hypothetical]\n")
    found = only(rule_set.match(entry(title=title, summary=summary)))
    assert (found is not None) is fact


def test_an_undated_deadline_word_beside_another_development_is_its_background(
    tmp_path: Path,
) -> None:
    """A ``due: future`` match with no date stands only as the entry's sole development."""
    rule_set = _pack(
        tmp_path,
        _TWO_RULES
        + """  - id: deadline
    title: D
    severity: high
    channels: [t]
    tags: [deadline]
    due: future
    match: {all: [treaty, clock]}
""",
    )
    beside = entry(title="North Korea withdraws from the treaty and stops the clock")
    assert [m.rule_id for m in rule_set.match(beside)] == ["withdrawal"]
    alone = entry(title="The treaty clock is ticking")
    assert [m.rule_id for m in rule_set.match(alone)] == ["deadline"]
    # alone but only below a headline about something else: background too
    below = entry(title="Russia tests a drone", summary="The test comes as the treaty clock ticks.")
    assert rule_set.match(below) == []
    told_below = entry(title="The treaty, a year on", summary="The treaty clock is ticking.")
    assert [m.rule_id for m in rule_set.match(told_below)] == ["deadline"]


def test_an_undated_deadline_alone_needs_its_due_words_in_the_headline(tmp_path: Path) -> None:
    """``due_words``: without a date, alone, the match stands only when the headline holds
    them; the treaty's name alone in the headline does not make its future a deadline story."""
    rule_set = _future_deadline(
        tmp_path,
        "due_words: {any: [enter into force, extending]}\n"
        "match: {all: [treaty, {any: [enter into force, extending, runs out]}]}",
    )
    signed = entry(title="Five powers sign the treaty", summary="It will enter into force later.")
    assert rule_set.match(signed) == []
    in_title = entry(title="The treaty will enter into force soon")
    assert [m.rule_id for m in rule_set.match(in_title)] == ["deadline"]
    extension = entry(title="Russia proposes extending the treaty", summary="It runs out soon.")
    assert [m.rule_id for m in rule_set.match(extension)] == ["deadline"]
    # a date stated anywhere needs no due words in the headline
    dated = entry(title="Five powers sign the treaty", summary="It runs out on 5 February 2030.")
    assert [m.rule_id for m in rule_set.match(dated)] == ["deadline"]


def test_a_due_date_that_is_not_ahead_is_no_deadline(tmp_path: Path) -> None:
    """``due: future``: "took effect on Friday, six months after notice" is no deadline."""
    rule_set = _future_deadline(
        tmp_path, "match: {all: [treaty, {any: [months after, in six months]}]}"
    )
    published = datetime(2019, 8, 2, 12, tzinfo=UTC)
    done = entry(title="The US withdrew from the treaty on Friday, six months after serving notice")
    ahead = entry(title="The US will leave the treaty in six months")
    assert rule_set.match(_at(done, published)) == []
    (match,) = rule_set.match(_at(ahead, published))
    assert match.deadline is not None
    assert match.deadline.isoformat() == "2020-02-02"


def _future_deadline(tmp_path: Path, body: str) -> RuleSet:
    """A pack of one ``due: future`` deadline rule; ``body``: its further keys, one per line."""
    keys = "".join(f"    {line}\n" for line in body.splitlines())
    return _pack(
        tmp_path,
        "  - id: deadline\n    title: D\n    severity: high\n    channels: [t]\n"
        "    tags: [deadline]\n    due: future\n" + keys,
    )


def _at(item: Entry, published: datetime) -> Entry:
    return Entry(**{**item.to_dict(), "published": published, "fetched_at": published})


BACKGROUND = [
    # (summary, published year, reported as fact?)
    ("Russia suspends its participation in the treaty.", 2023, True),
    ("Russia suspended its participation in the treaty in 2007.", 2023, False),
    ("Russia suspends its participation in the treaty in 2023.", 2023, True),
    ("Россия приостановила участие в договоре ещё в 2007 году.", 2023, False),
    ("Moscow had already suspended the treaty.", 2023, False),
    ("Moskau hatte den Vertrag bereits ausgesetzt.", 2023, False),
    ("La Russie avait déjà suspendu le traité.", 2023, False),
    ("Rusia suspendió el tratado el año pasado.", 2023, False),
    ("Officials said Russia had suspended the treaty.", 2023, True),  # reported speech: today
    # German puts the participle after the date; French dates with "dès"
    ("Moskau hatte seine Teilnahme am Vertrag 2023 ausgesetzt.", 2025, False),
    ("Moskau hat seine Teilnahme am Vertrag 2025 ausgesetzt.", 2025, True),
    ("Le traité, qu'elle avait suspendu dès 2007, est mort.", 2023, False),
    # counted from a year, the step is today's
    ("Der Vertrag wird erstmals seit 2003 ausgesetzt.", 2017, True),
    ("Russia suspends the treaty for the first time since 1999.", 2017, True),
    # a step named by its year
    ("It said its 2007 suspension of the treaty still stood.", 2023, False),
    # a treaty described by what was done to it
    ("Год до истечения срока договора, который Москва приостановила.", 2025, False),
    ("Москва приостановила участие в договоре.", 2025, True),
    # a year after the step, its comma inside the cue: the whole clause is history
    (
        "Спустя год после того, как Ташкент приостановил участие в договоре, партнёры ждут.",
        2007,
        False,
    ),
    # the law signed now is what its relative clause does
    ("Президент подписал закон, которым Россия приостановила действие договора.", 2025, True),
    # a step a day earlier, and an occasion still ahead, set the scene
    ("Pyongyang quit it a day after Seoul suspended the treaty.", 2023, False),
    ("Kiribati left on the eve of the summit that suspended the treaty.", 2023, False),
    ("On the eve of the summit, Kiribati suspended the treaty.", 2023, True),
    # a date after a treaty's making dates the making only: the step before it is today's
    ("Russia suspends the treaty signed with Kyiv in 1997.", 2023, True),
    ("Le Mali a suspendu le traité conclu avec Paris en 1961.", 2023, True),
    ("Rusia suspendió el tratado firmado con Ucrania en 1997.", 2023, True),
    ("Russia suspended the treaty with Kyiv in 1997.", 2023, False),
    ("Le Japon suspend le traité adopté en juin 2019.", 2023, True),
]


@pytest.mark.parametrize(("summary", "year", "fact"), BACKGROUND)
def test_the_background_guard_ignores_steps_dated_before_the_entry(
    tmp_path: Path, summary: str, year: int, fact: bool
) -> None:
    """ "in 2007", "already", "last year", "ещё в", "bereits", "déjà": history, not news."""
    match = "{same_sentence: [[treaty, договор*, Vertrag, traité, tratado], [suspen*, приостанов*, ausgesetzt, suspendu, suspendió]]}"  # noqa: E501
    rule_set = one_rule(tmp_path, match, extra="guards: [background]\n")
    item = _at(entry(summary=summary), datetime(year, 6, 1, tzinfo=UTC))
    assert (only(rule_set.match(item)) is not None) is fact

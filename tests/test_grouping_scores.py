"""Story grouping on the blind corpus of true events: the scores stay at their measured floor.

The corpus (tests/data/grouping/fresh1.jsonl, described in fresh1.md) was written by someone who
never saw the grouping code; docs/events.md records the first-contact numbers and these floors.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from monitor.events.score import Scores, parse_truth, predict, score
from monitor.rules.loader import load_rule_set

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "grouping" / "fresh1.jsonl"

# Measured floors (docs/events.md, "Measured"). B-cubed counts the reports the rules do not alert
# on as stories of their own, so it also carries the pack's alert recall (another issue's work);
# follow-up sources (reports alerting on nothing that join a story) raised it from 0.860 to 0.906.
# Issue 12's fourth pass (treaty acted on, party acting, reports naming no treaty id): 0.913
# (0.985), 1.06 messages per event.
BCUBED_F1 = 0.91
ALERTING_BCUBED_F1 = 0.98
MESSAGES_PER_EVENT = 1.07


@cache
def _scores() -> Scores:
    with CORPUS.open(encoding="utf-8") as handle:
        rows = parse_truth(handle, str(CORPUS))
    predicted = predict([data for _, data in rows], load_rule_set([ROOT / "rules"]))
    return score([truth for truth, _ in rows], predicted)


def test_the_corpus_has_the_hard_cases_the_issue_asks_for() -> None:
    """At least 25 events of 2-5 reports, several languages, plus unrelated items."""
    with CORPUS.open(encoding="utf-8") as handle:
        rows = [data for _, data in parse_truth(handle, str(CORPUS))]
    events: dict[str, int] = {}
    for row in rows:
        if row["event"]:
            events[row["event"]] = events.get(row["event"], 0) + 1
    assert len(events) >= 25
    assert all(2 <= n <= 5 for n in events.values())
    assert {row["language"] for row in rows} >= {"en", "ru", "fr", "de", "es"}
    assert sum(1 for row in rows if row["event"] is None) >= 20


def test_no_two_events_are_merged_into_one_story() -> None:
    """B-cubed precision is perfect: no story holds reports of two true events."""
    result = _scores()
    assert result.merged == []
    assert result.precision == 1.0


def test_grouping_scores_stay_at_their_floor() -> None:
    """B-cubed F1 (all reports and alerting reports) and messages per event keep their floor."""
    result = _scores()
    assert result.f1 >= BCUBED_F1, result.lines()
    assert result.alerting_f1 >= ALERTING_BCUBED_F1, result.lines()
    assert result.messages_per_event <= MESSAGES_PER_EVENT, result.lines()


def test_every_report_of_one_treaty_carries_one_treaty_id() -> None:
    """Whatever the language, the reports of one treaty that name it get one id."""
    result = _scores()
    assert result.treaty_ids == {}
    assert sum(result.no_treaty_id.values()) <= 1


FRESH2 = ROOT / "tests" / "data" / "grouping" / "fresh2.jsonl"
# fresh2 (blind, 196 reports of 48 events, 39 stand-alone items) was written after the first
# grouping work; first contact (with the pack of that day): B-cubed F1 0.693, 1.50 messages per
# event, no merge, JCPOA under two ids. After the issue-14 pack work and the due-date rule for
# stories it stands at F1 0.746 (0.872 over alerting reports), 1.52 messages per event, no merge.
# Follow-up sources and the actor fixes of issue 12's second pass: F1 0.783, 1.52 messages.
# Fourth pass: 0.872 (0.950), 1.21.
# Session 14: the Council of Europe expelling Russia now alerts (as membership, a treaty body's
# step on a member) where it was a silent source; the Spanish report, led by "Rusia deja de ser
# miembro", reads Russia as the actor and opens a second story (1.20 -> 1.22).
# Session 25: "Poutine agite la menace d'un retrait du TICE" (a threat: the event's development
# is other) no longer alerts as a withdrawal ("la menace d'un" supposes); its report stands alone
# and B-cubed recall over all reports falls (F1 0.876 -> 0.868, alerting F1 unchanged 0.951).
FRESH2_FLOOR = {"f1": 0.868, "alerting_f1": 0.945, "messages_per_event": 1.23}


@cache
def _scores_of(path: Path) -> Scores:
    with path.open(encoding="utf-8") as handle:
        rows = parse_truth(handle, str(path))
    predicted = predict([data for _, data in rows], load_rule_set([ROOT / "rules"]))
    return score([truth for truth, _ in rows], predicted)


def _fresh2() -> Scores:
    return _scores_of(FRESH2)


def test_the_second_blind_corpus_merges_no_events_and_holds_its_floor() -> None:
    """No story holds two true events; B-cubed and messages per event keep their floor."""
    result = _fresh2()
    assert result.merged == [], result.lines()
    assert result.f1 >= FRESH2_FLOOR["f1"], result.lines()
    assert result.alerting_f1 >= FRESH2_FLOOR["alerting_f1"], result.lines()
    assert result.messages_per_event <= FRESH2_FLOOR["messages_per_event"], result.lines()


FRESH3 = ROOT / "tests" / "data" / "grouping" / "fresh3.jsonl"
# fresh3 (blind, 193 reports of 54 events) was written for issue 12's first contact after the
# issue-14 pack work: B-cubed F1 0.702 (0.890 over alerting reports), 1.36 messages per event,
# one merge (a Spanish "Putin responde a Trump y congela el Tratado INF" read as a US step joined
# the US suspension), CFE under two ids. After the second pass (follow-up sources; "X responde a
# Y y congela" read as X's step; NATO acting on the CFE Treaty; more actor names): F1 0.801
# (0.916 over alerting reports), 1.30 messages per event, no merge. With the next session's rule
# pack and the treaty descriptions found in fresh2/fresh3 as aliases: 0.862 (0.947), 1.20.
# Fourth pass: 0.891 (0.982), 1.07.
FRESH3_FLOOR = {"f1": 0.89, "alerting_f1": 0.98, "messages_per_event": 1.08, "merged": 0}


def test_the_third_blind_corpus_holds_its_first_contact_level() -> None:
    """No more merges, no lower B-cubed, no more messages per event than at first contact; one
    treaty id per treaty (CFE was under cfe and nato)."""
    result = _scores_of(FRESH3)
    assert result.treaty_ids == {}, result.lines()
    assert len(result.merged) <= FRESH3_FLOOR["merged"], result.lines()
    assert result.f1 >= FRESH3_FLOOR["f1"], result.lines()
    assert result.alerting_f1 >= FRESH3_FLOOR["alerting_f1"], result.lines()
    assert result.messages_per_event <= FRESH3_FLOOR["messages_per_event"], result.lines()


@pytest.mark.parametrize("corpus", [CORPUS, FRESH2, FRESH3], ids=lambda p: p.stem)
def test_follow_up_sources_join_only_stories_of_their_own_event(corpus: Path) -> None:
    """No report of another event, and no unrelated item or hard negative, joins a story as a
    follow-up source; and sources do join (a third of true reports alert on nothing)."""
    result = _scores_of(corpus)
    assert result.false_sources == 0, result.lines()
    assert result.sources >= 5, result.lines()
    assert result.story_recall > result.alert_recall, result.lines()


# Session 23 corrected the scorer: B-cubed is averaged over the reports of true events only. It
# counted an unrelated item that alerts as a perfectly grouped singleton, so removing a false
# alert lowered the score (fresh14's "Il y a cinquante ans, le traité de Paris créait la CECA").
# Where that inflated a floor it was recomputed on the same rules with the corrected scorer, which
# no set scores lower on than the rules before that session's changes did: fresh4 0.86 -> 0.858,
# fresh6 0.874 -> 0.873, fresh9 0.622 (0.978) -> 0.606 (0.977), fresh14 0.686 (0.912) -> 0.675
# (0.907), fresh15 0.660 (0.892) -> 0.655 (0.889), fresh16 0.716 (0.940) -> 0.712 (0.938). The
# first-contact numbers in the comments below were measured with the old scorer.
def _holds(result: Scores, floor: dict[str, float]) -> None:
    """No more merges, no lower B-cubed F1 (overall and over alerting reports) and no more
    messages per event than the floor allows."""
    assert len(result.merged) <= floor["merged"], result.lines()
    assert result.f1 >= floor["f1"], result.lines()
    assert result.alerting_f1 >= floor["alerting_f1"], result.lines()
    assert result.messages_per_event <= floor["messages_per_event"], result.lines()


FRESH4 = ROOT / "tests" / "data" / "grouping" / "fresh4.jsonl"
# fresh4 (blind, 171 reports of 38 events, every event with a report in ru/fr/de/es; hard cases
# A-F of fresh4.md) was scored once before any change for it: on main B-cubed F1 0.731 (0.833
# over alerting reports), 1.61 messages per event, 3 wrong merges; on this work 0.748 (0.824),
# 1.61, 4 merges. After fixes to actors ("responds in kind", "anti-Israel", a subject before
# "pulls out of UNESCO") and treaty names: 0.779 (0.861), 1.53, 2 merges. The fourth pass (the
# treaty acted on, not its venue; the party acting, not the one reacting; clauses of
# circumstance; reports naming no treaty id joining their actors' story): 0.867 (0.971), 1.11,
# no merge, one treaty id per treaty.
# Session 14: the expulsion of Russia now alerts as membership, and "juntas break with regional
# bloc" names ECOWAS's body, opening a story of its own (alerting F1 0.970 -> 0.965, 1.12 -> 1.14).
FRESH4_FLOOR = {"f1": 0.858, "alerting_f1": 0.96, "messages_per_event": 1.15, "merged": 0}


def test_the_fourth_blind_corpus_holds_its_level() -> None:
    """fresh4 keeps its B-cubed, messages per event, no merge and one treaty id per treaty."""
    result = _scores_of(FRESH4)
    assert result.treaty_ids == {}, result.lines()
    _holds(result, FRESH4_FLOOR)


FRESH5 = ROOT / "tests" / "data" / "grouping" / "fresh5.jsonl"
# fresh5 (blind, 199 items: 156 reports of 58 events, 16 background items, 27 hard negatives;
# mostly less famous events, 2016-2025) was scored once on main before the fourth grouping pass
# landed: B-cubed F1 0.790 (0.849 over alerting reports), 1.51 messages per event, 5 wrong
# merges; then on main with the fourth pass merged (first contact for that pass too): 0.816
# (0.878), 1.41, 7 merges. The fifth pass (treaty ids for treaties named by description, a verb
# acting on a treaty, answers with a step, demonyms naming people, welcoming subjects, counter-
# steps): 0.902 (0.957), 1.13, no merge, one treaty id per treaty. The sixth pass (an unnamed
# parliament is the summary's state's: "Parliament approves Finland's NATO membership" is
# Turkey's step; "nouvelles routes de la soie" as the Belt and Road): 0.906 (0.960), 1.11.
FRESH5_FLOOR = {"f1": 0.906, "alerting_f1": 0.96, "messages_per_event": 1.12, "merged": 0}


def test_the_fifth_blind_corpus_holds_its_level() -> None:
    """fresh5 keeps its B-cubed F1, messages per event, no merge and one treaty id per treaty."""
    result = _scores_of(FRESH5)
    assert result.treaty_ids == {}, result.lines()
    _holds(result, FRESH5_FLOOR)


FRESH6 = ROOT / "tests" / "data" / "grouping" / "fresh6.jsonl"
# fresh6 (blind, 116 items: 91 reports of 29 events, 2008-2025, none of them in the earlier
# corpora) was scored once on main after the fifth pass: B-cubed F1 0.709 (0.886 over alerting
# reports), 1.25 messages per event, 3 wrong merges (a PACE vote and Azerbaijan's answer the same
# day; Hungary's talks with Sweden and its ratification three days later), CIS and the EU each
# under two ids; half the reports alert on nothing. With "leave the CIS" named: 0.714 (0.898),
# 1.21. The sixth pass (a body heading the title acts on the state it names; an unnamed
# parliament is the summary's state's; the EU's treaties under one id; descriptions of the Belt
# and Road, the whaling commission, the FARC peace deal; the migration compact and BRELL named):
# 0.875 (0.976), 1.08, no merge, one treaty id per treaty, 25 sources (none wrong). fresh6 is no
# blind corpus any more for this work.
FRESH6_FLOOR = {"f1": 0.873, "alerting_f1": 0.975, "messages_per_event": 1.08, "merged": 0}


def test_the_sixth_blind_corpus_holds_its_level() -> None:
    """fresh6 keeps its B-cubed F1, messages per event, no merge, one treaty id per treaty and
    follow-up sources only in their own event's story."""
    result = _scores_of(FRESH6)
    assert result.treaty_ids == {}, result.lines()
    assert result.false_sources == 0, result.lines()
    _holds(result, FRESH6_FLOOR)


FRESH7 = ROOT / "tests" / "data" / "grouping" / "fresh7.jsonl"
# fresh7 (blind, 144 items: 116 reports of 33 events, 1998-2025, 59% not in English; hard cases
# A-F, F being a body's step on a state beside the state's own step the same day), written in
# session 14 by a helper who saw no code or rules. First contact on main: B-cubed F1 0.737
# (0.849 over alerting reports), 1.50 messages per event, 1 merge (the OAS suspending Honduras
# joined Honduras quitting the OAS), alert recall 0.60. With the sixth grouping pass merged (its
# author never saw fresh7): 0.740 (0.872), 1.43, 1 merge. Then a development set: a body's
# sanction as membership and "OAS" naming the OAS body part the OAS's suspension of Honduras from
# Honduras's exit: 0.750 (0.890), 1.39, no merge. Session 15: the smaller states (Trinidad and
# Tobago: "Port of Spain" was Spain), names with forms of a word before the last ("Южной Кореи"),
# a treaty no vocabulary names held together by its other parties ("fisheries pact with South
# Korea") and "dénonce l'accord" as an exit: 0.779 (0.915), 1.29, no merge.
# Then organisations as actors of their own steps on members: 0.800 (0.928), 1.28.
# Then (fresh8 work) the other party of an unnamed treaty, plural treaty nouns: 0.804 (0.938), 1.23.
# The UN Human Rights Committee as the ICCPR's body makes "Trinidad se soustrait au Comité des
# droits de l'homme" alert, as a withdrawal beside a report read as re-ratification: one more
# message for that event, 0.804 (0.932), 1.27.
# Then the body's step told as a state's suspension: 0.810 (0.941), 1.23.
# Session 31: OPEC+ output cuts are no treaty talks (as the writers of fresh27, fresh29, fresh30
# and fresh31 label them; this writer made one an event, E21), so that one-message event falls
# silent while Venezuela's denunciation of the American Convention is now one story from its
# first report: 0.828 (0.941), 1.241 messages per alerting event.
FRESH7_FLOOR = {"f1": 0.827, "alerting_f1": 0.94, "messages_per_event": 1.25, "merged": 0}


FRESH8 = ROOT / "tests" / "data" / "grouping" / "fresh8.jsonl"
# fresh8 (blind, 230 items: 196 reports of 53 events, 2009-2026, 58% not in English; hard cases
# A-H, G naming actors only by capital or leader and treaties only by description, H titles
# sharing almost no words), written in session 15 by a helper who saw no code or rules. First
# contact: B-cubed F1 0.591 (0.834 over alerting reports), 1.48 messages per event, 3 merges,
# alert recall 0.53 (landed main: 0.575 / 0.813 / 1.60 / 3). Then a development set: bodies
# acting on members (Commonwealth, AU, UN Tourism, readmissions and lifted suspensions) as the
# body's membership step, capitals and demonyms of more states ("Alger", "Thai"), an unnamed
# treaty joining a named one only with the same actors: 0.642 (0.879), 1.40, 2 merges.
# Then the fresh13 tag work (more states as state actors, more alerting reports), a state named
# after "treaty ... with" as the other party, and parliaments by their own names: 0.657 (0.878),
# 1.42, 2 merges; "La OMT aparta a Rusia" as the body's step: 0.665 (0.880), 1.40, 1 merge;
# then bodies by their descriptions ("World Bank arbitration body", "UN rights council", "oil
# cartel", "AU Peace and Security Council"), "ya no es miembro", "prekratila chlenstvo",
# "suspendu de l'UA": alert recall up, 0.729 (0.889), 1.42, 1 merge; unnamed treaties joined by
# one other party both name (a summary names more states in passing), "dénoncent leurs
# conventions" acting on the treaty, plural treaty nouns before "with": 0.748 (0.915), 1.32, 1
# merge; a state's suspension from a body told without its own part paused ("L'UA lève la
# suspension du Gabon", "Forum chair announces Fiji's suspension") as the body's membership step:
# 0.759 (0.931), 1.26, no merge.
# Then the fresh13 violation work: 0.763 (0.937), 1.24, no merge.
FRESH8_FLOOR = {"f1": 0.762, "alerting_f1": 0.936, "messages_per_event": 1.25, "merged": 0}


def test_the_seventh_blind_corpus_holds_its_level() -> None:
    """fresh7 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH7), FRESH7_FLOOR)


FRESH9 = ROOT / "tests" / "data" / "grouping" / "fresh9.jsonl"
# fresh9 (blind, 161 items: 130 reports of 40 events, 1996-2026; hard cases A-H; 15 of the 40
# events are signings and other steps the pack does not alert on), written late in session 15.
# First contact at 17770f7: B-cubed F1 0.603 (0.967 over alerting reports), 1.12 messages per
# event, 2 merges, alert recall 0.32 (landed main 6fe808e: 0.576 / 0.890 / 1.32 / 2). Guarded at
# first contact. Then a development set: a body depriving a member of its vote ("prive Moscou de
# son droit de vote", "entzieht ... das Stimmrecht") as membership, two states acting together
# on an unnamed treaty as one story: 0.623 (0.979), 1.04, 1 merge.
FRESH9_FLOOR = {"f1": 0.606, "alerting_f1": 0.977, "messages_per_event": 1.05, "merged": 1}


def test_the_ninth_blind_corpus_holds_its_level() -> None:
    """fresh9 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH9), FRESH9_FLOOR)


def test_the_eighth_blind_corpus_holds_its_level() -> None:
    """fresh8 keeps its measured B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH8), FRESH8_FLOOR)


FRESH10 = ROOT / "tests" / "data" / "grouping" / "fresh10.jsonl"
# fresh10 (blind, 148 items: 128 reports of 36 events, 1969-2019; hard cases A-H; 9 of the 36
# events are signings and other steps the pack does not alert on), written in session 16.
# First contact at 4fa9bbf: B-cubed F1 0.545 (0.849 over alerting reports), 1.54 messages per
# event, 2 merges, alert recall 0.37. Guarded at first contact. Then a development set (the
# Indus id no longer given to any "water-sharing agreement", the Entebbe and Rio pacts by those
# names, GUUAM as a body): 0.591 (0.880), 1.44, 2 merges; a source using exit words never
# following a story of a breach, nor breach words an exit: 0.598 (0.880), 1.40, 1 merge; a
# parliament named by its state's genitive ("Парламент Эстонии ратифицировал ..."): 0.607
# (0.896), 1.36, 1 merge. Session 17: a body keeping a member's vote withdrawn ("Europarat:
# Russland bleibt ohne Stimmrecht", "ПАСЕ продлила лишение ... права голоса") is membership:
# 0.621 (0.909), 1.32, no merge. Session 18: two more reports alert and join their events'
# stories ("Venezuela deja de pertenecer al G-3", "Gabun kehrt in die Opec zurück"): 0.630
# overall; over alerting reports 0.907, as the OPEC event now has one more alerting report in
# a story of two.
FRESH10_FLOOR = {"f1": 0.629, "alerting_f1": 0.906, "messages_per_event": 1.33, "merged": 0}


def test_the_tenth_blind_corpus_holds_its_level() -> None:
    """fresh10 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH10), FRESH10_FLOOR)


FRESH11 = ROOT / "tests" / "data" / "grouping" / "fresh11.jsonl"
# fresh11 (blind, 164 items: 144 reports of 49 events, 1991-2023, 59% of the reports not in
# English; hard cases A-H; no famous treaty), written in session 17 by a helper who saw no code,
# rules or corpora. First contact at 08db2bc (the same at the session's start, d776023): B-cubed
# F1 0.665 (0.885 over alerting reports), 1.36 messages per event, 2 merges, alert recall 0.40.
# Guarded at first contact. Then (joining the UN, the World Bank and more bodies in more words;
# a body's sanction in idioms): 0.714 (0.896), 1.34, 1 merge, alert recall 0.49. Session 18:
# 0.723 (0.898), 1.33, 1 merge. Session 27 (a threat in a headline is a step of its own:
# "West African bloc suspends Mali, threatens action" no longer joins the ultimatum's story as a
# source): 0.760 (0.931), 1.22, no merge.
FRESH11_FLOOR = {"f1": 0.759, "alerting_f1": 0.930, "messages_per_event": 1.22, "merged": 0}


def test_the_eleventh_blind_corpus_holds_its_level() -> None:
    """fresh11 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH11), FRESH11_FLOOR)


FRESH12 = ROOT / "tests" / "data" / "grouping" / "fresh12.jsonl"
# fresh12 (blind, 177 items: 160 reports of 43 events, 1971-1989, 62% of the reports not in
# English; hard cases A-H), written in session 18 by a helper who saw no code, rules or corpora.
# First contact at ab94d98: B-cubed F1 0.565 (0.781 over alerting reports), 1.68 messages per
# event, 1 merge, alert recall 0.46. Guarded at first contact. Then (the pack's work on fresh17:
# Cold War bodies, leaving and joining in more words): 0.604 (0.800), 1.63, 1 merge; leaders of
# 1970-1999 and the Soviet Union as Russia in the actor vocabulary: 0.649 (0.877), 1.38, 1 merge.
# The Algiers agreements told apart (Iran-Iraq 1975 by the Shatt al-Arab, the bare name an
# alias), "abrogates" a withdrawal: 0.663 (0.895), 1.33, 1 merge. Session 19: leaving the UN in
# five languages makes E01 (Nationalist China walking out, 1971) alert for the first time, in two
# stories, as the German report's actor is read from "der albanischen Resolution" next to the
# step in its summary: 0.670 overall, over alerting reports 0.892, 1.35 messages per event.
FRESH12_FLOOR = {"f1": 0.669, "alerting_f1": 0.891, "messages_per_event": 1.35, "merged": 1}


def test_the_twelfth_blind_corpus_holds_its_level() -> None:
    """fresh12 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH12), FRESH12_FLOOR)


FRESH13 = ROOT / "tests" / "data" / "grouping" / "fresh13.jsonl"
# fresh13 (blind, 161 items: 144 reports of 42 events, 37 of them 1951-1969, 77% of the reports
# not in English; hard cases A-H; arms control only 6 events), written in session 19 by a helper
# who saw no code, rules or corpora. First contact at a9f2681: B-cubed F1 0.605 (0.872 over
# alerting reports), 1.41 messages per event, 2 merges (both the pair of hard case F), alert
# recall 0.33. Guarded at first contact. Then (leaving the UN and terminating "расторгает" in
# more words, leaders of 1945-1969, Nationalist China as Taiwan, the Anglo-Egyptian treaty of
# 1936, Iran and Iraq's of 1937 and the test ban of 1963 by their own ids): 0.652 (0.897), 1.35
# messages per event, 1 merge, alert recall 0.37.
FRESH13_FLOOR = {"f1": 0.651, "alerting_f1": 0.896, "messages_per_event": 1.36, "merged": 1}


def test_the_thirteenth_blind_corpus_holds_its_level() -> None:
    """fresh13 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH13), FRESH13_FLOOR)


FRESH14 = ROOT / "tests" / "data" / "grouping" / "fresh14.jsonl"
# fresh14 (blind, 124 items: 106 reports of 36 events, 1985-2011, 81% of the reports not in
# English; hard cases A-H; trade, regional bodies and European treaties, arms control 1 event),
# written in session 20 by a helper who saw no code, rules or corpora. First contact at 3e808c8:
# B-cubed F1 0.656 (0.872 over alerting reports), 1.33 messages per event, 2 merges (Japan's and
# the EU's Kyoto ratifications the same day; the CIS founded and Ukraine ratifying it), alert
# recall 0.40. Guarded at first contact. Then (a finding against a state names the state in
# breach, a treaty or organisation that ends is one story whoever a report names, the Western
# European Union, Japan's Diet, the Belovezha agreement as the CIS): 0.687 (0.913), 1.30
# messages per event, 1 merge, alert recall 0.46. Session 34: 0.681 (0.903), 1.33: the UN where
# an instrument is deposited ("entrega en la ONU", fresh27) is no actor, and two reports of the
# EU's Kyoto ratification that had shared the UN as their (wrong) actor now split, one on the
# Spanish presidency, one on "au siège des Nations unies".
FRESH14_FLOOR = {"f1": 0.675, "alerting_f1": 0.903, "messages_per_event": 1.34, "merged": 1}


def test_the_fourteenth_blind_corpus_holds_its_level() -> None:
    """fresh14 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH14), FRESH14_FLOOR)


FRESH15 = ROOT / "tests" / "data" / "grouping" / "fresh15.jsonl"
# fresh15 (blind, 128 items: 112 reports of 40 events, 1996-2024, 77% of the reports not in
# English; hard cases A-H; peace accords, maritime borders, human-rights rulings, trade and
# investment, no arms control; 22 of the 40 events are signatures or adoptions, "other"),
# written in session 21 by a helper who saw no code, rules or corpora. First contact at c68d02a:
# B-cubed F1 0.618 (0.862 over alerting reports), 1.364 messages per event (30 for the 22
# events that alert), 1 merge, alert recall 0.36. Guarded at first contact. Then (a German
# genitive names the state: "Schwedens Funkaufklärung"; GCHQ is Britain; charters, memoranda and
# maritime deals ratified, parliaments approving in Russian and German): 0.660 (0.892), 1.33
# messages per event, no merge, alert recall 0.42. Session 29: an undated due date needs its
# words in the headline, so the Gorongosa agreement's signing no longer alerts as a deadline
# (a signature is no development of the pack): 1.35 messages per event.
FRESH15_FLOOR = {"f1": 0.655, "alerting_f1": 0.889, "messages_per_event": 1.35, "merged": 0}


def test_the_fifteenth_blind_corpus_holds_its_level() -> None:
    """fresh15 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH15), FRESH15_FLOOR)


FRESH16 = ROOT / "tests" / "data" / "grouping" / "fresh16.jsonl"
# fresh16 (blind, 150 items: 132 reports of 48 events, 1990-2025, 76% of the reports not in
# English, 27% Russian; hard cases A-H; Central Asia, the Pacific, the CIS, WTO accessions, WIPO,
# fisheries; ratifications 20, memberships 19, no arms control), written in session 22 by a
# helper who saw no code, rules or corpora. First contact at 61d88d2: B-cubed F1 0.652 (0.907
# over alerting reports), 1.25 messages per event, 3 merges, alert recall 0.33. Guarded at first
# contact. Then (an accession protocol signed is a signature, and no longer NATO's; the Hague,
# Marrakesh and Madrid WIPO treaties, PACER Plus, the UN Fish Stocks Agreement, the Prespa "name
# deal" and the Union State treaty by their names; COMESA, the OECS, the CEAO, Euronest and the
# Union for the Mediterranean as treaty bodies; admissions in more words, a German ordinal no
# sentence end): 0.716 (0.940), 1.16 messages per event, 3 merges (WTO accessions approved and
# their protocols signed the same day), alert recall 0.42.
FRESH16_FLOOR = {"f1": 0.712, "alerting_f1": 0.938, "messages_per_event": 1.16, "merged": 3}


def test_the_sixteenth_blind_corpus_holds_its_level() -> None:
    """fresh16 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH16), FRESH16_FLOOR)


FRESH17 = ROOT / "tests" / "data" / "grouping" / "fresh17.jsonl"
# fresh17 (blind, 168 items: 152 reports of 50 events, 1961-2021, 79% of the rows not in
# English; hard cases A-H; all 50 events arms control, non-proliferation or security treaties:
# NPT 9, CTBT 9, CWC 5, mostly small states' steps; 9 signatures, "other"), written in session 23
# by a helper who saw no code, rules or corpora. First contact at af7b6ea: B-cubed F1 0.786
# (0.905 over alerting reports), 1.36 messages per event, 2 merges, alert recall 0.62. Guarded
# at first contact. Then (the arms-control treaties in the words reports use for them: "B-Waffen-
# Konvention", "конвенцию о запрещении бактериологического оружия", "Landminenverbot", "traité
# START", the Lisbon Protocol, the 1925 gas protocol apart from the Geneva Conventions; "on
# Hiroshima anniversary" is the day of a step, not an anniversary story; a report naming no actor
# joins no story when stories of different actors could take it): 0.844 (0.953), 1.21 messages
# per event, 1 merge (Libya's additional protocol signed the day the IAEA Board found its
# breaches), alert recall 0.68.
FRESH17_FLOOR = {"f1": 0.844, "alerting_f1": 0.952, "messages_per_event": 1.21, "merged": 1}


def test_the_seventeenth_blind_corpus_holds_its_level() -> None:
    """fresh17 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH17), FRESH17_FLOOR)


FRESH18 = ROOT / "tests" / "data" / "grouping" / "fresh18.jsonl"
# fresh18 (blind, 186 items: 169 reports of 61 events, 1960-2023, 80% of the rows not in
# English; hard cases A-H; a brief asking for few ratifications: suspension 11, violation 9,
# membership 9, ratification 8, talks 7, withdrawal 6; courts, WTO panels, border checks, trade
# preferences), written in session 24 by a helper who saw no code, rules or corpora. First
# contact at 28879d0: B-cubed F1 0.641 (0.906 over alerting reports), 1.26 messages per event,
# 2 merges, alert recall 0.355 of the reports (36 of 61 events alert at least once). Then (the
# Strasbourg court by its seat in a headline, a court ordering a state to pay, a state
# "condamnée pour", the Nuclear Suppliers Group no company's suppliers): 0.674 (0.915), 1.25
# messages per event, 2 merges, alert recall 0.391. Then a report disowning a step the next day
# is no follow-up source of it ("Анкара не намерена выплачивать Кипру компенсацию", "Hungary
# U-turns on suspending EU asylum rules"): one merge left ("Turquía se niega a pagar": a refusal
# is left a source, as a body refusing a member is a step of its own), 0.673 (0.915), 1.26.
FRESH18_FLOOR = {"f1": 0.672, "alerting_f1": 0.915, "messages_per_event": 1.26, "merged": 1}


def test_the_eighteenth_blind_corpus_holds_its_level() -> None:
    """fresh18 keeps its first-contact B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH18), FRESH18_FLOOR)


FRESH19 = ROOT / "tests" / "data" / "grouping" / "fresh19.jsonl"
# fresh19 (blind, 146 items: 128 reports of 39 events, 1928-2023, 73% of the rows not in
# English; hard cases A-E and H; 15 League-era events and 14 Strasbourg judgments, as the
# exclusion list holds most later steps), written in session 26 by a helper who saw no code,
# rules or corpora. First contact at 4a5fdf0: B-cubed F1 0.627 (0.866 over alerting reports),
# 1.44 messages per event, no merge, alert recall 0.453 (27 of 39 events alert at all). Then
# (the League of Nations, interwar naval and non-aggression treaties, the ICESCR and the
# German names of the Strasbourg court as treaty ids): 0.760 (0.940), 1.23, no merge, 0.508.
FRESH19_FLOOR = {"f1": 0.760, "alerting_f1": 0.940, "messages_per_event": 1.23, "merged": 0}


def test_the_nineteenth_blind_corpus_holds_its_level() -> None:
    """fresh19 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH19), FRESH19_FLOOR)


FRESH20 = ROOT / "tests" / "data" / "grouping" / "fresh20.jsonl"
# fresh20 (blind, 109 rows: 93 reports of 33 events, every one 2001-2025, 67% of the rows not in
# English; hard cases A-E and H, 16 unrelated rows and hard negatives), written in session 27 by
# a helper who saw no code, rules or corpora; the exclusion list's events were allowed when
# retold from another angle. First contact at a0ae9f9: B-cubed F1 0.783 (0.891 over alerting
# reports), P 0.978 R 0.652, 1.35 messages per event, 1 merge (the grain deal's lapse and
# Moscow's threat to shipping two days later: the threat's reports join as follow-up sources),
# alert recall 0.656. Then (a headline on inspections over a suspension, the Paris accord and
# UNESCO by their German and descriptive names, "retirant la ratification", "Getreideabkommen
# ausgelaufen"): 0.793 (0.879), 1.39, 2 merges: Israel's UNESCO exit ("Netanyahu hails 'brave'
# Trump decision, tells diplomats to prepare exit"), once filed under the UN, was now UNESCO's
# with the actor read from "Trump", and joined the US exit of the same day. Then a headline's
# clause after a comma, with no subject and no reaction verb, is the subject's own step: 0.806
# (0.897), 1.35, 1 merge. Then a threat in a headline is a step of its own, no follow-up
# source ("Moscow says vessels bound for Odesa may be treated as military targets"): 0.808
# (0.897), 1.37, no merge (fresh11's one merge goes too).
FRESH20_FLOOR = {"f1": 0.807, "alerting_f1": 0.896, "messages_per_event": 1.37, "merged": 0}


def test_the_twentieth_blind_corpus_holds_its_level() -> None:
    """fresh20 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH20), FRESH20_FLOOR)


FRESH21 = ROOT / "tests" / "data" / "grouping" / "fresh21.jsonl"
# fresh21 (blind, 146 rows: 128 reports of 37 events, every one 2001-2025, 79% of the rows not
# in English; hard cases A-E and H, 18 unrelated rows and hard negatives), written in session 28
# by a helper who saw no code, rules or corpora. First contact at 4acb387: B-cubed F1 0.789
# (0.915 over alerting reports), P 0.979 R 0.660, 1.32 messages per event, 2 merges (Israel's
# UNESCO exit under "PM hails 'brave and moral' US move, tells diplomats to follow suit" read as
# the US exit of the same day; Moscow's warning to ships two days after the grain deal's end
# dated "с 20 июля" and read as the deal's due date), alert recall 0.617. Then a signature
# renounced or "effacée" is a revocation (E02's reports join as one revocation story): 0.789
# (0.917), 1.32, 2 merges. Session 29: a title led by a leader it does not name ("PM hails
# ...") takes its actor from the summary: Israel's exit is its own story, 0.799 (0.931), 1.29,
# 1 merge (the grain deal's).
FRESH21_FLOOR = {"f1": 0.798, "alerting_f1": 0.930, "messages_per_event": 1.30, "merged": 1}


def test_the_twenty_first_blind_corpus_holds_its_level() -> None:
    """fresh21 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH21), FRESH21_FLOOR)


FRESH22 = ROOT / "tests" / "data" / "grouping" / "fresh22.jsonl"
# fresh22 (blind, 128 rows: 110 reports of 33 events 2006-2025, 69% of the rows not in English;
# hard cases A-E and H; 18 unrelated rows and hard negatives), written in session 29 by a helper
# who saw no code, rules or corpora, from a brief that sent it to ground the corpora left thin
# (ILO conventions, extradition and tax treaties, SAARC, BIMSTEC, EAC, IGAD, the ECOWAS and
# Inter-American courts, nuclear-weapon-free zones; none a US-Russia or EU story). First contact
# at 9462540: B-cubed F1 0.675 (0.860 over alerting reports), P 1.000 R 0.509, 1.48 messages per
# event, no merge, alert recall 0.536 (27 of 33 events alert at all; 10 events are signings,
# declarations or a resumption, which no rule reports). Then: a summit left is no exit, joining
# a boycott no accession, a return in the headline no exit, contacts with a body halted its
# member's suspension, the East African Court the EAC's, a body's headquarters no actor, Port
# Sudan Sudan's seat: 0.700 (0.890), 1.38, no merge, one treaty id per treaty. Then an undated
# due date needs its words in the headline: the Central Asian zone's signing no longer alerts as
# a deadline ("В Семипалатинске подписан договор" over "вступит в силу"): 0.700 (0.888), 1.40.
FRESH22_FLOOR = {"f1": 0.699, "alerting_f1": 0.887, "messages_per_event": 1.40, "merged": 0}


def test_the_twenty_second_blind_corpus_holds_its_level() -> None:
    """fresh22 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH22), FRESH22_FLOOR)


FRESH23 = ROOT / "tests" / "data" / "grouping" / "fresh23.jsonl"
# fresh23 (blind, 137 rows: 118 reports of 35 events 2001-2025, 69% of the rows not in English;
# hard cases A-E and H; 19 unrelated rows and hard negatives), written in session 30 by a helper
# who saw no code, rules or corpora, from a brief naming the ground the corpora left thin (the
# Pacific compacts, ANZUS, the CSTO, the Abraham Accords and the Arab League, ICAO and IMO,
# CPTPP, USMCA and RCEP, the OAS and the Inter-American Court). First contact at 395baf3: B-cubed
# F1 0.575 (1.000 over alerting reports), P 0.989 R 0.405, 1.00 messages per event, no merge,
# alert recall 0.169 (13 of 35 events alert at all: 16 events are signings, invocations,
# sanctions, launches or elections to a council, which no rule reports). Then the CPTPP and
# USMCA by their other names and a legislature that passes or sends on a treaty: 0.607 (0.974),
# 1.07, no merge.
FRESH23_FLOOR = {"f1": 0.606, "alerting_f1": 0.973, "messages_per_event": 1.07, "merged": 0}


def test_the_twenty_third_blind_corpus_holds_its_level() -> None:
    """fresh23 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH23), FRESH23_FLOOR)


FRESH24 = ROOT / "tests" / "data" / "grouping" / "fresh24.jsonl"
# fresh24 (blind, 118 rows: 101 reports of 33 events 2016-2025, 68% of the rows not in English;
# hard cases A-E and H; 17 unrelated rows and hard negatives), written in session 31 by a helper
# who saw no code, rules or corpora, from a brief on the live decade's thin ground (GSOMIA, the
# VFA, the inter-Korean military agreement, Prespa, the Northern Ireland protocol, ICJ orders,
# ICC exits, French bases in Africa, the 1944 water treaty). First contact at 647bc32: B-cubed
# F1 0.615 (0.939 over alerting reports), P 1.000 R 0.444, 1.18 messages per event, no merge,
# alert recall 0.287 (17 of 33 events alert at all: signings, border and ID deals, troop
# withdrawals and unnamed instruments stay silent). Then the NI protocol by its names, a safeguard
# clause invoked, the World Court's orders as findings with the court's short names kept from
# the actors: 0.640 (0.947), 1.17, no merge.
FRESH24_FLOOR = {"f1": 0.639, "alerting_f1": 0.946, "messages_per_event": 1.17, "merged": 0}


def test_the_twenty_fourth_blind_corpus_holds_its_level() -> None:
    """fresh24 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH24), FRESH24_FLOOR)


FRESH25 = ROOT / "tests" / "data" / "grouping" / "fresh25.jsonl"
# fresh25 (blind, 129 rows: 109 reports of 34 events 2018-2026, 77% of the rows not in English;
# hard cases A-E and H; 20 unrelated rows and hard negatives), written in session 32 by a helper
# who saw no code, rules or corpora, from a brief on ground the corpora left thin (Russia-Ukraine
# and Union State treaties, Russia's tax treaties, intra-EU investment treaties, USMCA, the
# Istanbul convention in Latvia, the Nile framework, the Lebanon and Gaza ceasefires, the 2025
# US exits). First contact at 93779c8: B-cubed F1 0.600 (0.833 over alerting reports), P 0.985
# R 0.431, 1.47 messages per event, one merge (Israel's and Lebanon's cabinets approving the
# same truce: the Lebanese report's actor read from "Israel" in its headline), alert recall 0.339
# (nine events are ceasefire steps, which the pack does not treat as treaties). Then USMCA's
# nickname, the Istanbul convention by its subject and in Russian, Russian "Сейм" no longer
# Poland, Lebanon's leaders, Nordic legislatures and defence agreements: 0.658 (0.926), 1.20, no
# merge.
FRESH25_FLOOR = {"f1": 0.657, "alerting_f1": 0.925, "messages_per_event": 1.20, "merged": 0}


def test_the_twenty_fifth_blind_corpus_holds_its_level() -> None:
    """fresh25 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH25), FRESH25_FLOOR)


FRESH26 = ROOT / "tests" / "data" / "grouping" / "fresh26.jsonl"
# fresh26 (blind, 106 rows: 88 reports of 32 events 2017-2026, 75% of the rows not in English;
# hard cases A-E and H; 18 unrelated rows and hard negatives), written in session 33 by a helper
# who saw no code, rules or corpora, from a brief on climate treaties, the Energy Charter Treaty
# exits, ICAO and MH17, the ILO, the African Union and IGAD, Artemis, BRICS, Schengen, EU-China
# and EU-Mercosur, EFTA-India and Panama's Belt and Road exit. First contact at adc4427: B-cubed
# F1 0.714 (0.925 over alerting reports), P 1.000 R 0.555, 1.23 messages per event, no merge,
# alert recall 0.432 (Artemis signings, BRICS invitations and Schengen steps alert little). Then
# Schengen joined, a frozen ratification no ratification, a state taking another to a court or
# treaty body, the Belt and Road memorandum named as such: 0.720 (0.921), 1.25 (Schengen's full
# entry now alerts, in two stories), no merge.
FRESH26_FLOOR = {"f1": 0.719, "alerting_f1": 0.920, "messages_per_event": 1.25, "merged": 0}


def test_the_twenty_sixth_blind_corpus_holds_its_level() -> None:
    """fresh26 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH26), FRESH26_FLOOR)


FRESH27 = ROOT / "tests" / "data" / "grouping" / "fresh27.jsonl"
# fresh27 (blind, 114 rows: 97 reports of 32 events 2016-2025, 75% of the rows not in English;
# hard cases A-E and H; 17 unrelated rows and hard negatives), written in session 34 by a helper
# who saw no code, rules or corpora, from a brief on tax and investment treaties, health, oceans,
# Latin American and Asian trade blocs, boundaries and water, the Arctic Council, Hong Kong's
# extradition treaties and Council of Europe conventions. First contact at 5a68631: B-cubed F1
# 0.624 (0.860 over alerting reports), P 1.000 R 0.454, 1.50 messages per event, no merge, alert
# recall 22 of 32 events. Then the International Health Regulations named, a treaty that "kicks
# in" or "rige para" a state, a treaty out of force ("außer Kraft getreten", "a cessé de
# s'appliquer", "no longer applies"), the Istanbul convention's German nicknames: 0.657 (0.882),
# 1.44, no merge. Then Mercosur stripping Venezuela of its rights, the High Seas Treaty and CPTPP
# by their descriptions, Palau as "Palaos", the UN where an instrument is deposited no actor, a
# date after a treaty's adoption dating the adoption only: 0.691 (0.926), 1.27, no merge. Then
# the Bern convention in four more languages, a subject that says it took the step ("The U.S.
# Treasury said it had sent Hungary formal notice") its actor: 0.701 (0.947), 1.19, no merge.
FRESH27_FLOOR = {"f1": 0.700, "alerting_f1": 0.945, "messages_per_event": 1.20, "merged": 0}


def test_the_twenty_seventh_blind_corpus_holds_its_level() -> None:
    """fresh27 keeps its B-cubed F1, messages per event and merges."""
    _holds(_scores_of(FRESH27), FRESH27_FLOOR)

"""The shipped rule pack on the labelled corpus: scores stay above the targets, dates stay right."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from monitor.rules.deadline import extract_deadline
from monitor.rules.engine import RuleSet
from monitor.rules.evaluate import (
    OTHER_DEVELOPMENTS,
    TAGS,
    LabelledItem,
    Report,
    evaluate,
    parse_labels,
)
from monitor.rules.loader import load_rule_set

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
SPLITS = ("dev", "heldout")
# Written after the pack was first frozen (see docs/rule-pack.md); scored like the others.
# fresh2 and fresh3 were written blind, by writers who never saw the rules or the rest of the
# corpus.
SCORED = (*SPLITS, "fresh", "fresh2", "fresh3")
OTHER_LANGUAGES = ("ru", "fr", "de", "es")

# The targets of issue 5 (on items the rules were not written against: the held-out split).
ALERTS_F1 = 0.95
TAG_F1 = 0.90
OTHER_LANGUAGES_F1 = 0.85


@cache
def _items(split: str) -> tuple[LabelledItem, ...]:
    path = CORPUS / f"{split}.jsonl"
    with path.open(encoding="utf-8") as handle:
        return tuple(parse_labels(handle, str(path)))


@cache
def _rules(directory: str) -> RuleSet:
    return load_rule_set([ROOT / directory])


@cache
def _report(split: str, directory: str = "rules") -> Report:
    return evaluate(_rules(directory).match, _items(split))


def test_corpus_is_large_balanced_and_multilingual() -> None:
    """At least 300 items, 40% untagged, 20 in each other language, ids unique across splits."""
    items = [item for split in SPLITS for item in _items(split)]
    assert len(items) >= 300
    assert sum(not item.tags for item in items) >= 0.4 * len(items)
    languages = Counter(item.lang for item in items)
    assert all(languages[lang] >= 20 for lang in OTHER_LANGUAGES), languages
    assert len({item.id for item in items}) == len(items)
    assert len({item.title.casefold() for item in items}) == len(items)
    for tag in TAGS:
        assert sum(tag in item.tags for item in items) >= 20, tag


@pytest.mark.parametrize("split", SCORED)
def test_pack_alerts_on_treaty_news_and_stays_quiet_otherwise(split: str) -> None:
    """F1 of "alerts at all" stays at or above the target."""
    assert _report(split).alerts.f1 >= ALERTS_F1


@pytest.mark.parametrize("split", SCORED)
def test_pack_tags_developments_correctly(split: str) -> None:
    """F1 averaged over the six tags stays at or above the target."""
    assert _report(split).tag_f1 >= TAG_F1


@pytest.mark.parametrize("split", SCORED)
@pytest.mark.parametrize("lang", OTHER_LANGUAGES)
def test_pack_works_in_the_other_languages(split: str, lang: str) -> None:
    """Each of ru, fr, de, es reaches the target F1 for alerts at all."""
    assert _report(split).only(lang).alerts.f1 >= OTHER_LANGUAGES_F1


@pytest.mark.parametrize("split", SCORED)
def test_pack_beats_the_plain_keyword_baseline(split: str) -> None:
    """The pack is clearly better than "treaty word AND keyword" on both decisions."""
    pack, baseline = _report(split), _report(split, "tests/corpus/baseline_rules")
    assert pack.alerts.f1 >= baseline.alerts.f1 + 0.05
    assert pack.tag_f1 >= baseline.tag_f1 + 0.10


@pytest.mark.parametrize("split", SCORED)
def test_deadline_matches_carry_the_labelled_due_date(split: str) -> None:
    """Every deadline-tagged item with a stated due date yields exactly that date."""
    dated = [item for item in _items(split) if item.deadline]
    assert dated
    for item in dated:
        found = extract_deadline(f"{item.title}\n{item.summary}", item.published)
        assert found == item.deadline, (item.id, item.title)


@pytest.mark.parametrize("split", SCORED)
def test_corpus_due_dates_belong_to_deadline_items(split: str) -> None:
    """A due date is only labelled on items tagged deadline (labels stay consistent)."""
    for item in _items(split):
        assert item.deadline is None or "deadline" in item.tags, item.id


def test_every_pack_rule_carries_one_of_the_six_tags_and_a_treaties_or_urgent_channel() -> None:
    """Each rule is tagged with a development kind and publishes to treaties or urgent."""
    rules = _rules("rules").rules
    assert rules
    for rule in rules:
        assert set(rule.tags) & {*TAGS, *OTHER_DEVELOPMENTS}, rule.id
        assert set(rule.channels) & {"treaties", "urgent"}, rule.id
        assert rule.examples_match, rule.id
        assert rule.examples_no_match, rule.id
    channels = {c for rule in rules for c in rule.channels}
    assert {"treaties", "urgent"} <= channels


def test_corpus_jsonl_lines_hold_exactly_the_documented_fields() -> None:
    """Every line has id, lang, title, summary, published, tags, deadline and nothing else."""
    fields = {"id", "lang", "title", "summary", "published", "tags", "deadline"}
    for split in SPLITS:
        for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
            assert set(json.loads(line)) == fields


@pytest.mark.parametrize("split", SCORED)
def test_everything_urgent_also_reaches_the_treaties_channel(split: str) -> None:
    """The urgent rules are a subset: no item alerts on urgent without alerting on treaties."""
    rule_set = _rules("rules")
    for item in _items(split):
        channels = {c for m in rule_set.match(item.to_entry()) for c in m.channels}
        assert "urgent" not in channels or "treaties" in channels, item.id


def test_pack_stays_quiet_on_adversarial_negatives() -> None:
    """Headlines built to share the pack's words (states, parliaments, verbs) raise no alert."""
    report = _report("adversarial")
    assert report.outcomes
    assert not report.false_alarms, [o.item.title for o in report.false_alarms]


# fresh4 (blind, the widest spread of treaty bodies) and fresh5 (blind, an ordinary year of a
# desk's news) are held at the level measured after their fixes: their alerts reach the target,
# their tag F1 does not (their labels count every "effective on" date and entry into force as a
# deadline, and background mentions as tags); see docs/rule-pack.md. Issue 14 makes those tags
# wrong by definition (only developments reported as happening now are tagged): its guards and
# secondary: lead cost these two sets 0.03 and 0.02 (0.85 -> 0.82, 0.86 -> 0.845), on items
# such as "Moscow had already suspended the treaty in 2007" tagged suspension.
MEASURED_TAG_F1 = {"fresh4": 0.83, "fresh5": 0.86}


@pytest.mark.parametrize("split", sorted(MEASURED_TAG_F1))
def test_pack_holds_its_measured_level_on_the_widest_blind_sets(split: str) -> None:
    """Alerts at target in every language, tags at their measured floor, above the baseline."""
    pack, baseline = _report(split), _report(split, "tests/corpus/baseline_rules")
    assert pack.alerts.f1 >= ALERTS_F1
    assert pack.tag_f1 >= MEASURED_TAG_F1[split]
    assert all(pack.only(lang).alerts.f1 >= OTHER_LANGUAGES_F1 for lang in OTHER_LANGUAGES)
    assert pack.alerts.f1 >= baseline.alerts.f1 + 0.05
    assert pack.tag_f1 >= baseline.tag_f1 + 0.10


# The strict blind sets label only developments reported as happening now (issue 14):
# background, denials, demands and hypotheticals get no tag. Each was scored once before any
# change made for it, then became a development set; each is held at the level reached on it.
# - fresh6 (285 items, 56% hard negatives, half not in English): first contact alerts F1 0.839,
#   tag macro F1 0.701; after issue 14's guards, lead and due dates 0.929 / 0.887; after the next
#   session's work (headline framing, talks as a setting, reversals, expulsions, rulings) 0.956 /
#   0.931.
# - fresh7 (297 items, 41% hard negatives, 46% not in English), written after that work: first
#   contact 0.832 / 0.777; then a development set: 0.956 / 0.936.
# - fresh8 (324 items, 42% untagged, 58% not in English), written after the fresh7 work: first
#   contact 0.812 / 0.746 (the landed pack: 0.781 / 0.708); then 0.943 / 0.899.
# - fresh9 (349 items, 40% untagged, 57% not in English, less-covered regions), written after the
#   fresh8 work: first contact 0.840 / 0.731 (the landed pack: 0.778 / 0.671); then 0.908 / 0.843,
#   and 0.940 / 0.888 after session 13's headline and background work.
# - fresh10 (362 items, 42% untagged, 63% not in English, about 100 treaties and bodies), written
#   after that: first contact 0.837 / 0.795 (the landed pack 8db2a07: 0.839 / 0.791); then
#   0.952 / 0.929.
# - fresh11 (362 items, 41% untagged, 63% not in English, half the positives in unusual wording),
#   written after the fresh10 work: first contact 0.872 / 0.776 (the landed pack 8db2a07: 0.847 /
#   0.739); then a development set: 0.923 / 0.850, and 0.955 / 0.917 after session 14.
# - fresh12 (367 items, 41% untagged, 61% not in English, 44% of positives in unusual wording),
#   written at the start of session 14: first contact 0.860 / 0.812 (the landed pack a0cb0ac:
#   0.857 / 0.807); then a development set: 0.942 / 0.921.
# - fresh13 (439 items, 41% untagged, 67% not in English, 47% of positives in unusual wording,
#   a wider domain: human-rights courts and treaty committees, EU law, acceptance declarations),
#   written in session 15: first contact 0.729 / 0.675 (the landed pack 6fe808e: 0.716 / 0.662);
#   then a development set: 0.844 / 0.839.
# - fresh14 (320 items, 42% untagged, 75% not in English, half the positives in unusual wording),
#   written late in session 15 with the settled conventions (halted talks are talks, court
#   findings are violations): first contact at 17770f7 0.751 / 0.692 (the landed pack 6fe808e:
#   0.695 / 0.631). Its writer reused many events of the other sets in new words (161 items
#   flagged in tests/corpus/blind/fresh14-exclude-overlap.txt); on the 159 items of new events
#   alone, first contact was 0.542 / 0.500. Then a development set: 0.793 / 0.728 (new events
#   alone 0.667 / 0.593).
# - fresh15 (280 items, 41% untagged, 80% not in English, 62% of positives in unusual wording,
#   events checked against every earlier set's titles and mostly from 1995-2014 and less-reported
#   treaties), written in session 16: first contact at bf4816a 0.642 / 0.583. Then a development
#   set (ECHR derogations, notice periods ending, joining in more words, more bodies, chemical
#   agents in war, entry into force by its effect, named days in German, Spanish and French):
#   0.777 / 0.714.
# - fresh16 (303 items, 41% untagged, 81% not in English, 74% of positives in unusual wording,
#   events checked against every earlier set's titles: 5,687 lines), written in session 17:
#   first contact at d3ef49a (the pack as at the session's start, d776023, the same) 0.637 /
#   0.624. Then a development set (joining the UN and more bodies, jurisdiction declarations
#   narrowed as revocation, a body's sanction in idioms, chemical weapons used, courts against
#   a state in other words, own membership paused): 0.768 / 0.705. The same work lifted fresh13
#   (0.861 / 0.840), fresh14 (0.817 / 0.726) and fresh15 (0.803 / 0.724). Then 15 items on a
#   treaty body or board in session on a state (a committee reviewing a state's report, the IAEA
#   board, PACE's committee of ministers on judgments), which its writer left untagged, were
#   labelled talks as fresh14-15 and the pack define it: first contact under those labels 0.641 /
#   0.643, now 0.766 / 0.723.
# - fresh17 (292 items, 41% untagged, 80% not in English, 90% of positives in unusual wording,
#   events checked against every earlier set's titles: 6,153 lines, so mostly from 1970-1999),
#   written in session 18: first contact at ab94d98 0.569 / 0.546 (P 0.841, R 0.430). Then a
#   development set (treaty committees examining a state as talks, optional-clause declarations
#   changed as revocation, Cold War bodies, leaving and joining in more words, talks on arms
#   control named without a treaty, poison gas by other names, signing headlines no
#   ratification): 0.825 / 0.766. The same work lifted fresh16 (0.824 / 0.770), fresh14 (0.830
#   / 0.746), fresh15 (0.813 / 0.734), fresh8 and fresh9.
# - fresh18 (308 items, 41% untagged, 80% not in English, 62% of positives in unusual wording,
#   events checked against every earlier set's titles: 6,622 lines, so 80% from 1945-1969),
#   written in session 19: first contact at 78632ce 0.607 / 0.486 (P 0.953, R 0.445). Then a
#   development set (background "since January" / "seit Januar", UNESCO, the ILO and the OAS by
#   more names, leaving the IMF and the UN, joining and entry into force in more words,
#   conferences opening, ending or adopting a text as talks, courts finding a treaty against the
#   constitution as revocation, credentials rejected as membership): 0.699 / 0.557. The same
#   session's work lifted fresh16 (0.824 / 0.770 -> 0.827 / 0.784) and fresh17 (0.825 / 0.766 ->
#   0.828 / 0.784).
# - fresh19 (302 items, 41% untagged, 79% not in English, 1985-2012, arms control under a tenth:
#   trade and investment, human rights courts, tax treaties, European treaties, regional bodies,
#   environment), written in session 20: first contact at 3e808c8 0.690 / 0.553 (P 0.951,
#   R 0.542). Then a development set (tax treaties and a "convenio", dates after "à compter du"
#   or "dejará de aplicarse", courts and panels condemning a state, talks suspended as talks,
#   entry into force in more words, a treaty or body that ends): 0.753 / 0.665. The same work
#   lifted fresh17 (0.828 / 0.784 -> 0.840 / 0.801), fresh16, fresh13 and fresh15. Session 21
#   relabelled 18 items to the earlier sets' definitions (an admission to an organisation is
#   also a ratification, 14; a body suspending a member is membership, 4): first contact
#   0.690 / 0.600 under them, 0.753 / 0.709 at the session's start.
# - fresh20 (353 items, 41% untagged, 80% not in English, 1990-2025, arms control 2%: regional
#   bodies of Latin America, Africa and Asia, trade and investment, rights courts, peace
#   accords), written in session 21: first contact at 29086aa 0.749 / 0.702 (P 0.872,
#   R 0.657; 0.673 on the writer's labels, before 11 items of a body suspending a member were
#   mapped to membership, as the corrected brief asked). Then a development set (applications
#   to join as membership, reservations and opt-outs withdrawn as revocation, trade cases won,
#   charters and memoranda ratified, bodies that pass into history): 0.797 / 0.724.
# - fresh21 (301 items, 43% untagged, 80% not in English, 1985-2025, arms control 4%: the
#   Pacific, Central Asia, the Gulf, Caribbean and Andean bodies, technical conventions of the
#   IMO, ICAO, WIPO, ILO and IAEA, fisheries, bilateral treaties), written in session 22 with
#   the conventions in its brief: first contact at 872ac3b 0.711 / 0.526 (P 0.835, R 0.620).
#   Then a development set (binding in more words, COMESA and other bodies, WIPO treaties by
#   name, notice periods named by their kind, denials of a breach): 0.759 / 0.592.
# - fresh22 (254 items, 41% untagged, 80% not in English, 1960-2022, arms control and security
#   treaties 51%: CWC, BWC, CTBT, NPT, IAEA safeguards, TPNW, Ottawa, cluster munitions, the
#   nuclear-weapon-free zones, CFE, Open Skies; summaries of 2-4 sentences with their background),
#   written in session 23: first contact at af7b6ea (and 44d8edb, the same) 0.813 / 0.660
#   (P 0.916, R 0.732); 0.813 / 0.658 once its twelve rejoining items were relabelled from
#   revocation to the pack's convention (ratification, membership; fresh22.md).
#   Then a development set (rejoining and restored memberships, APEC, UNCCD, the OSCE in Russian
#   cases, a state freezing its cooperation or aid as a suspension, nuclear work hidden from the
#   inspectors as a breach, "now binding", "rige ya", anniversaries in words): 0.901 / 0.782;
#   with "could leave" a supposition, "entend adhérer", "zu Gesprächen aufgerufen" and oil
#   companies' deals none: 0.914 / 0.794.
#   Floors of fresh19-21 raised to where these changes left them.
# - fresh23 (145 items, only 14% untagged, 75% not in English, 1960-2023, 70% from 2010 on;
#   brief asking for the weak tags: suspension, violation, deadline), written in session 24 by a
#   helper who saw no code or rules; a partial set (the helper stopped at 145 of 200 items, with
#   too few withdrawals, revocations and negatives: fresh23.md). First contact at 28879d0:
#   0.826 / 0.756 (P 1.000, R 0.704). Then OECD members named with the body and aid frozen
#   ("Geber frieren Hilfe ... ein"): 0.848 / 0.774.
# - fresh24 (116 items, 67% untagged, 83% not in English, ru and es a quarter each; withdrawals
#   22, revocations 8, no ratification, violation or membership item and one talks item, so its
#   tag macro F1 is no measure: a false tag of those kinds is an F1 of 0), written in session 24
#   to complement fresh23 with negatives: first contact at 143f4d1 alerts 0.754 (P 0.839, R
#   0.684), withdrawal 0.625 (P 1.000, R 0.455), tags 0.467. Then ("declara nulo", "da por
#   terminada", a state quitting the World Bank, "ratifica su compromiso" a reaffirmation,
#   "va rejoindre" and "son intention de" a step announced for later, rulings said to contradict
#   a constitution): 0.794 (P 0.900, R 0.711), withdrawal 0.706, tags 0.397 (the talks item lost
#   its tag with the headline's cue).
#   Floors of fresh19 and fresh21 raised to where the session's changes left them (0.784 /
#   0.741, 0.771 / 0.650).
# - fresh25 (184 items, 42% untagged, 74% not in English, 175 from 2000 on; all eight tags, each
#   E-code in each language; 86 items are reworded reports of events already in an earlier set,
#   marked known_event in fresh25-annotated.jsonl), written in session 25 by a helper who saw no
#   code or rules: first contact at bd4caa9 0.808 / 0.752 (P 0.879, R 0.748); the 98 new events
#   alone 0.789 / 0.689. Then sanctions suspended, resolutions filed and threats waved, a body's
#   step on a member told in the lead, reservations and declarations withdrawn, "больше не
#   связаны", "tritt aus der Internationalen Investitionsbank aus": 0.854 / 0.789 (P 0.924,
#   R 0.794). Five of its seven false alarms are treaty-body and IAEA Board sessions,
#   which the pack (and fresh11-fresh22) count as talks and this writer did not.
# - fresh26 (210 items, 40% untagged, 70% not in English, 39% before 2000; all eight tags, each
#   E-code in each language; 57 reworded reports of known events, marked known_event in
#   fresh26-annotated.jsonl), written in session 26 by a helper who saw no code or rules: first
#   contact at 4a5fdf0 0.803 / 0.686 (P 0.862, R 0.752); the 153 new events alone 0.792 /
#   0.735. Then the franc zone, the ECSC, "retrait des Etats-Unis de", accession talks no
#   accession, an entry into force told in the present with "N days after the deposit" no due
#   date, "erlischt", openness to dialogue no talks: 0.827 / 0.743 (P 0.875, R 0.784); then a
#   derogation ended and "lehnt ... ab": 0.834 / 0.757 (P 0.891, R 0.784); then the OIC by its
#   summits, a delegation refused its seat: 0.839 / 0.754 (P 0.892, R 0.792).
# - fresh27 (210 items, 43% untagged, 76% not in English, 85% from 2000 on; all eight tags, each
#   E-code in each language; 94 reports of known events retold from another angle), written in
#   session 27 by a helper who saw no code or rules: first contact at a0ae9f9 0.805 / 0.632
#   (P 0.873, R 0.748). Then a headline on inspections over a suspension, an accession
#   withdrawn or reversed as revocation, "terminating its relationship with WHO", "der Nato
#   beigetreten": 0.827 / 0.648 (P 0.877, R 0.782).
# - fresh28 (242 items, 40% untagged, 80% not in English, 79% from 2000 on; all eight tags, each
#   E-code in each language; 188 reports of known events retold from another angle, which the
#   exclusion list left little room to avoid), written in session 28 by a helper who saw no code
#   or rules, briefed that a tag is for what is reported now: first contact at 482311d
#   0.781 / 0.684 (P 0.901, R 0.690). Then descriptive names (the OAS, WHO, the AU and ECOWAS by
#   what they are), "Etats" unaccented, offers of talks, "vuelve a" + infinitive, "since ...
#   left" as background, revocations in Spanish and Russian, voting rights regained, a charter
#   entering into force, near within one sentence, "tourne le dos", "отказался от ...
#   договора": 0.841 / 0.757 (P 0.933, R 0.766).
# - fresh29 (230 items, 40% untagged, 78% not in English, 22% from 1950-1999; all eight tags,
#   each E-code in each language; 66 reports of known events (29%)), written in session 29 by a
#   helper who saw no code or rules, sent by its brief to the ground the sets left thin
#   (investment, tax and extradition treaties, water, ILO and WHO, regional bodies of Africa,
#   Asia, Latin America and the former Soviet Union, nuclear-weapon-free zones): first contact
#   at b2b1e4f 0.800 / 0.648 (P 0.885, R 0.730). Then an undated due date alone needs its words
#   in the headline (due_words), a member suspended from a body, expelled or losing its vote, an
#   admission at a summit no talks, a Russian signature withdrawn, the Law of the Sea Tribunal,
#   "toujours en suspens", a war ended: 0.806 / 0.687 (P 0.901, R 0.730).
# - fresh31 (228 items, 40% untagged, 77% not in English, 94% from 2016-2026; all eight tags,
#   each E-code in each language; 83 reports of known events (36%)), written in session 31 by a
#   helper who saw no code or rules, sent by its brief to the live decade's thin ground (Asian
#   security pacts, peace and border accords, the Northern Ireland protocol, the disarmament
#   exits of 2025, Rome Statute exits, the Sahel states, Latin America after 2016): first contact
#   at 647bc32 0.684 / 0.609 (P 0.816, R 0.588). Then an exit or a state's own suspension told by
#   the opening sentence under an oblique headline, the World Court's orders as findings, bodies
#   acting on members in three more idioms, declarations withdrawn, OPEC+ output no talks:
#   0.755 / 0.707 (P 0.867, R 0.669).
# - fresh32 (234 items, 41% untagged, 76% not in English, 88% from 2016-2026; all eight tags,
#   each E-code in each language; 68 reports of known events (29%)), written in session 32 by a
#   helper who saw no code or rules, sent by its brief to the post-Soviet treaties, tax and
#   investment treaties, North American trade, territory and bases, legal cooperation, rivers
#   and seas, the Middle East after 2020 and the 2025 US exits: first contact at 3276844 0.736 /
#   0.588 (P 0.880, R 0.633). Then enrichment past the nuclear deal's limits as a breach, votes
#   lost for arrears, the African Court declaration withdrawn, periods counted back, obituaries
#   naming what was negotiated, treaty bodies' conferences and boards, a treaty no longer in
#   force, talks walked out of, trade panels siding with a state: 0.825 / 0.683 (P 0.920,
#   R 0.748).
# - fresh33 (141 items, 34% untagged, 79% not in English, 90% from 2016-2026; 61 reports of known
#   events (43%)), written in session 33 by three helpers in turn who saw no code or rules, sent
#   by its brief to climate and environment treaties, human rights and refugee conventions,
#   transport, posts and space, organisations and their members, trade beyond North America and
#   Asian bilaterals. It is short of its brief (210 items, 40% untagged, 30% known events): the
#   writers found most events of that ground already in the corpora. First contact at adc4427
#   0.750 / 0.656 (P 0.896, R 0.645). Then bodies suspending members named in German and French,
#   the whaling commission's German and Russian forms, full members of BRICS, Schengen joined,
#   enrichment by its degree in Russian, "Viola" no verb, a period counted from a start or from a
#   deposit still to come: 0.805 / 0.720 (P 0.930, R 0.710).
# - fresh34 (113 items, 45% untagged, 77% not in English, 97% from 2016-2026; 35 reports of known
#   events (31%)), written in session 33 by a helper who saw no code or rules, sent to crime and
#   data conventions, sport, culture and science bodies (CERN, WADA), technical treaties, small
#   states' bodies, fisheries and transport agreements: first contact at 3291098 0.741 / 0.720
#   (P 0.870, R 0.645). Then CERN joined, the Maldives back in the Commonwealth, the Sahel juntas
#   leaving the Francophonie, WTO arbitrators siding with a party, OECD membership talks, frozen
#   fries and a share's trading halt no suspension: 0.821 / 0.835 (P 0.920, R 0.742).
# - fresh35 (97 items, 36% untagged, 70% not in English, 94% from 2016-2026; 67 reports of known
#   events (69%)), written in session 34 by a helper who saw no code or rules, sent to tax and
#   investment treaties, health and oceans, Latin American and Asian bodies, boundaries, water,
#   polar and extradition treaties and Council of Europe conventions. Short of its brief (120
#   items, 40% untagged, 30% known events). First contact at 5a68631 with the fresh27 grouping
#   mends (none drawn from fresh35): 0.825 / 0.741 (P 0.904, R 0.758). Then a German ratification
#   taken back ("Rücknahme der Teststopp-Ratifikation"), notice served with its period, a
#   ratification frozen further down no longer voiding one in the headline, treaty bodies'
#   standing and ad hoc committees and consultative meetings in session: 0.845 / 0.802
#   (P 0.907, R 0.790). Then a limit "topped", a state going to the ICJ in Spanish ("denunció
#   ante la Corte Internacional"), a Senate rejecting a ratification bill: 0.872 / 0.824
#   (P 0.927, R 0.823).
# Session 14 relabelled items to the newest sets' definitions: a body suspending, expelling or
# readmitting a member is membership, not suspension (31 items in all sets), a period counted
# from a notice not yet given is no deadline (10).
# Per tag and language in docs/rule-pack.md.
STRICT_FLOORS = {
    "fresh6": {"alerts": 0.95, "tags": 0.92},
    "fresh7": {"alerts": 0.95, "tags": 0.92},
    "fresh8": {"alerts": 0.95, "tags": 0.93},
    "fresh9": {"alerts": 0.95, "tags": 0.91},
    "fresh10": {"alerts": 0.96, "tags": 0.94},
    "fresh11": {"alerts": 0.95, "tags": 0.91},
    "fresh12": {"alerts": 0.94, "tags": 0.92},
    "fresh13": {"alerts": 0.86, "tags": 0.83},
    "fresh14": {"alerts": 0.82, "tags": 0.74},
    "fresh15": {"alerts": 0.81, "tags": 0.73},
    "fresh16": {"alerts": 0.83, "tags": 0.78},
    "fresh17": {"alerts": 0.83, "tags": 0.80},
    "fresh18": {"alerts": 0.70, "tags": 0.56},
    "fresh19": {"alerts": 0.78, "tags": 0.74},
    "fresh20": {"alerts": 0.81, "tags": 0.75},
    "fresh21": {"alerts": 0.77, "tags": 0.65},
    "fresh22": {"alerts": 0.91, "tags": 0.79},
    "fresh23": {"alerts": 0.84, "tags": 0.77},
    "fresh24": {"alerts": 0.79, "tags": 0.39},
    "fresh25": {"alerts": 0.85, "tags": 0.78},
    "fresh26": {"alerts": 0.83, "tags": 0.75},
    "fresh27": {"alerts": 0.82, "tags": 0.64},
    "fresh28": {"alerts": 0.83, "tags": 0.75},
    "fresh29": {"alerts": 0.80, "tags": 0.68},
    # session 30: first contact at 395baf3 alerts 0.711, tags 0.594 (docs/rule-pack.md)
    "fresh30": {"alerts": 0.79, "tags": 0.66},
    # session 31: first contact at 647bc32 alerts 0.684, tags 0.609 (docs/rule-pack.md)
    "fresh31": {"alerts": 0.75, "tags": 0.70},
    # session 32: first contact at 3276844 alerts 0.736, tags 0.588 (docs/rule-pack.md)
    "fresh32": {"alerts": 0.82, "tags": 0.68},
    # session 33: first contact at adc4427 alerts 0.750, tags 0.656 (docs/rule-pack.md)
    "fresh33": {"alerts": 0.80, "tags": 0.71},
    # session 33: first contact at 3291098 alerts 0.741, tags 0.720 (docs/rule-pack.md)
    "fresh34": {"alerts": 0.82, "tags": 0.83},
    # session 34: first contact at 5a68631 (+ fresh27 mends) alerts 0.825, tags 0.741
    "fresh35": {"alerts": 0.87, "tags": 0.82},
}


@pytest.mark.parametrize("split", sorted(STRICT_FLOORS))
def test_pack_holds_its_level_on_the_strict_blind_sets(split: str) -> None:
    """Alerts F1 and tag macro F1 never fall below the level reached on each strict set."""
    report = _report(split)
    assert report.alerts.f1 >= STRICT_FLOORS[split]["alerts"]
    assert report.tag_f1 >= STRICT_FLOORS[split]["tags"]

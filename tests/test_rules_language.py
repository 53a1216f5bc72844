"""The rule language: terms, logic, fields, scoping, case folding and spans (table-driven)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from monitor.rules import engine
from monitor.rules.throttle import story_fingerprint
from tests.rules_helpers import assert_matches_exactly, entry, one_rule, only

TERMS = [
    # (term, text, expected matched text or None)
    ("formal notification", "US hands over Formal Notification today", "Formal Notification"),
    ("formal notification", "a formal\n  notification", "formal\n  notification"),
    ("formal notification", "a formal-notification", "formal-notification"),
    ("formal notification", "informal notification", None),
    ("formal notification", "formal notifications", None),
    ("INF Treaty", "the inf treaty", "inf treaty"),
    ("Intermediate-Range Nuclear Forces Treaty", "intermediate range nuclear forces treaty", "intermediate range nuclear forces treaty"),  # noqa: E501
    ("withdraw*", "the WITHDRAWAL was announced", "WITHDRAWAL"),
    ("withdraw*", "they withdraw", "withdraw"),
    ("withdraw*", "rewithdrawal", None),
    ("pull* out of", "Washington pulled out of the deal", "pulled out of"),
    ("pull* out of", "pulling  out of", "pulling  out of"),
    ("pull* out of", "pullout of", None),
    ("[serves, served, serving] notice", "US served notice", "served notice"),
    ("[serves, served, serving] notice", "US serve notice", None),
    # Alternatives that are prefixes of each other match whichever is written first
    ("treaty [expire, expires, expired]", "the treaty expires soon", "treaty expires"),
    ("treaty [expire, expires, expired]", "the treaty expired", "treaty expired"),
    ("[formal, formally] [notify, notifies]", "formally notifies", "formally notifies"),
    ("[a, b, c, ab, abc] x", "abc x", "abc x"),
    ("within [30, 60] days", "comply within 60 days", "within 60 days"),
    ("within [30, 60] days", "comply within 90 days", None),
    ("re:\\d+-day ultimatum", "a 60-day ultimatum", "60-day ultimatum"),
    ("re:\\bNPT\\b", "the NPT review", "NPT"),
    ("re:\\bNPT\\b", "NPTX", None),
    ("re:ab+c", "xabbbc", None),  # regex terms also sit on word boundaries
    ("re:ab+c", "an abbbc here", "abbbc"),
    ("U.S.", "the U.S. said", "U.S."),
    ("Russia's withdrawal", "Russia\u2019s withdrawal", "Russia\u2019s withdrawal"),
    ("Russia\u2019s withdrawal", "RUSSIA'S WITHDRAWAL", "RUSSIA'S WITHDRAWAL"),
    # Non-Latin scripts and Unicode case folding
    ("выход из ДРСМД", "Россия заявила: ВЫХОД ИЗ ДРСМД неизбежен", "ВЫХОД ИЗ ДРСМД"),
    ("выход* из ДРСМД", "о выходе из ДРСМД", "выходе из ДРСМД"),
    ("ДРСМД", "ДРСМДх", None),
    ("[выход*, уход] из ДРСМД", "о ВЫХОДЕ из ДРСМД", "ВЫХОДЕ из ДРСМД"),
    ("[выход*, уход] из ДРСМД", "о выходецах из ДРСМД", "выходецах из ДРСМД"),
    ("[formal, official] notice", "an official\u00a0notice", "official\u00a0notice"),
    ("[formal, official] notice", "unofficial notice", None),
    # Four or more leading alternatives run in RE2: the same semantics
    ("[выход*, уход, отказ, разрыв] из ДРСМД", "о ВЫХОДЕ из ДРСМД", "ВЫХОДЕ из ДРСМД"),
    ("[formal, official, written, public] notice", "an official\u00a0notice", "official\u00a0notice"),  # noqa: E501
    ("[formal, official, written, public] notice", "unofficial notice", None),
    ("[formal, official, written, public] notice*", "public-notices", "public-notices"),
    ("retrait du traité", "Paris annonce le RETRAIT DU TRAITÉ", "RETRAIT DU TRAITÉ"),
    ("Austritt aus dem Vertrag", "Der AUSTRITT aus dem Vertrag", "AUSTRITT aus dem Vertrag"),
    ("retirada del tratado", "La Retirada del Tratado", "Retirada del Tratado"),
    ("Straße", "die STRASSE", "STRASSE"),
    ("strasse", "Die Straße ist", "Straße"),
    ("traité", "traités", None),
    # Marks writers leave off: accented capitals, and ё
    ("États-Unis", "les Etats-Unis quittent", "Etats-Unis"),
    ("États-Unis", "les ÉTATS-UNIS quittent", "ÉTATS-UNIS"),
    ("Etats-Unis", "les États-Unis quittent", None),
    ("coup d'État", "un coup d’Etat", "coup d’Etat"),
    ("[Union africaine, Unión Africana, África]", "la Union Africana", None),
    ("Unión de África", "la Unión de Africa", "Unión de Africa"),
    ("traité", "le traite", None),
    ("Österreich", "Oesterreich", None),
    ("Соединённые Штаты", "СОЕДИНЕННЫЕ ШТАТЫ", "СОЕДИНЕННЫЕ ШТАТЫ"),
    ("договорённост*", "о договоренностях", "договоренностях"),
    ("[вышел, ушёл, отказался, вернулся] из", "Иран ушел из", "ушел из"),
    ("ушел", "Иран ушёл", None),
    ("ΣΥΝΘΉΚΗ", "η συνθήκη", "συνθήκη"),
]  # fmt: skip


@pytest.mark.parametrize(("term", "text", "expected"), TERMS)
def test_a_term_matches_exactly_the_text_it_describes(
    tmp_path: Path, term: str, text: str, expected: str | None
) -> None:
    """Phrases, word forms, inflection lists and regexes match on Unicode word boundaries."""
    rule_set = one_rule(tmp_path, f"{_quote(term)}")
    assert_matches_exactly(rule_set, text, expected)


LOGIC = [
    # (match, title, matches?)
    ('{all: [treaty, withdraw*]}', "US to withdraw from treaty", True),
    ('{all: [treaty, withdraw*]}', "US to withdraw troops", False),
    ('{any: [treaty, accord]}', "the accord holds", True),
    ('{any: [treaty, accord]}', "nothing here", False),
    ('{all: [treaty], none: [cash withdrawal]}', "treaty and cash withdrawal", False),
    ('{all: [treaty], none: [cash withdrawal]}', "treaty withdrawal", True),
    ('{any: [treaty, accord], none: [peace]}', "peace accord", False),
    ('{none: [sports]}', "anything at all", True),
    ('{none: [sports]}', "sports news", False),
    ('{all: [{any: [INF, New START]}, {none: [{all: [film, review]}]}]}', "New START talks", True),
    ('{all: [{any: [INF, New START]}, {none: [{all: [film, review]}]}]}', "INF film review", False),
    ('{all: [{any: [INF, New START]}, {none: [{all: [film, review]}]}]}', "INF film", True),
    ('{near: {terms: [withdraw*, treaty], within: 3}}', "withdraw from the INF treaty", True),
    ('{near: {terms: [withdraw*, treaty], within: 2}}', "withdraw from the INF treaty", False),
    ('{near: {terms: [treaty, withdraw*], within: 3}}', "withdraw from the INF treaty", True),
    ('{near: {terms: [[accord, treaty], [exit, withdraw*]], within: 1}}', "treaty exit", True),
    ('{near: {terms: [a1, b2, c3], within: 3}}', "a1 x b2 y c3", True),
    ('{near: {terms: [a1, b2, c3], within: 2}}', "a1 x b2 y c3", False),
    ('{near: {terms: [a1, b2], within: 0}}', "b2 a1", True),
    # near stays within one sentence, however few the words across its end
    ('{near: {terms: [treaty, withdraw*], within: 2}}', "Obey the treaty. Withdraw now", False),
    ('{near: {terms: [treaty, withdraw*], within: 2}}', "The U.S. treaty: withdraw now", True),
    ('{same_sentence: [withdraw*, treaty]}', "They withdraw. The treaty holds.", False),
    ('{same_sentence: [withdraw*, treaty]}', "The U.S. will withdraw from the treaty.", True),
    ('{same_sentence: [withdraw*, treaty]}', "Talks end. US to withdraw from treaty!", True),
    ('{same_sentence: [saca, acuerdo]}', "Trump saca a EE.UU. del acuerdo nuclear", True),
    ('{same_sentence: [saca, acuerdo]}', "Trump lo saca. El acuerdo sigue vigente.", False),
    ('{same_sentence: [withdraw*, treaty]}', "The treaty, Sr. Ruiz said, we withdraw from", True),
    ('{same_sentence: [[exit, withdraw*], [treaty, accord]]}', "Exit from the accord.", True),
    ('{same_sentence: [[INF, INF Treaty], withdraw*]}', "INF Treaty: US withdraws", True),
    ('{near: {terms: [[INF, INF Treaty], withdraw*], within: 1}}', "INF Treaty to withdraw", True),
]  # fmt: skip


@pytest.mark.parametrize(("match", "title", "expected"), LOGIC)
def test_the_logic_of_a_rule_decides_whether_it_matches(
    tmp_path: Path, match: str, title: str, expected: bool
) -> None:
    """all / any / none nest freely; near counts words between hits; same_sentence splits."""
    rule_set = one_rule(tmp_path, match)
    assert (only(rule_set.match(entry(title=title))) is not None) is expected


def test_a_vocabulary_is_any_of_its_terms(tmp_path: Path) -> None:
    """``$name`` matches any term of the vocabulary and records which term matched."""
    rule_set = one_rule(
        tmp_path,
        "{all: [$treaties, withdraw*]}",
        vocabularies="treaties: [INF Treaty, New START, 're:\\bNPT\\b']\n",
    )
    match = only(rule_set.match(entry(title="Iran threatens to withdraw from the NPT")))
    assert match is not None
    assert [(s.text, s.term) for s in match.spans] == [
        ("withdraw", "withdraw*"),
        ("NPT", "re:\\bNPT\\b"),
    ]
    assert only(rule_set.match(entry(title="withdraw from nothing"))) is None


FIELDS = [
    # (fields line, entry kwargs, matches?)
    ("", {"summary": "treaty"}, True),
    ("", {"content": "treaty"}, True),
    ("", {"categories": ("treaty",)}, False),
    ("fields: [title]", {"summary": "treaty"}, False),
    ("fields: [title]", {"title": "treaty"}, True),
    ("fields: [categories]", {"categories": ("arms", "treaty")}, True),
    ("fields: [link]", {"link": "https://example.org/treaty/1"}, True),
    ("fields: [feed]", {"feed": "treaty"}, True),
]


@pytest.mark.parametrize(("fields", "kwargs", "expected"), FIELDS)
def test_a_rule_looks_only_at_its_fields(
    tmp_path: Path, fields: str, kwargs: dict[str, object], expected: bool
) -> None:
    """The default fields are title, summary and content; ``fields`` narrows or widens them."""
    rule_set = one_rule(tmp_path, "treaty", extra=fields + "\n" if fields else "")
    assert (only(rule_set.match(entry(**kwargs))) is not None) is expected  # type: ignore[arg-type]


def test_a_phrase_never_spans_two_fields(tmp_path: Path) -> None:
    """The end of the title and the start of the summary do not make a phrase."""
    rule_set = one_rule(tmp_path, "'INF treaty'")
    assert only(rule_set.match(entry(title="Talks on INF", summary="treaty text"))) is None


SCOPES = [
    # (scoping lines, feed, feed tags, matches?)
    ("feeds: [tass]", "tass", (), True),
    ("feeds: [tass]", "reuters", (), False),
    ("feed_tags: [wire]", "reuters", ("wire", "en"), True),
    ("feed_tags: [wire]", "blog", ("en",), False),
    ("feeds: [tass]\nfeed_tags: [wire]", "tass", ("ru",), False),
]


@pytest.mark.parametrize(("scope", "feed", "tags", "expected"), SCOPES)
def test_a_rule_can_be_scoped_to_feeds_and_feed_tags(
    tmp_path: Path, scope: str, feed: str, tags: tuple[str, ...], expected: bool
) -> None:
    """Feed names and feed tags restrict which entries a rule sees."""
    rule_set = one_rule(tmp_path, "treaty", extra=scope + "\n")
    matched = only(rule_set.match(entry(title="treaty", feed=feed, feed_tags=tags)))
    assert (matched is not None) is expected


def test_spans_name_field_offsets_text_and_term(tmp_path: Path) -> None:
    """Each span says where (field, start, end), what (text) and why (the term)."""
    rule_set = one_rule(tmp_path, "{all: [INF Treaty, withdraw*], none: [cash]}")
    match = only(rule_set.match(entry(title="INF Treaty", summary="The US will withdraw.")))
    assert match is not None
    assert [(s.field, s.start, s.end, s.text, s.term) for s in match.spans] == [
        ("title", 0, 10, "INF Treaty", "INF Treaty"),
        ("summary", 12, 20, "withdraw", "withdraw*"),
    ]


def test_a_span_inside_a_longer_one_is_not_repeated(tmp_path: Path) -> None:
    """ "Treaty" inside "INF Treaty" is shown once, as the longer span."""
    rule_set = one_rule(tmp_path, "{any: [treaty, INF Treaty]}")
    match = only(rule_set.match(entry(title="The INF Treaty")))
    assert match is not None
    assert [s.text for s in match.spans] == ["INF Treaty"]


def test_spans_map_back_to_the_original_text_when_case_folding_lengthens_it(
    tmp_path: Path,
) -> None:
    """Folding "ß" to "ss" shifts offsets; spans still point into the original text."""
    rule_set = one_rule(tmp_path, "vertrag")
    title = "Große Straße: der Vertrag"
    match = only(rule_set.match(entry(title=title)))
    assert match is not None
    span = match.spans[0]
    assert (span.start, span.end, title[span.start : span.end]) == (18, 25, "Vertrag")


def test_a_match_carries_the_rule_and_its_throttle(tmp_path: Path) -> None:
    """Id, title, severity, channels, tags, realert window and key travel with the match."""
    rule_set = one_rule(
        tmp_path, "treaty", extra="tags: [a, b]\nrealert: {window: 6h, key: link}\n"
    )
    match = only(rule_set.match(entry(title="treaty", link="https://example.org/x")))
    assert match is not None
    assert (match.rule_id, match.rule_title, match.severity.label) == ("r", "Test rule", "high")
    assert (match.channels, match.tags, match.realert_seconds) == (("test",), ("a", "b"), 21600)
    assert match.throttle_key.startswith("link:")
    other = only(rule_set.match(entry(title="treaty again", link="https://example.org/x")))
    assert other is not None
    assert other.throttle_key == match.throttle_key


def test_the_story_key_is_the_same_for_reworded_headlines() -> None:
    """Word order, case, punctuation and filler words do not change the story fingerprint."""
    assert story_fingerprint("US quits INF treaty") == story_fingerprint("INF Treaty: US Quits")
    assert story_fingerprint("US quits INF treaty") != story_fingerprint("Russia quits INF treaty")


def test_a_rule_without_realert_defaults_to_the_story_key_and_no_window(tmp_path: Path) -> None:
    """No realert: window 0, key computed from the story."""
    match = only(one_rule(tmp_path, "treaty").match(entry(title="treaty")))
    assert match is not None
    assert match.realert_seconds == 0
    assert match.throttle_key == "story:" + story_fingerprint("treaty")


def test_rules_tagged_deadline_carry_the_extracted_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """For ``deadline`` rules the match holds what ``extract_deadline`` finds in the text."""
    seen: list[str] = []

    def fake_extract(text: str, published: object) -> date:
        seen.append(text)
        return date(2019, 2, 2)

    monkeypatch.setattr(engine, "extract_deadline", fake_extract)
    rule_set = one_rule(tmp_path, "ultimatum", extra="tags: [deadline]\n")
    match = only(rule_set.match(entry(title="60-day ultimatum", summary="comply by then")))
    assert match is not None
    assert match.deadline == date(2019, 2, 2)
    assert seen == ["60-day ultimatum\ncomply by then\n"]


def test_disabled_rules_never_match(tmp_path: Path) -> None:
    """``enabled: false`` keeps the rule in the set but out of matching."""
    rule_set = one_rule(tmp_path, "treaty", extra="enabled: false\n")
    assert rule_set.match(entry(title="treaty")) == []
    assert [r.id for r in rule_set.rules] == ["r"]


def test_a_catastrophic_regex_over_100_kb_completes(tmp_path: Path) -> None:
    """``(a+)+$`` runs in a linear-time engine, so 100 KB of "a" cannot stall matching."""
    rule_set = one_rule(tmp_path, "'re:(a+)+$'")
    assert rule_set.match(entry(content="a" * 100_000 + "!")) == []
    match = only(rule_set.match(entry(content="b " + "a" * 100_000)))
    assert match is not None
    assert match.spans[0].end - match.spans[0].start == 100_000


def _quote(term: str) -> str:
    return "'" + term.replace("'", "''") + "'"


@pytest.mark.parametrize(
    "match",
    ["{near: {terms: [treaty, withdraw*], within: 5}}", "{same_sentence: [treaty, withdraw*]}"],
)
def test_thousands_of_repeated_terms_do_not_make_proximity_quadratic(
    tmp_path: Path, match: str
) -> None:
    """Proximity over 20,000 hits of one term finds the one close pair (sliding window)."""
    rule_set = one_rule(tmp_path, match)
    tail = ". Then many words lie between us and a withdrawal, far from any treaty"
    content = "treaty " * 20_000 + tail
    found = only(rule_set.match(entry(content=content)))
    assert found is not None
    assert [s.text for s in found.spans] == ["withdrawal", "treaty"]
    assert found.spans[1].start == len(content) - len("treaty")


def test_a_match_keeps_a_few_spans_per_term(tmp_path: Path) -> None:
    """A term repeated thousands of times yields at most five spans, the first ones."""
    rule_set = one_rule(tmp_path, "{all: [treaty, accord]}")
    found = only(rule_set.match(entry(summary="accord " + "treaty " * 5000)))
    assert found is not None
    assert [s.text for s in found.spans] == ["accord"] + ["treaty"] * 5
    assert found.spans[-1].start == len("accord ") + 4 * len("treaty ")

"""Phrases matched only where the scan saw them begin find what a search of the whole text finds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import re2

from monitor.rules import terms as term_module
from monitor.rules.entryscan import EntryScan
from monitor.rules.terms import RE2_SEPARATOR_TWIN, TermError, compile_term
from tests.rules_helpers import entry, one_rule

CASES = [
    # (term, title, summary, matched texts in order: title's, then summary's)
    ("выход из ДРСМД", "Россия: выход из ДРСМД", "", ["выход из ДРСМД"]),
    # a Cyrillic phrase inside longer words does not match (Unicode boundaries)
    ("выход из ДРСМД", "вывыход из ДРСМД", "выход из ДРСМДа", []),
    ("[выход*, уход, отказ, разрыв] из ДРСМД", "о ВЫХОДЕ из ДРСМД и УХОД из ДРСМД", "", ["ВЫХОДЕ из ДРСМД", "УХОД из ДРСМД"]),  # noqa: E501
    ("[выход*, уход, отказ, разрыв] из ДРСМД", "ОТКАЗЫ из ДРСМД", "", []),
    # case folding that lengthens the text (ß → ss, İ → i̇) moves every later offset
    ("[grosse, große, gross, groß] strasse", "Die GROSSE Straße, İstanbul", "İİ große STRASSE", ["GROSSE Straße", "große STRASSE"]),  # noqa: E501
    ("[istanbul, ankara, izmir, bursa] accord", "İstanbul accord and ISTANBUL ACCORD", "", ["ISTANBUL ACCORD"]),  # noqa: E501
    ("[i̇stanbul, ankara, izmir, bursa] accord", "İstanbul accord", "", ["İstanbul accord"]),
    # hits at both ends of a field, and none across fields
    ("formal notice", "formal notice", "formal notice", ["formal notice", "formal notice"]),
    ("formal notice", "a formal", "notice", []),
    # overlapping beginnings: the search resumes after each match, as finditer does
    ("treaty treaty", "treaty treaty treaty treaty", "", ["treaty treaty", "treaty treaty"]),
    ("[treaty, pact, deal, accord] treaty", "treaty treaty treaty", "", ["treaty treaty"]),
    # the longer alternative listed first wins even where its boundary then fails
    ("[withdrawal, withdraw*] notice", "withdrawals notice", "", ["withdrawals notice"]),
    # a match begun inside a word ("anasa exit") does not hide the one after it
    ("[nasa exit, exit now]", "the anasa exit now", "", ["exit now"]),
    ("[nasa exit, exit now]", "Ästhetik: ANASA EXIT NOW", "", ["EXIT NOW"]),
    # separators RE2 and Python's re disagree on (vertical tab, U+001C): same as the reference
    ("[formal, official, written, public] notice", "formal\x0bnotice", "public\x1cnotice", []),
    ("[formal, official, written, public] notice", "formal\u2003notice", "", ["formal\u2003notice"]),  # noqa: E501
    ("formal notice", "formal\x0bnotice", "formal\x1cnotice", ["formal\x0bnotice", "formal\x1cnotice"]),  # noqa: E501
    # apostrophes: any of the three, and a word form after one
    ("[russia's, moscow's, kremlin's, putin's] exit*", "Russia’s exits and PUTIN'S EXIT", "", ["Russia’s exits", "PUTIN'S EXIT"]),  # noqa: E501
    # a lone surrogate makes the text invalid UTF-8: the whole-text search takes over
    ("official notice", "official notice \ud800 official notice", "", ["official notice", "official notice"]),  # noqa: E501
]  # fmt: skip


def _quoted(term: str) -> str:
    return "'" + term.replace("'", "''") + "'"


@pytest.mark.parametrize(("term", "title", "summary", "expected"), CASES)
def test_a_phrase_found_from_its_beginnings_matches_the_whole_text_search(
    tmp_path: Path, term: str, title: str, summary: str, expected: list[str]
) -> None:
    """The spans found by anchored matches are the reference path's, and the expected text."""
    rule_set = one_rule(tmp_path, _quoted(term))
    assert rule_set.plan.term_starts  # the phrase is found from its beginnings
    item = entry(title=title, summary=summary)
    fast = rule_set.match(item)
    assert fast == rule_set.match(item, reference=True)
    spans = [span for match in fast for span in match.spans]
    assert [span.text for span in spans] == expected
    for span in spans:
        text = title if span.field == "title" else summary
        assert text[span.start : span.end] == span.text


@pytest.mark.parametrize(
    ("title", "expected"),
    [("the proof exit now", ["exit now"]), ("Ästhetik: PROOF EXIT NOW", ["EXIT NOW"])],
)
def test_a_match_begun_inside_a_word_hides_nothing_from_a_search_by_re2(
    tmp_path: Path, title: str, expected: list[str]
) -> None:
    """A phrase searched by RE2 over the whole text (its start "of" too short to be scanned
    for): "proof exit" fails the boundary check, and "exit now" after it is found."""
    rule_set = one_rule(tmp_path, _quoted("[of exit, exit now, quit now, leave now]"))
    assert not rule_set.plan.term_starts
    item = entry(title=title)
    fast = rule_set.match(item)
    assert fast == rule_set.match(item, reference=True)
    assert [span.text for match in fast for span in match.spans] == expected


def test_the_python_twin_of_the_re2_separator_matches_the_same_characters() -> None:
    """Over every code point, RE2's separator class and its Python spelling agree."""
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    ours = re.compile(RE2_SEPARATOR_TWIN.removesuffix("+"))
    theirs = re2.compile(r"[\s\p{Z}\x{85}\-\x{2010}-\x{2014}]")
    assert {m.group() for m in ours.finditer(everything)} == {
        m.group() for m in theirs.finditer(everything)
    }


def test_phrases_with_a_short_first_word_are_searched_for_in_the_whole_text() -> None:
    """Two-letter first words occur everywhere: such phrases are searched for in the text."""
    assert compile_term("[to, will] leave").starts == ()
    assert compile_term("[serves, served] notice").starts == ("serves", "served")
    assert compile_term("Russia's withdrawal").starts == ("russia",)
    twin = compile_term("[formal, official, written, public] notice").twin
    assert twin is not None
    assert twin.get().match("public notice") is not None
    assert compile_term("[formal, official, written, public] notice*").twin is None


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("La OEA excluyó a Honduras", ["excluyó"]),  # "a exclu" begins inside "OEA"
        ("La ÓEA excluye a Honduras", ["excluye"]),  # the same, in text that is not ASCII
        ("Le bloc a exclu le Mali", ["a exclu"]),
    ],
)
def test_a_match_inside_a_word_does_not_hide_the_next_one_in_a_whole_text_search(
    tmp_path: Path, title: str, expected: list[str]
) -> None:
    """A phrase with a short first word is searched for in the whole text: a match that fails
    the word-boundary check is tried again one character on, not after its end."""
    rule_set = one_rule(tmp_path, _quoted("[a exclu, ont exclu, excluye, excluyó]"))
    item = entry(title=title, summary="")
    fast = rule_set.match(item)
    assert fast == rule_set.match(item, reference=True)
    assert [span.text for match in fast for span in match.spans] == expected


def test_a_regex_term_bounded_by_b_matches_beside_cyrillic_and_accented_letters() -> None:
    """``\\b`` at a regex term's ends is left to the Unicode boundary check (the engines' own
    ``\\b`` is ASCII-only and would never hold beside "д" or "ó"); words inside words still miss."""
    term = compile_term("re:\\bдо \\d{1,2} февраля\\b")
    assert list(term.spans("продлён до 5 февраля 2026 года")) == [(8, 20)]
    assert list(term.spans("подо 5 февраля")) == []
    accented = compile_term("re:\\b(?:expulsó|retiró)\\b")
    assert list(accented.spans("rusia se retiró del tratado")) == [(9, 15)]
    assert list(accented.spans("retiróx")) == []


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        # the shorter alternative listed first no longer hides the longer one
        ("re:queda fuera (?:de|del)", "el país queda fuera del pacto", ["queda fuera del"]),
        ("re:(?:de|del)", "delx del de", ["del", "de"]),
        ("re:o (?:a|ab)", "o abc o ab. o a", ["o ab", "o a"]),
        # the character after a match is not part of it, nor hidden from the next match
        ("re:\\(\\d+\\)", "(1)(2) (3)", ["(1)", "(2)", "(3)"]),
        # a match ending on a non-word character still holds before a letter
        ("re:art\\.", "art.5 y art. 6", ["art.", "art."]),
        ("re:(?:до|к) \\d{1,2} (?:мая|май)", "к 9 маю, до 9 мая", ["до 9 мая"]),
    ],
)
def test_a_regex_term_prefers_the_alternative_that_ends_on_a_word_boundary(
    tmp_path: Path, term: str, text: str, expected: list[str]
) -> None:
    """Leftmost-first alternation took "de" in "del pacto", which then failed the boundary
    check: a regex term whose shorter alternative came first missed every longer one. The
    pattern now prefers a match ending on a boundary, on every path."""
    assert [text[a:b] for a, b in compile_term(term).spans(text)] == expected
    rule_set = one_rule(tmp_path, _quoted(term))
    item = entry(title=text, summary=text.upper())
    fast = rule_set.match(item)
    assert fast == rule_set.match(item, reference=True)
    found = {span.text for match in fast for span in match.spans}
    assert found <= set(expected) | {e.upper() for e in expected}
    assert expected[0] in found


def test_a_regex_term_may_not_name_the_group_the_boundary_uses() -> None:
    with pytest.raises(TermError, match="reserved"):
        compile_term("re:(?P<term_end>x)y")
    assert list(compile_term("re:(?P<who>rus|russ)ia").spans("russia")) == [(0, 6)]


def test_a_regex_term_with_sharp_s_matches_the_folded_text(tmp_path: Path) -> None:
    """Text is case-folded ("schließt" is read as "schliesst"), so a regex naming "ß" is folded
    too; before, "re:schließt ... aus" never matched anything."""
    rule_set = one_rule(tmp_path, '"re:schließt (?:[^ ]+ ){1,3}aus"')
    assert rule_set.match(entry(title="Europarat schließt Russland aus"))
    assert rule_set.match(entry(title="EUROPARAT SCHLIESST RUSSLAND AUS"))
    assert not rule_set.match(entry(title="Europarat tagt in Straßburg"))


@pytest.mark.parametrize("reference", [False, True])
def test_a_regex_term_with_word_gaps_is_found_in_a_field_the_next_field_follows(
    tmp_path: Path, reference: bool
) -> None:
    """A gap of words ("(?:[^ ]+ ){0,3}") matched greedily must not run from the title into the
    summary: that match would span two fields, be dropped, and hide the title's own match (the
    fields were joined by "\\n\\x00\\n", which a run of non-spaces crosses)."""
    rule_set = one_rule(tmp_path, '"re:karlsruhe (?:[^ ]+ ){0,3}(?:verhandelt|prüft)"')
    title_only = entry(title="CETA: Karlsruhe prüft weiter")
    followed = entry(
        title="CETA: Karlsruhe prüft weiter",
        summary="Das Bundesverfassungsgericht verhandelt über das Abkommen.",
    )
    assert rule_set.match(title_only, reference=reference)
    matches = rule_set.match(followed, reference=reference)
    assert [(s.field, s.text) for m in matches for s in m.spans] == [("title", "Karlsruhe prüft")]
    # and no match is made of the end of one field and the start of the next
    across = entry(title="Gericht in Karlsruhe", summary="prüft das Abkommen")
    assert not rule_set.match(across, reference=reference)


def test_a_vocabulary_named_inside_a_term_is_an_error_not_text() -> None:
    """``"[$a, $b]"`` would look for the words "$a" and "$b"; the error says what to write."""
    with pytest.raises(TermError, match=r"any: \[\$a, \$b\]"):
        compile_term("[$expulsions, $staying_in]")
    assert list(compile_term("[$5 billion, five billion]").spans("a $5 billion deal"))


def test_terms_a_seen_pattern_announces_are_present_only_with_their_pieces(
    tmp_path: Path,
) -> None:
    """A pattern's terms are split by whether they have pieces to check: those without are
    present once it is seen, the others only when their pieces were seen too, however many
    seen patterns announce them."""
    rule_set = one_rule(
        tmp_path,
        '{any: ["Ottawa Convention", "treaty", "[withdraws, quits] from the Ottawa Convention"]}',
    )
    plan = rule_set.plan
    for pattern, terms in plan.pattern_terms.items():
        plain = plan.pattern_plain.get(pattern, ())
        pieced = plan.pattern_pieced.get(pattern, ())
        assert sorted([*plain, *(t for t, _, _ in pieced)]) == sorted(terms)
        assert all(t not in plan.term_pieces for t in plain)
        assert all(plan.term_pieces[t] == (n, c) for t, n, c in pieced)
    sources = {term.source: index for index, term in enumerate(rule_set.terms)}
    phrase = sources["[withdraws, quits] from the Ottawa Convention"]
    assert any(phrase in (t for t, _, _ in p) for p in plan.pattern_pieced.values())

    def present(title: str) -> set[str]:
        scan = EntryScan(plan, rule_set.terms, [entry(title).field_text(n) for n in plan.fields])
        return {rule_set.terms[t].source for t in scan.present}

    assert present("Kyiv quits the Ottawa Convention") == {"Ottawa Convention"}
    assert present("Kyiv quits from the Ottawa Convention treaty") == {
        "Ottawa Convention",
        "treaty",
        "[withdraws, quits] from the Ottawa Convention",
    }
    match = rule_set.match(entry("Kyiv quits from the Ottawa Convention"))
    assert [s.text for s in match[0].spans] == ["quits from the Ottawa Convention"]


def test_a_phrase_too_large_for_re2_is_matched_by_python_re_instead() -> None:
    """RE2 refuses a program over its memory budget; the phrase still matches (it used to stop
    the load with RE2's own error)."""
    words = [
        f"{a}{b}{c}zz{d}*"
        for a in "abcdefghij"
        for b in "klmnopqrst"
        for c in "uvwxy"
        for d in "aeiou"
    ]
    term = compile_term("[" + ", ".join(words) + "] [treaty*, treaties, pact, accord] withdrawal")
    assert isinstance(term.finder, re.Pattern)  # RE2 said no
    assert list(term.spans("the bluzzabcd treaties withdrawal")) == [(4, 33)]
    assert list(term.spans("the bluzzabcd treaties")) == []


def test_a_phrase_builds_its_finder_only_when_first_searched() -> None:
    """Compiling a pack's ~3,000 phrases no longer spells and compiles every pattern up front."""
    term = compile_term("[withdraw*, exit, quit, leave] from the treaty")
    assert term.lazy_finder._built is term_module._UNBUILT
    assert list(term.spans("russia will withdraw from the treaty")) == [(12, 36)]
    assert term.lazy_finder._built is not term_module._UNBUILT
    assert term.finder is term.finder  # built once


@pytest.mark.parametrize(
    ("term", "starts"),
    [
        # each way the pattern can open, up to a rare-enough length
        (
            "re:\\b(?:steigt|steigen|stieg|stiegen) (?:[^ ]+ ){1,6}aus\\b",
            ("steige", "steigt ", "stieg ", "stiege"),
        ),
        ("re:(?:retirar|sacar)(?:á|ía|án)? a ", ("retira", "sacar ", "sacará", "sacarí")),
        # an optional part gives both ways; a longer beginning than another adds nothing
        ("re:ab(?:c|d)?x?yz", ("abcxyz", "abcyz", "abdxyz", "abdyz", "abxyz", "abyz")),
        ("re:[Ss]tra(ß|ss)e", ("strass",)),
        # a letter of either case stands for the folded letter
        ("re:NATO (?:summit|leaders)", ("nato l", "nato s")),
        # a short beginning, a class, a repeat or an anchor first: searched for over the text
        ("re:\\b(?:us|usa|nato)\\b", ()),
        ("re:ab\\w+ treaty", ()),
        ("re:^abc", ()),
        ("re:\\d+ days", ()),
    ],
)
def test_a_regex_term_knows_the_literals_every_match_begins_with(
    term: str, starts: tuple[str, ...]
) -> None:
    assert compile_term(term).starts == starts


@pytest.mark.parametrize(
    ("term", "text", "expected"),
    [
        (
            "re:\\b(?:steigt|stieg) (?:[^ ]+ ){1,6}aus\\b",
            "Gestieg Wien aus. Steigt Berlin aus",
            ["Steigt Berlin aus"],
        ),
        # a match off the word boundaries is asked again for one that ends on a boundary
        (
            "re:queda fuera (?:de|del)",
            "queda fuera del pacto; QUEDA FUERA DE",
            ["queda fuera del", "QUEDA FUERA DE"],
        ),
        # folding that lengthens the text moves every later offset
        (
            "re:(?:retirar|sacar)(?:á|ía)? a [a-záéíóúñ]+",
            "Straße: SACARÁ A Rusia; retirar a Irán",
            ["SACARÁ A Rusia", "retirar a Irán"],
        ),
        ("re:(?:retirar|sacar)(?:á|ía)? a \\w+", "resacar a x", []),
    ],
)
def test_a_regex_term_found_from_its_beginnings_matches_the_whole_text_search(
    tmp_path: Path, term: str, text: str, expected: list[str]
) -> None:
    """Anchored where the scan saw a beginning, a regex term finds the reference path's spans."""
    rule_set = one_rule(tmp_path, _quoted(term))
    assert rule_set.plan.term_starts  # found from its beginnings
    item = entry(title=text, summary="")
    fast = rule_set.match(item)
    assert fast == rule_set.match(item, reference=True)
    assert [span.text for match in fast for span in match.spans] == expected


def test_a_regex_search_counts_characters_of_every_utf8_width() -> None:
    """RE2 reports bytes; the spans are characters, whatever the width of those before them
    (one byte, two for "ä" and "д", three for "€", four for "😀"), and a match failing the
    boundary check is tried again one whole character on."""
    term = compile_term("re:(?:de|del) (?:pacto|пакт)")
    text = "😀del pacto €de pacto ädel pacto дde пакт 😀de пакт"
    spans = list(term.spans(text))
    assert [text[a:b] for a, b in spans] == ["del pacto", "de pacto", "de пакт"]
    assert spans == [(1, 10), (12, 20), (42, 49)]

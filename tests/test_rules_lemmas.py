"""Lemma terms: ``lemma:ru:выйти`` and ``{ru:выход} из ...`` match every inflected form."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.rules import morphology
from monitor.rules.lemmacache import LemmaCache
from monitor.rules.loader import RuleSetError, load_rule_set
from monitor.rules.terms import TermError, compile_term
from tests.rules_helpers import assert_matches_exactly, entry, one_rule, only, write

MATCHES = [
    # (term, text, expected matched text or None); no form below is written in the term
    ("lemma:ru:денонсировать", "Москва денонсирует договор", "денонсирует"),
    ("lemma:ru:денонсировать", "Рада денонсировала соглашение", "денонсировала"),
    ("lemma:ru:денонсировать", "денонсированный договор", "денонсированный"),  # participle
    ("lemma:ru:денонсировать", "денонсировав договор", "денонсировав"),  # gerund
    # the noun is a lemma of its own: a verb lemma does not bring it
    ("lemma:ru:денонсировать", "закон о денонсировании договора", None),
    ("lemma:ru:денонсирование", "закон о денонсировании договора", "денонсировании"),
    ("lemma:ru:выйти", "Россия ВЫШЛА из договора", "ВЫШЛА"),
    ("lemma:ru:выйти", "США выйдут из соглашения", "выйдут"),
    ("lemma:ru:выйти", "вышедшая из ДРСМД страна", "вышедшая"),
    ("lemma:ru:выйти", "Россия выходит из договора", None),  # выходить: another lexeme
    ("lemma:ru:отчёт", "в отчете МАГАТЭ", "отчете"),  # ё also written е
    ("lemma:ru:отчет", "в отчёте МАГАТЭ", "отчёте"),
    ("{ru:выход} из [договора, ДРСМД]", "о выходе из ДРСМД", "выходе из ДРСМД"),
    ("{ru:выход} из [договора, ДРСМД]", "выходом из договора", "выходом из договора"),
    ("{ru:выход} из [договора, ДРСМД]", "выходец из договора", None),
    ("{ru:выход, выйти} из {ru:договор}", "вышли из договоров", "вышли из договоров"),
    ("lemma:de:austreten", "Litauen ist ausgetreten", "ausgetreten"),
    ("lemma:de:austreten", "beschließt auszutreten", "auszutreten"),
    ("{de:Austritt} aus", "des Austritts aus dem Vertrag", "Austritts aus"),
    ("lemma:fr:quitter", "Le Mali quittera la Cédéao", "quittera"),
    ("lemma:es:abandonar", "Venezuela abandonó la OEA", "abandonó"),
    ("se {fr:retirer} de", "les États-Unis se retireront de l'accord", "se retireront de"),
    ("lemma:en:withdraw", "the US withdrew", "withdrew"),
]  # fmt: skip


@pytest.mark.parametrize(("term", "text", "expected"), MATCHES)
def test_a_lemma_term_matches_the_forms_of_its_word(
    tmp_path: Path, term: str, text: str, expected: str | None
) -> None:
    """A lemma expands to its lexeme's forms, written in any case, on word boundaries."""
    rule_set = one_rule(tmp_path, f'"{term}"')
    assert_matches_exactly(rule_set, text, expected)


def test_a_lemma_term_is_an_inflection_list_in_the_one_scan() -> None:
    """The expansion feeds the prefilter as literals, like ``[a, b, c]``: no per-entry work."""
    forms = morphology.expand("ru", "выйти")
    term = compile_term("lemma:ru:выйти")
    listed = compile_term("[" + ", ".join(forms) + "]")
    assert term.regex is None
    assert set(term.literals) == set(listed.literals)
    assert term.source == "lemma:ru:выйти"
    # Every form holds a literal; a form that holds a shorter one ("выйдут": "выйду") adds none.
    assert all(any(literal in form for literal in term.literals) for form in forms)
    assert {"вышла", "выйду", "выйти"} <= set(term.literals)
    assert "выйдут" not in term.literals


@pytest.mark.parametrize(
    ("term", "literal"),
    [("{ru:выход, выйти} из", "из"), ("не {ru:выходить, выйти}", "не"), ("se {fr:retirer}", "se")],
)
def test_a_lemma_filters_the_scan_rather_than_a_two_letter_word(term: str, literal: str) -> None:
    """The scan looks for the lemma's forms, not for a word found in nearly every text."""
    assert literal not in compile_term(term).literals


BAD = [
    ("lemma:ru:выхдо", "pymorphy3 does not know 'выхдо'"),
    ("lemma:ru:вышел", "'вышел' is not a dictionary form for pymorphy3; "
     "it reads it as a form of 'выйти'"),
    ("lemma:de:verlässt", "'verlässt' is not a lemma in simplemma's 'de' dictionary; "
     "it reads it as a form of 'verlassen'"),
    ("lemma:fr:qwxzt", "simplemma's 'fr' dictionary does not know 'qwxzt'"),
    ("lemma:xx:word", "unsupported language 'xx' for a lemma (supported: ru, de, en, es, fr)"),
    ("{ru:} из", "lemma '{ru:}' needs a language and a word"),
    ("{выход} из", "lemma '{выход}' needs a language and a word"),
    ("lemma:ru:выход из", "expected 'lemma:LANGUAGE:WORD' (one word"),
    ("[{ru:выход}, уход] из", "a lemma cannot stand inside an inflection list"),
    ("{ru:выход из", "unbalanced '[', ']', '{' or '}'"),
]  # fmt: skip


@pytest.mark.parametrize(("term", "message"), BAD)
def test_a_lemma_that_cannot_be_expanded_is_an_error_that_says_why(term: str, message: str) -> None:
    """Unknown words, inflected forms, unknown languages and bad syntax are refused."""
    with pytest.raises(TermError) as caught:
        compile_term(term)
    assert message in str(caught.value)


def test_an_unknown_lemma_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    """A rule file with a misspelt lemma fails to load; the error names where it is."""
    write(
        tmp_path,
        "version: 1\nrules:\n  - id: r\n    title: T\n    severity: low\n"
        "    channels: [t]\n    match:\n      any:\n        - treaty\n"
        '        - "{ru:выхдо} из договора"\n',
    )
    with pytest.raises(RuleSetError) as caught:
        load_rule_set([tmp_path])
    [error] = caught.value.errors
    assert error.location_message().replace(str(tmp_path) + "/", "") == (
        "rules.yaml:10:11: rules[0].match.any[1]: pymorphy3 does not know 'выхдо' "
        "(in '{ru:выхдо} из договора')"
    )


def test_rules_check_exits_1_without_a_traceback_on_an_unknown_lemma(tmp_path: Path) -> None:
    """The CLI prints file:line:col and the reason, and exits non-zero."""
    write(
        tmp_path,
        "version: 1\nrules:\n  - id: r\n    title: T\n    severity: low\n"
        "    channels: [t]\n    match: 'lemma:de:kündigenn'\n",
    )
    result = CliRunner().invoke(cli, ["rules", "check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "rules.yaml:7:12: rules[0].match: simplemma's 'de' dictionary does not know" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_a_recompiled_lemma_is_served_from_the_cache() -> None:
    """A reload compiles the same terms again without asking pymorphy3 a second time."""
    compile_term("{ru:ратифицировать} договор")
    before = morphology.cache_info()
    compile_term("{ru:ратифицировать} договор")
    compile_term("lemma:ru:ратифицировать")
    after = morphology.cache_info()
    assert after["misses"] == before["misses"]
    assert after["hits"] == before["hits"] + 2


def test_a_compiled_rule_set_keeps_its_expansions_but_not_the_dictionaries(
    tmp_path: Path,
) -> None:
    """After a compile the dictionaries are released; compiling again needs none of them."""
    match = '{all: ["lemma:de:austreten", "{ru:денонсировать} договор"]}'
    one_rule(tmp_path, match)
    assert morphology.dictionaries_loaded() == 0
    misses = morphology.cache_info()["misses"]
    rule_set = one_rule(tmp_path, match)
    assert morphology.cache_info()["misses"] == misses
    assert morphology.dictionaries_loaded() == 0
    assert only(rule_set.match(entry(title="ausgetreten, denonsirovat"))) is None
    assert only(rule_set.match(entry(title="Litauen ist ausgetreten; денонсирует договор")))


def _cached_load(tmp_path: Path, match: str) -> tuple[Path, Path]:
    """A one-rule set loaded once with a cache directory: (its rules, the cache)."""
    rules, cache = tmp_path / "rules", tmp_path / "cache"
    write(rules, "version: 1\nrules:\n  - {id: r, title: T, severity: low, channels: [t], "
          f"match: {match}}}\n")  # fmt: skip
    load_rule_set([rules], cache_dir=cache)
    return rules, cache


def _lemma_file(directory: Path) -> Path:
    [path] = directory.glob("lemmas-*.json")
    return path


def test_a_fresh_load_reads_expansions_from_the_cache_directory(tmp_path: Path) -> None:
    """With a cache directory, the forms come from its file, not from the dictionaries."""
    rules, cache = _cached_load(tmp_path, "'lemma:ru:денонсировать'")
    first = LemmaCache(cache)
    assert "денонсирует" in first.expand("ru", "денонсировать")
    assert first.stored == 0  # read from the file the load wrote
    # The file is what a fresh process believes: a form only it knows is matched.
    stored = LemmaCache(cache)
    stored.expand("ru", "денонсировать")
    assert stored._forms is not None
    stored._forms["ru:денонсировать"].append("денонсирнул")
    stored.stored = 1
    stored.save()
    rule_set = load_rule_set([rules], cache_dir=cache)
    assert only(rule_set.match(entry(title="Москва денонсирнул договор")))


def test_a_corrupt_lemma_cache_is_ignored_and_written_again(tmp_path: Path) -> None:
    """A damaged file costs a dictionary load, never a wrong expansion or an error."""
    rules, cache = _cached_load(tmp_path, "'{de:treten} aus'")
    path = _lemma_file(cache)
    path.write_bytes(path.read_bytes()[:-5] + b"xxxxx")
    rule_set = load_rule_set([rules], cache_dir=cache)
    assert only(rule_set.match(entry(title="Litauen trat aus")))
    rewritten = LemmaCache(cache)
    assert rewritten.expand("de", "treten") == morphology.expand("de", "treten")
    assert rewritten.stored == 0  # the second load wrote a good file again

"""Canonical ids of vocabulary terms: groups, derived ids, validation with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules.loader import load_rule_set
from monitor.rules.vocabulary import Canonical, derived_id, display_name, term_key
from tests.rules_helpers import entry, one_rule, write

GROUPED = """\
treaties:
  - id: inf
    name: INF Treaty
    terms: [INF Treaty, ДРСМД, traité FNI, INF-Vertrag, Tratado INF]
  - Istanbul Convention
  - "[Open Skies, Ciel ouvert] treaty"
plain:
  - withdraw*
"""


def test_terms_of_a_group_carry_its_id_and_name(tmp_path: Path) -> None:
    """Every term of a group maps to the group's id and display name, in any case."""
    rule_set = one_rule(tmp_path, "$treaties", vocabularies=GROUPED)
    ids = rule_set.canonical["treaties"]
    for term in ("INF Treaty", "ДРСМД", "traité FNI", "INF-Vertrag", "Tratado INF"):
        assert ids[term_key(term)] == Canonical("inf", "INF Treaty")


def test_plain_terms_of_a_grouped_vocabulary_get_derived_ids(tmp_path: Path) -> None:
    """A plain term beside groups gets an id derived from its text."""
    rule_set = one_rule(tmp_path, "$treaties", vocabularies=GROUPED)
    ids = rule_set.canonical["treaties"]
    assert ids[term_key("Istanbul Convention")] == Canonical(
        "istanbul-convention", "Istanbul Convention"
    )
    assert ids[term_key("[Open Skies, Ciel ouvert] treaty")].id == "open-skies-treaty"


def test_a_vocabulary_without_groups_carries_no_ids(tmp_path: Path) -> None:
    """Plain vocabularies keep working and have no canonical ids."""
    rule_set = one_rule(tmp_path, "$plain", vocabularies=GROUPED)
    assert "plain" not in rule_set.canonical
    assert rule_set.match(entry("They withdraw"))


def test_group_terms_match_like_plain_terms(tmp_path: Path) -> None:
    """A rule over a grouped vocabulary matches each term of a group."""
    rule_set = one_rule(tmp_path, "$treaties", vocabularies=GROUPED)
    assert rule_set.match(entry("Moscou quitte le traité FNI"))
    assert not rule_set.match(entry("Nothing about treaties"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Istanbul Convention", "istanbul-convention"),
        ("[Cédéao, CEDEAO] summit", "cedeao-summit"),
        ("Atomteststopp*", "atomteststopp"),
        ("lemma:de:Austritt", "austritt"),  # a lemma is named by its word
        ("{fr:retrait, retirer} de l'OTAN", "retrait-de-l-otan"),
    ],
)
def test_derived_ids_are_ascii_slugs_of_the_name(text: str, expected: str) -> None:
    """A derived id is the lower-case ASCII slug of the term's first alternatives."""
    assert derived_id(text) == expected


def test_derived_ids_of_non_latin_terms_are_stable_digests() -> None:
    """A Cyrillic term gets a digest id, the same for any case."""
    assert derived_id("ОДВФ").startswith("term-")
    assert derived_id("ОДВФ") == derived_id("одвф")
    assert display_name("[ДСНВ, СНВ]") == "ДСНВ"


def _errors(directory: Path) -> list[str]:
    with pytest.raises(RuleError) as caught:
        load_rule_set([directory])
    return [e.location_message().replace(str(directory) + "/", "") for e in caught.value.errors]


BAD = [
    ("- {id: INF, terms: [INF Treaty]}", "rules.yaml:4:12: vocabularies.t[0].id: expected an id"),
    ("- {id: inf, terms: []}", "rules.yaml:4:24: vocabularies.t[0].terms: expected a non-empty"),
    ("- {id: inf}", "rules.yaml:4:7: vocabularies.t[0].terms: expected a non-empty list"),
    ("- {id: inf, terms: [a], alias: b}", "rules.yaml:4:29: vocabularies.t[0]: unknown key"),
    (
        "- {id: inf, terms: [a]}\n    - {id: inf, terms: [b]}",
        "rules.yaml:5:12: vocabularies.t[1].id: id 'inf' is already used on line 4",
    ),
    (
        "- {id: inf, terms: [a]}\n    - {id: npt, terms: [A]}",
        "rules.yaml:5:25: vocabularies.t[1].terms[0]: term 'A' already has the id 'inf' (line 4)",
    ),
    ("- {id: inf, terms: [$other]}", "rules.yaml:4:25: vocabularies.t[0].terms[0]: a vocabulary"),
]


@pytest.mark.parametrize(("item", "expected"), BAD)
def test_bad_groups_are_errors_with_file_and_line(tmp_path: Path, item: str, expected: str) -> None:
    """A malformed group is reported with its file, line, column and field."""
    rules = "rules:\n  - {id: r, title: R, severity: high, channels: [c], match: $t}\n"
    write(tmp_path, f"version: 1\nvocabularies:\n  t:\n    {item}\n{rules}")
    (error,) = _errors(tmp_path)
    assert error.startswith(expected), error


def test_the_pack_gives_every_treaty_one_id_in_every_language() -> None:
    """The shipped pack maps the INF Treaty's names in five languages to one id."""
    rule_set = load_rule_set([Path(__file__).parent.parent / "rules"])
    ids = rule_set.canonical["treaties"]
    names = ["INF Treaty", "Intermediate-Range Nuclear Forces Treaty", "ДРСМД", "traité FNI"]
    names += ["INF-Vertrag", "Tratado INF"]
    assert {ids[term_key(n)].id for n in names} == {"inf"}
    assert ids[term_key("ДСНВ")].id == ids[term_key("New START")].id == "new-start"

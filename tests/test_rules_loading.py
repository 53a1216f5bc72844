"""Loading rule sets: every error with file:line:col and field, safe YAML, shared vocabularies."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import RuleError
from monitor.rules.examples import run_examples
from monitor.rules.loader import RuleSetError, load_rule_set, shipped_rules_dir
from tests.rules_helpers import entry, write

RULE = """\
  - id: {id}
    title: A rule
    severity: {severity}
    channels: [treaties]
    match: {match}
"""


def _file(rules: str = "", vocabularies: str = "") -> str:
    text = "version: 1\n"
    if vocabularies:
        text += "vocabularies:\n" + vocabularies
    return text + "rules:\n" + rules


def _errors(directory: Path) -> list[str]:
    with pytest.raises(RuleSetError) as caught:
        load_rule_set([directory])
    assert isinstance(caught.value, RuleError)
    return [e.location_message().replace(str(directory) + "/", "") for e in caught.value.errors]


ERRORS = [
    # (file text, expected error lines)
    (
        _file(RULE.format(id="a", severity="hgh", match="treaty")),
        ["rules.yaml:5:15: rules[0].severity: unknown severity 'hgh' "
         "(allowed: info, low, medium, high, critical)"],
    ),
    (
        _file("  - id: a\n    title: T\n    severity: low\n    match: treaty\n"),
        ["rules.yaml:3:5: rules[0].channels: field required"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="treaty") + "    sevrity: low\n"),
        ["rules.yaml:8:5: rules[0].sevrity: unknown field"],
    ),
    (
        _file(RULE.format(id="Bad Id", severity="low", match="treaty")),
        ["rules.yaml:3:9: rules[0].id: String should match pattern '^[a-z0-9][a-z0-9_.-]*$'"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="{all: [treaty, $nope]}")),
        ["rules.yaml:7:27: rules[0].match.all[1]: unknown vocabulary $nope (known: none defined)"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="'re:(a)\\1'")),
        ["rules.yaml:7:12: rules[0].match: in '(a)\\\\1': back-references (\\1, (?P=name)) are "
         "not supported by the linear-time engine"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="'re:(?<=x)y'")),
        ["rules.yaml:7:12: rules[0].match: in '(?<=x)y': look-ahead/look-behind is not "
         "supported by the linear-time engine"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="{all: [treaty], any: [x]}")),
        ["rules.yaml:7:12: rules[0].match: use exactly one of all, any, none, near, "
         "same_sentence (or all/any together with none)"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="{near: {terms: [a, b], within: -1}}")),
        ["rules.yaml:7:43: rules[0].match.near.within: expected a whole number of words, "
         "0 to 1000"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="{any: [yes, treaty]}")),
        ["rules.yaml:7:19: rules[0].match.any[0]: True is not a term; YAML reads yes/no/on/off/"
         "true/false/null as booleans: put the term in quotes"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="'w*x'")),
        ["rules.yaml:7:12: rules[0].match: '*' may only end a word (in 'w*x')"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="treaty")
              + RULE.format(id="a", severity="low", match="accord")),
        ["rules.yaml:8:9: rules[1].id: duplicate rule id 'a' (first defined in rules.yaml:3)"],
    ),
    (
        "version: 1\nrules:\n  - id: a\n    id: b\n",
        ["rules.yaml:4:5: duplicate key 'id'"],
    ),
    (
        "version: 1\nrules: [\n",
        ["rules.yaml:3:1: YAML syntax: did not find expected node content"],
    ),
    (
        _file(RULE.format(id="a", severity="low", match="$v"), "  v: [treaty, $nope]\n"),
        ["rules.yaml:3:15: vocabularies.v[1]: unknown vocabulary $nope (known: $v)"],
    ),
    (
        _file(
            RULE.format(id="a", severity="low", match="$v"),
            "  v: [treaty, $w]\n  w: [pact, $x]\n  x: [accord]\n",
        ),
        ["rules.yaml:3:15: vocabularies.v[1]: $w includes other vocabularies itself; a "
         "vocabulary can include only plain lists of terms"],
    ),
    (
        _file(
            RULE.format(id="a", severity="low", match="$v"),
            "  v: [treaty, $g]\n  g: [{id: inf, terms: [INF Treaty]}]\n",
        ),
        ["rules.yaml:3:15: vocabularies.v[1]: $g has groups (canonical ids); a vocabulary can "
         "include only plain lists of terms"],
    ),
    (
        "version: 2\nrules: []\n",
        ["rules.yaml:1:10: version: Input should be 1"],
    ),
    (
        "version: 1\nrules:\n  - !!python/object/apply:os.system [echo hi]\n",
        ["rules.yaml:3:5: unsupported YAML tag 'tag:yaml.org,2002:python/object/apply:os.system'"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), ERRORS)
def test_an_invalid_file_is_reported_with_file_line_column_and_field(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    """Each problem names the file, the line, the column and the field."""
    write(tmp_path, text)
    assert _errors(tmp_path) == expected


def test_errors_of_every_file_are_collected(tmp_path: Path) -> None:
    """One bad file does not hide the problems of another."""
    write(tmp_path, _file(RULE.format(id="a", severity="x", match="t")), "a.yaml")
    write(tmp_path, _file(RULE.format(id="b", severity="low", match="$v")), "b.yaml")
    errors = _errors(tmp_path)
    assert [e.split(":")[0] for e in errors] == ["a.yaml", "b.yaml"]


def test_a_vocabulary_includes_another_by_name_from_any_file(tmp_path: Path) -> None:
    """``- $ends`` in a vocabulary adds every term of ``ends`` (defined in any file): one list
    of words kept in one place, read by two vocabularies."""
    write(tmp_path, "version: 1\nvocabularies:\n  ends: [dissolved, ist Geschichte]\n", "a.yaml")
    write(
        tmp_path,
        _file(
            RULE.format(id="r", severity="low", match="{same_sentence: [pact, $exits]}"),
            "  exits: [quits, $ends]\n",
        ),
        "b.yaml",
    )
    rule_set = load_rule_set([tmp_path])
    for title, matched in (
        ("Russia quits the pact", True),
        ("The pact is dissolved", True),
        ("Der Pact ist Geschichte", True),
        ("The pact ends", False),
    ):
        assert bool(rule_set.match(entry(title=title))) is matched, title


def test_vocabularies_are_shared_across_the_files_of_a_set(tmp_path: Path) -> None:
    """A vocabulary defined in one file is usable from every file of the set."""
    write(tmp_path, "version: 1\nvocabularies:\n  treaties: [INF Treaty, New START]\n", "a.yaml")
    write(tmp_path, _file(RULE.format(id="r", severity="low", match="$treaties")), "b.yaml")
    rule_set = load_rule_set([tmp_path])
    assert [m.rule_id for m in rule_set.match(entry(title="New START expires"))] == ["r"]


def test_a_vocabulary_defined_twice_is_an_error(tmp_path: Path) -> None:
    """Two files defining the same vocabulary name conflict."""
    write(tmp_path, "version: 1\nvocabularies:\n  t: [a]\n", "a.yaml")
    write(tmp_path, "version: 1\nvocabularies:\n  t: [b]\n", "b.yaml")
    assert _errors(tmp_path) == ["b.yaml:3:3: vocabulary 't' is already defined in a.yaml"]


def test_an_alias_bomb_is_rejected_without_being_expanded(tmp_path: Path) -> None:
    """Nested aliases that would expand to billions of values fail fast with a clear message."""
    lines = ["version: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
              f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]  # fmt: skip
    write(tmp_path, "\n".join(lines) + "\n")
    (error,) = _errors(tmp_path)
    assert "more than 100000 values (alias bomb?)" in error


def test_a_file_over_the_size_limit_is_rejected(tmp_path: Path) -> None:
    """Rule files larger than 1 MB are refused before parsing."""
    write(tmp_path, "version: 1\n# " + "x" * 1_000_001 + "\n")
    assert _errors(tmp_path) == ["rules.yaml:1: file is larger than 1000000 bytes"]


def test_a_missing_directory_and_an_empty_one_are_errors(tmp_path: Path) -> None:
    """Pointing at nothing is reported, not silently an empty set."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleSetError) as caught:
        load_rule_set([tmp_path / "missing", tmp_path / "empty"])
    assert [e.message for e in caught.value.errors] == [
        "no such file or directory",
        "no rule files (*.yaml, *.yml) here",
    ]


def test_the_version_is_a_content_hash(tmp_path: Path) -> None:
    """Same content gives the same version wherever it lives; any edit changes it."""
    text = _file(RULE.format(id="a", severity="low", match="treaty"))
    write(tmp_path / "one", text)
    write(tmp_path / "two", text)
    first = load_rule_set([tmp_path / "one"]).version
    assert load_rule_set([tmp_path / "two"]).version == first
    write(tmp_path / "two", text.replace("treaty", "accord"))
    assert load_rule_set([tmp_path / "two"]).version != first


def test_channels_are_the_union_of_every_rules_channels(tmp_path: Path) -> None:
    """The daemon learns which channel streams exist from the set."""
    text = _file(
        RULE.format(id="a", severity="low", match="t")
        + RULE.format(id="b", severity="low", match="u").replace("[treaties]", "[urgent, x]")
    )
    write(tmp_path, text)
    assert load_rule_set([tmp_path]).channels == {"treaties", "urgent", "x"}


def test_the_shipped_pack_is_found_and_valid() -> None:
    """Without an installed wheel the shipped pack is the repository's rules/ directory."""
    directory = shipped_rules_dir()
    assert (directory / "treaties.yaml").is_file()
    assert load_rule_set([directory]).rules


@pytest.mark.parametrize(("doc", "examples"), [("rules-language.md", 3), ("rules.md", 2)])
def test_the_yaml_example_of_a_doc_is_valid_and_its_examples_pass(
    tmp_path: Path, repo_root: Path, doc: str, examples: int
) -> None:
    """The first YAML block of each rules doc loads, and its own examples pass."""
    text = (repo_root / "docs" / doc).read_text(encoding="utf-8")
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    write(tmp_path, block)
    results = run_examples(load_rule_set([tmp_path]))
    assert len(results) == examples
    assert all(r.passed for r in results)


def test_a_file_with_a_byte_order_mark_and_crlf_line_ends_loads(tmp_path: Path) -> None:
    """Files saved by Windows editors (BOM, CRLF) are read like any other."""
    text = _file(RULE.format(id="a", severity="low", match="treaty"))
    (tmp_path / "rules.yaml").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert [r.id for r in load_rule_set([tmp_path]).rules] == ["a"]


def test_a_named_condition_is_written_once_and_used_by_rules_of_any_file(tmp_path: Path) -> None:
    """``conditions: {name: <condition>}`` names a condition, written as a rule's ``match``;
    ``$name`` uses it wherever a condition may stand, in the rules of every file."""
    write(
        tmp_path,
        "version: 1\nvocabularies:\n  occasions: [on the anniversary of its signing]\n"
        "conditions:\n  once: {all: [anniversary, none: [$occasions]]}\n",
        "a.yaml",
    )
    write(
        tmp_path,
        _file(
            RULE.format(id="quits", severity="low", match="{all: [quits, none: [$once]]}")
            + RULE.format(id="ratifies", severity="low", match="{any: [ratifies, $once]}")
        ),
        "b.yaml",
    )
    rule_set = load_rule_set([tmp_path])
    for title, rules in (
        ("Russia quits the pact", ["quits"]),
        ("Russia quits the pact: an anniversary", ["ratifies"]),
        ("Russia quits the pact on the anniversary of its signing", ["quits"]),
        ("Chile ratifies the pact", ["ratifies"]),
    ):
        assert [m.rule_id for m in rule_set.match(entry(title=title))] == rules, title


NAMED_CONDITION_ERRORS = [
    (
        "version: 1\nconditions:\n  c: {all: [a, $d]}\n  d: {any: [b, $c]}\n"
        "rules:\n" + RULE.format(id="r", severity="low", match="$c"),
        ["rules.yaml:4:16: conditions.d.any[1]: condition uses itself ($c -> $d -> $c)"],
    ),
    (
        "version: 1\nvocabularies:\n  v: [a]\nconditions:\n  v: {all: [a]}\n  c: {any: [b]}\n"
        "rules:\n"
        + RULE.format(id="r", severity="low", match="{near: {terms: [x, $c], within: 2}}"),
        ["rules.yaml:5:3: 'v' is already defined as a vocabulary in rules.yaml",
         "rules.yaml:12:31: rules[0].match.near.terms[1]: $c is a named condition; near and "
         "same_sentence place terms and vocabularies only"],
    ),
    (
        "version: 1\nconditions:\n  unused: {all: [a, 'w*x']}\n"
        "rules:\n" + RULE.format(id="r", severity="low", match="$nope"),
        ["rules.yaml:9:12: rules[0].match: unknown vocabulary or condition $nope "
         "(known: none defined; conditions: $unused)",
         "rules.yaml:3:21: conditions.unused.all[1]: '*' may only end a word (in 'w*x')"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), NAMED_CONDITION_ERRORS)
def test_a_named_condition_in_error_is_reported_where_it_is_written(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    """A condition that uses itself, clashes with a vocabulary, stands where terms are placed,
    or is unknown is an error with file, line and field; one no rule uses is checked too."""
    write(tmp_path, text)
    assert _errors(tmp_path) == expected

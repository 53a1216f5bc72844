"""Rule files (plain data with positions) to a compiled :class:`RuleSet`, collecting every error."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.errors import RuleError
from monitor.rules import morphology
from monitor.rules.conditions import (
    AllOf,
    AnyOf,
    Condition,
    Guarded,
    Near,
    NoneOf,
    SameSentence,
    Scoped,
    TermLeaf,
)
from monitor.rules.engine import Rule, RuleSet
from monitor.rules.guards import Guard, spelled_guards
from monitor.rules.scan import DatabaseCompiler
from monitor.rules.schema import FIELDS, ExampleModel, FileModel, RuleModel
from monitor.rules.terms import Expand, Term, TermError, compile_term
from monitor.rules.vocabulary import (
    Canonical,
    GroupError,
    derived_id,
    display_name,
    parse_group,
    term_key,
)
from monitor.rules.yamlsource import Located, Path_

_LOGIC_KEYS = ("all", "any", "none", "near", "same_sentence")
_MAX_DEPTH = 20


@dataclass(slots=True)
class SourceFile:
    """One rule file: its name (as shown in errors), raw bytes and parsed data."""

    name: str
    raw: bytes
    located: Located


@dataclass(slots=True)
class _Context:
    errors: list[RuleError] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    term_ids: dict[str, int] = field(default_factory=dict)
    vocabularies: dict[str, tuple[int, ...]] = field(default_factory=dict)
    canonical: dict[str, dict[str, Canonical]] = field(default_factory=dict)
    expand: Expand = morphology.expand
    spelled: dict[int, frozenset[Guard]] = field(default_factory=dict)
    # named conditions: where each is written, and each compiled (None: it has errors)
    named: dict[str, tuple[SourceFile, Path_, Any]] = field(default_factory=dict)
    compiled: dict[str, Condition | None] = field(default_factory=dict)
    compiling: list[str] = field(default_factory=list)

    def error(self, source: SourceFile, path: Path_, message: str, *, key: bool = False) -> None:
        line, column = source.located.position(path, key=key)
        self.errors.append(RuleError(message, file=source.name, line=line, column=column))

    def spells_cue(self, term: int, guards: tuple[Guard, ...]) -> bool:
        """Whether the term spells a cue of ``guards`` (a cue in its hit is then no cue)."""
        known = self.spelled.get(term)
        if known is None:
            known = self.spelled[term] = spelled_guards(self.terms[term].source)
        return not known.isdisjoint(guards)

    def term(self, source: SourceFile, path: Path_, text: str) -> int | None:
        # Regexes keep their case (\W is not \w); phrases are the same term in any case.
        key = term_key(text)
        if key in self.term_ids:
            return self.term_ids[key]
        try:
            term = compile_term(text, self.expand)
        except TermError as exc:
            self.error(source, path, f"{_where(path)}: {exc}")
            return None
        self.term_ids[key] = len(self.terms)
        self.terms.append(term)
        return self.term_ids[key]


def compile_rule_set(
    sources: Sequence[SourceFile],
    keep: Callable[[Rule], bool] | None = None,
    compiler: DatabaseCompiler | None = None,
    expand: Expand = morphology.expand,
) -> tuple[RuleSet | None, list[RuleError]]:
    """Validate and compile the files as one set; the set is ``None`` when any error was found.

    Every file is validated; ``keep``, when given, chooses the rules the set runs;
    ``compiler`` builds the scan's database (default: compiled here, no cache); ``expand``
    gives lemmas' forms (default: from the dictionaries, cached in memory).
    """
    ctx = _Context(expand=expand)
    files: list[tuple[SourceFile, FileModel]] = []
    for source in sources:
        try:
            files.append((source, FileModel.model_validate(source.located.data)))
        except ValidationError as exc:
            _pydantic_errors(ctx, source, (), exc)
    vocab_origin: dict[str, str] = {}
    includes: list[tuple[SourceFile, Path_, str, str]] = []  # (source, where, into, included)
    for source, model in files:
        for name, items in model.vocabularies.items():
            path: Path_ = ("vocabularies", name)
            if name in vocab_origin:
                ctx.error(
                    source,
                    path,
                    f"vocabulary {name!r} is already defined in {vocab_origin[name]}",
                    key=True,
                )
                continue
            vocab_origin[name] = source.name
            ctx.vocabularies[name] = _vocabulary(ctx, source, path, items, includes)
    _include(ctx, includes)
    _collect_conditions(ctx, files, vocab_origin)
    rules: list[Rule] = []
    rule_origin: dict[str, str] = {}
    for source, model in files:
        for index, raw in enumerate(model.rules):
            rule = _rule(ctx, source, ("rules", index), raw)
            if rule is None:
                continue
            if rule.id in rule_origin:
                ctx.error(
                    source,
                    ("rules", index, "id"),
                    f"rules[{index}].id: duplicate rule id {rule.id!r} "
                    f"(first defined in {rule_origin[rule.id]})",
                )
                continue
            rule_origin[rule.id] = f"{source.name}:{rule.line}"
            rules.append(rule)
    for name in ctx.named:  # one no rule uses is checked all the same
        _named_condition(ctx, name)
    # Every term is compiled: the morphology dictionaries (160 MB for German) are not needed
    # until a reload brings a lemma not compiled before.
    morphology.release()
    if ctx.errors:
        return None, ctx.errors
    kept = tuple(rule for rule in rules if keep is None or keep(rule))
    rule_set = RuleSet(
        version=_version(sources),
        rules=kept,
        terms=tuple(ctx.terms),
        canonical=ctx.canonical,
        vocabularies=ctx.vocabularies,
        compiler=compiler,
    )
    return rule_set, []


def _collect_conditions(
    ctx: _Context, files: Sequence[tuple[SourceFile, FileModel]], vocab_origin: dict[str, str]
) -> None:
    """Every file's named conditions, by name (compiled when first used)."""
    origin: dict[str, str] = {}
    for source, model in files:
        for name, raw in model.conditions.items():
            path: Path_ = ("conditions", name)
            if name in vocab_origin:
                message = f"{name!r} is already defined as a vocabulary in {vocab_origin[name]}"
            elif name in origin:
                message = f"condition {name!r} is already defined in {origin[name]}"
            else:
                origin[name] = source.name
                ctx.named[name] = (source, path, raw)
                continue
            ctx.error(source, path, message, key=True)


def _named_condition(
    ctx: _Context, name: str, source: SourceFile | None = None, path: Path_ = ()
) -> Condition | None:
    """The named condition ``name``, compiled once (``source`` and ``path``: where it is used,
    for the error when it uses itself)."""
    if name in ctx.compiled:
        return ctx.compiled[name]
    if name in ctx.compiling:
        cycle = " -> ".join(f"${n}" for n in (*ctx.compiling[ctx.compiling.index(name) :], name))
        if source is not None:
            ctx.error(source, path, f"{_where(path)}: condition uses itself ({cycle})")
        return None
    defined_in, where, raw = ctx.named[name]
    ctx.compiling.append(name)
    errors_before = len(ctx.errors)
    condition = _condition(ctx, defined_in, where, raw, 0)
    ctx.compiling.pop()
    if len(ctx.errors) > errors_before:
        condition = None
    ctx.compiled[name] = condition
    return condition


def _version(sources: Sequence[SourceFile]) -> str:
    digest = hashlib.sha256()
    for source in sorted(sources, key=lambda s: (Path(s.name).name, s.raw)):
        digest.update(Path(source.name).name.encode() + b"\0" + source.raw + b"\0")
    return digest.hexdigest()[:16]


def _vocabulary(
    ctx: _Context,
    source: SourceFile,
    path: Path_,
    items: tuple[Any, ...],
    includes: list[tuple[SourceFile, Path_, str, str]],
) -> tuple[int, ...]:
    ids: list[int] = []
    grouped = any(isinstance(item, dict) for item in items)
    canonical: dict[str, Canonical] = {}
    origin: dict[str, tuple[str, int]] = {}  # term key -> (group id, line) of explicit ids
    group_lines: dict[str, int] = {}
    for i, item in enumerate(items):
        if isinstance(item, dict):
            group = _group(ctx, source, (*path, i), item, group_lines)
            if group is None:
                continue
            canon, terms = group
            line = source.located.position((*path, i))[0]
            for j, raw in enumerate(terms):
                where = (*path, i, "terms", j)
                term = _vocabulary_term(ctx, source, where, raw)
                if term is None:
                    continue
                ids.append(term[0])
                key = term[1]
                if key in origin and origin[key][0] != canon.id:
                    first, first_line = origin[key]
                    ctx.error(
                        source,
                        where,
                        f"{_where(where)}: term {raw!r} already has the id {first!r} "
                        f"(line {first_line})",
                    )
                    continue
                origin[key] = (canon.id, line)
                canonical[key] = canon
            continue
        if isinstance(item, str) and item.strip().startswith("$"):
            if grouped:
                ctx.error(
                    source,
                    (*path, i),
                    f"{_where((*path, i))}: a vocabulary with groups cannot include another "
                    f"({item.strip()}): list its terms in a group",
                )
            else:
                includes.append((source, (*path, i), str(path[-1]), item.strip()[1:]))
            continue
        term = _vocabulary_term(ctx, source, (*path, i), item)
        if term is None:
            continue
        ids.append(term[0])
        if grouped and term[1] not in canonical:
            text = str(item)
            canonical[term[1]] = Canonical(derived_id(text), display_name(text))
    if grouped:
        ctx.canonical[str(path[-1])] = canonical
    return tuple(ids)


def _group(
    ctx: _Context, source: SourceFile, path: Path_, item: dict[str, Any], lines: dict[str, int]
) -> tuple[Canonical, list[Any]] | None:
    """A group entry ``{id, name, terms}``: its canonical id and name, and its raw terms."""
    parsed = parse_group(item, lines)
    if isinstance(parsed, GroupError):
        # An unknown key is reported at the key, as part of the entry; a bad value at its field.
        field = (*path, parsed.field) if parsed.field in item else path
        shown = path if parsed.key else (*path, *parsed.field_path)
        ctx.error(source, field, f"{_where(shown)}: {parsed.message}", key=parsed.key)
        return None
    lines[parsed[0].id] = source.located.position(path)[0]
    return parsed


def _include(ctx: _Context, includes: list[tuple[SourceFile, Path_, str, str]]) -> None:
    """Add each included vocabulary's terms to the vocabulary that names it (``- $name``).

    Only a vocabulary that includes none can be included: one level, so no order or cycle to
    resolve, and every vocabulary is read where it is written plus the lists it names.
    """
    including = {into for _, _, into, _ in includes}
    added: dict[str, list[int]] = {}
    for source, path, into, name in includes:
        if name not in ctx.vocabularies:
            known = ", ".join(f"${n}" for n in sorted(ctx.vocabularies)) or "none defined"
            ctx.error(source, path, f"{_where(path)}: unknown vocabulary ${name} (known: {known})")
        elif name in including:
            ctx.error(
                source,
                path,
                f"{_where(path)}: ${name} includes other vocabularies itself; "
                f"a vocabulary can include only plain lists of terms",
            )
        elif name in ctx.canonical:
            ctx.error(
                source,
                path,
                f"{_where(path)}: ${name} has groups (canonical ids); "
                f"a vocabulary can include only plain lists of terms",
            )
        else:
            added.setdefault(into, []).extend(ctx.vocabularies[name])
    for into, ids in added.items():
        ctx.vocabularies[into] = tuple(dict.fromkeys((*ctx.vocabularies[into], *ids)))


def _vocabulary_term(
    ctx: _Context, source: SourceFile, path: Path_, raw: Any
) -> tuple[int, str] | None:
    """One term of a vocabulary: its index in the set and its key."""
    text = _term_text(ctx, source, path, raw)
    if text is None:
        return None
    if text.startswith("$"):  # a plain list's "- $name" is an include; a group's is not
        ctx.error(
            source,
            path,
            f"{_where(path)}: a vocabulary group cannot include another vocabulary ({text}): "
            f"list its terms in the group",
        )
        return None
    term = ctx.term(source, path, text)
    return None if term is None else (term, term_key(text))


def _rule(ctx: _Context, source: SourceFile, path: Path_, raw: dict[str, Any]) -> Rule | None:
    try:
        model = RuleModel.model_validate(raw)
    except ValidationError as exc:
        _pydantic_errors(ctx, source, path, exc)
        return None
    errors_before = len(ctx.errors)
    condition = _condition(ctx, source, (*path, "match"), model.match, 0)
    if condition is None or len(ctx.errors) > errors_before:
        return None
    fields: tuple[str, ...] = tuple(dict.fromkeys(model.fields))
    extra = sorted(scoped_fields(condition) - set(fields))
    if extra:  # scanned for the ``in:`` conditions only; the rest reads the rule's own fields
        condition = Scoped(condition, frozenset(fields))
        fields = (*fields, *extra)
    due_words = None
    if model.due_words is not None:
        due_words = _condition(ctx, source, (*path, "due_words"), model.due_words, 0)
        if due_words is None or len(ctx.errors) > errors_before:
            return None
    if model.guards:
        guards = tuple(Guard(g) for g in dict.fromkeys(model.guards))
        spelling = frozenset(t for t in condition.terms() if ctx.spells_cue(t, guards))
        condition = Guarded(condition, guards, spelling)
    examples = model.examples
    return Rule(
        id=model.id,
        title=model.title,
        description=model.description,
        severity=model.severity,
        channels=model.channels,
        tags=model.tags,
        enabled=model.enabled,
        fields=fields,
        secondary=model.secondary,
        due=model.due,
        due_words=due_words,
        feeds=model.feeds,
        feed_tags=model.feed_tags,
        languages=tuple(dict.fromkeys(model.languages)),
        condition=condition,
        realert_seconds=model.realert.window if model.realert else 0.0,
        realert_key=model.realert.key if model.realert else "story",
        examples_match=_examples(
            source, (*path, "examples", "match"), examples.match if examples else ()
        ),
        examples_no_match=_examples(
            source, (*path, "examples", "no_match"), examples.no_match if examples else ()
        ),
        file=source.name,
        line=source.located.position(path)[0],
    )


def _examples(
    source: SourceFile, path: Path_, items: Sequence[str | ExampleModel]
) -> tuple[ExampleModel, ...]:
    return tuple(
        (ExampleModel(title=item) if isinstance(item, str) else item).at_line(
            source.located.position((*path, i))[0]
        )
        for i, item in enumerate(items)
    )


def _condition(
    ctx: _Context, source: SourceFile, path: Path_, raw: Any, depth: int
) -> Condition | None:
    if depth > _MAX_DEPTH:
        ctx.error(source, path, f"{_where(path)}: conditions nested deeper than {_MAX_DEPTH}")
        return None
    if not isinstance(raw, dict):
        if isinstance(raw, str) and raw.startswith("$") and raw[1:] in ctx.named:
            return _named_condition(ctx, raw[1:], source, path)
        return _leaf(ctx, source, path, raw)
    keys = set(raw)
    if "in" in keys:
        return _scoped(ctx, source, path, raw, depth)
    unknown = sorted(keys - set(_LOGIC_KEYS))
    if unknown:
        ctx.error(
            source,
            (*path, unknown[0]),
            f"{_where(path)}: unknown key {unknown[0]!r} "
            f"(expected one of {', '.join(_LOGIC_KEYS)})",
            key=True,
        )
        return None
    allowed = len(keys) == 1 or keys in ({"all", "none"}, {"any", "none"})
    if not allowed:
        ctx.error(
            source,
            path,
            f"{_where(path)}: use exactly one of {', '.join(_LOGIC_KEYS)} "
            "(or all/any together with none)",
        )
        return None
    parts: list[Condition] = []
    for key in sorted(keys, key=_LOGIC_KEYS.index):
        part = _logic(ctx, source, (*path, key), key, raw[key], depth)
        if part is None:
            return None
        parts.append(part)
    return parts[0] if len(parts) == 1 else AllOf(tuple(parts))


def _logic(
    ctx: _Context, source: SourceFile, path: Path_, key: str, raw: Any, depth: int
) -> Condition | None:
    if key == "near":
        return _near(ctx, source, path, raw)
    if key == "same_sentence":
        groups = _groups(ctx, source, path, raw)
        return SameSentence(groups) if groups else None
    if not isinstance(raw, list) or not raw:
        ctx.error(source, path, f"{_where(path)}: expected a non-empty list of conditions")
        return None
    children = [_condition(ctx, source, (*path, i), c, depth + 1) for i, c in enumerate(raw)]
    if any(c is None for c in children):
        return None
    kept = tuple(c for c in children if c is not None)
    return {"all": AllOf, "any": AnyOf, "none": NoneOf}[key](kept)


def _scoped(
    ctx: _Context, source: SourceFile, path: Path_, raw: dict[str, Any], depth: int
) -> Condition | None:
    """``{in: [title, lead], match: <condition>}``: the condition over those fields only."""
    names = raw.get("in")
    if set(raw) != {"in", "match"} or not isinstance(names, list) or not names:
        ctx.error(
            source,
            path,
            f"{_where(path)}: expected 'in' (a list of fields) and 'match' (a condition), "
            "nothing else",
        )
        return None
    for i, name in enumerate(names):
        if name not in FIELDS:
            ctx.error(
                source,
                (*path, "in", i),
                f"{_where((*path, 'in', i))}: unknown field {name!r} "
                f"(expected one of {', '.join(FIELDS)})",
            )
            return None
    child = _condition(ctx, source, (*path, "match"), raw["match"], depth + 1)
    return Scoped(child, frozenset(names)) if child is not None else None


def scoped_fields(condition: Condition) -> set[str]:
    """Every field an ``in:`` inside ``condition`` names (the rule must scan them too)."""
    if isinstance(condition, Scoped):
        return set(condition.names) | scoped_fields(condition.child)
    if isinstance(condition, Guarded):
        return scoped_fields(condition.child)
    if isinstance(condition, AllOf | AnyOf | NoneOf):
        return set().union(*(scoped_fields(c) for c in condition.children))
    return set()


def _near(ctx: _Context, source: SourceFile, path: Path_, raw: Any) -> Condition | None:
    if not isinstance(raw, dict) or set(raw) != {"terms", "within"}:
        ctx.error(
            source,
            path,
            f"{_where(path)}: expected a mapping with 'terms' (a list) and "
            "'within' (a number of words)",
        )
        return None
    within = raw["within"]
    if not isinstance(within, int) or isinstance(within, bool) or not 0 <= within <= 1000:
        ctx.error(
            source,
            (*path, "within"),
            f"{_where((*path, 'within'))}: expected a whole number of words, 0 to 1000",
        )
        return None
    groups = _groups(ctx, source, (*path, "terms"), raw["terms"])
    return Near(groups, within) if groups else None


def _groups(
    ctx: _Context, source: SourceFile, path: Path_, raw: Any
) -> tuple[frozenset[int], ...] | None:
    if not isinstance(raw, list) or len(raw) < 2:
        ctx.error(
            source,
            path,
            f"{_where(path)}: expected a list of at least two terms "
            "(each a term or a list of terms)",
        )
        return None
    groups: list[frozenset[int]] = []
    for i, item in enumerate(raw):
        items = item if isinstance(item, list) else [item]
        ids: list[int] = []
        for j, term in enumerate(items):
            where = (*path, i, j) if isinstance(item, list) else (*path, i)
            leaf = _leaf(ctx, source, where, term)
            if leaf is None:
                return None
            ids.extend(leaf.ids)
        if not ids:
            ctx.error(source, (*path, i), f"{_where((*path, i))}: expected at least one term")
            return None
        groups.append(frozenset(ids))
    return tuple(groups)


def _leaf(ctx: _Context, source: SourceFile, path: Path_, raw: Any) -> TermLeaf | None:
    text = _term_text(ctx, source, path, raw)
    if text is None:
        return None
    if text.startswith("$"):
        name = text[1:]
        if name in ctx.named:
            ctx.error(
                source,
                path,
                f"{_where(path)}: {text} is a named condition; near and same_sentence place "
                "terms and vocabularies only",
            )
            return None
        if name not in ctx.vocabularies:
            known = ", ".join(f"${n}" for n in sorted(ctx.vocabularies)) or "none defined"
            what = "vocabulary"
            if ctx.named:  # name the conditions too, when there are any
                what = "vocabulary or condition"
                known += "; conditions: " + ", ".join(f"${n}" for n in sorted(ctx.named))
            ctx.error(source, path, f"{_where(path)}: unknown {what} {text} (known: {known})")
            return None
        return TermLeaf(frozenset(ctx.vocabularies[name]))
    term = ctx.term(source, path, text)
    return None if term is None else TermLeaf(frozenset((term,)))


def _term_text(ctx: _Context, source: SourceFile, path: Path_, raw: Any) -> str | None:
    if isinstance(raw, bool) or raw is None:
        ctx.error(
            source,
            path,
            f"{_where(path)}: {raw!r} is not a term; YAML reads yes/no/on/off/"
            "true/false/null as booleans: put the term in quotes",
        )
        return None
    if isinstance(raw, int | float):
        return str(raw)
    if isinstance(raw, str):
        return raw
    ctx.error(
        source,
        path,
        f"{_where(path)}: expected a term (a string) or a mapping with one of "
        f"{', '.join(_LOGIC_KEYS)}, got a {type(raw).__name__}",
    )
    return None


def _pydantic_errors(
    ctx: _Context, source: SourceFile, prefix: Path_, exc: ValidationError
) -> None:
    for error in exc.errors(include_url=False):
        loc = (*prefix, *error["loc"])
        path = _known_path(source.located, loc)
        extra = error["type"] == "extra_forbidden"
        where = _where(path)
        if extra:
            message = "unknown field"
        elif error["type"] == "missing":
            message = "field required"
            where = _where((*path, loc[-1]))
        else:
            message = error["msg"].removeprefix("Value error, ")
        ctx.error(source, path, f"{where}: {message}", key=extra)


def _known_path(located: Located, loc: tuple[Any, ...]) -> Path_:
    """The longest prefix of a pydantic location that exists in the document."""
    path: Path_ = ()
    for part in loc:
        candidate = (*path, part)
        if candidate in located.values or candidate in located.keys:
            path = candidate
    return path


def _where(path: Sequence[Any]) -> str:
    """A field path as a person reads it: ``rules[2].match.all[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "file"

"""Load rule directories into one validated, compiled :class:`RuleSet` (or every error found)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from monitor.errors import RuleError
from monitor.rules.compiler import SourceFile, compile_rule_set
from monitor.rules.engine import Rule, RuleSet
from monitor.rules.guards import prepare_cues
from monitor.rules.hscache import CachedCompiler
from monitor.rules.lemmacache import LemmaCache
from monitor.rules.yamlsource import MAX_FILE_BYTES, read_yaml
from monitor.shipped import shipped_rules_dir as shipped_rules_dir  # re-exported

MAX_FILES = 1000
SUFFIXES = (".yaml", ".yml")


class RuleSetError(RuleError):
    """A rule set is invalid; ``errors`` holds every problem found, each with file:line:col."""

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else RuleError("invalid rule set")
        super().__init__(first.message, file=first.file, line=first.line, column=first.column)

    def __str__(self) -> str:
        return "\n".join(e.location_message() for e in self.errors)


def rule_files(
    dirs: Sequence[Path], *, allow_empty: bool = False
) -> tuple[list[Path], list[RuleError]]:
    """The rule files of the dirs (a path may also name one file), sorted, and any errors.

    A directory without rule files is an error unless ``allow_empty``.
    """
    files: list[Path] = []
    errors: list[RuleError] = []
    for path in dirs:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            found = sorted(
                p
                for p in path.iterdir()
                if p.suffix in SUFFIXES and p.is_file() and not p.name.startswith(".")
            )
            if not found and not allow_empty:
                errors.append(RuleError("no rule files (*.yaml, *.yml) here", file=str(path)))
            files.extend(found)
        else:
            errors.append(RuleError("no such file or directory", file=str(path)))
    if len(files) > MAX_FILES:
        errors.append(RuleError(f"more than {MAX_FILES} rule files", file=str(dirs[0])))
    return files, errors


def load_rule_set(
    dirs: Sequence[Path],
    keep: Callable[[Rule], bool] | None = None,
    *,
    allow_empty: bool = False,
    cache_dir: Path | None = None,
) -> RuleSet:
    """Load, validate and compile every rule file of ``dirs``; raises :class:`RuleSetError`.

    ``keep`` chooses the rules the set runs (all files are validated either way); with
    ``cache_dir`` the compiled scan and the lemmas' expansions are kept there and read back on
    the next load. With ``allow_empty`` a directory without rule files is an empty set, not an
    error (the daemon starts on it and picks up files added later).
    """
    if not dirs:
        raise RuleSetError([RuleError("no rule directories given")])
    files, errors = rule_files(dirs, allow_empty=allow_empty)
    sources: list[SourceFile] = []
    for path in files:
        name = str(path)
        try:
            with path.open("rb") as handle:
                raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            errors.append(RuleError(f"cannot read: {exc.strerror}", file=name))
            continue
        try:
            sources.append(SourceFile(name, raw, read_yaml(raw, name)))
        except RuleError as exc:
            errors.append(exc)
    if errors:
        raise RuleSetError(errors)
    compiler = CachedCompiler(cache_dir) if cache_dir is not None else None
    if cache_dir is None:
        rule_set, errors = compile_rule_set(sources, keep, compiler)
    else:
        prepare_cues(compiler)
        lemmas = LemmaCache(cache_dir)
        rule_set, errors = compile_rule_set(sources, keep, compiler, lemmas.expand)
        lemmas.save()
    if rule_set is None:
        raise RuleSetError(errors)
    return rule_set

"""Config validation errors for people: where each came from (file line or environment variable)
and, for a misspelt key, the nearest known one.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

ENV_PREFIX = "TREATY_MONITOR_"
_INTERNAL = frozenset({"config_dir"})


def format_validation_error(
    model: type[BaseModel],
    label: str,
    text: str,
    exc: ValidationError,
    environ: Mapping[str, str],
) -> str:
    """One line per error: ``file:line: field: message`` or ``VARIABLE: field: message``."""
    lines = [f"{label}: invalid configuration"]
    source = text.splitlines()
    env = {name.upper() for name in environ}
    for err in exc.errors():
        loc = tuple(err["loc"])
        where = "  "
        if variable := env_variable(loc, env):
            where = f"environment variable {variable}: "
        elif line := line_of(source, loc):
            where = f"{label}:{line}: "
        lines.append(f"{where}{_dotted(loc)}: {_message(model, loc, err)}")
    return "\n".join(lines)


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _message(model: type[BaseModel], loc: tuple[Any, ...], err: Any) -> str:
    if err["type"] != "extra_forbidden" or not loc:
        return str(err["msg"])
    key, parent = str(loc[-1]), loc[:-1]
    message = f"unknown key {key!r} {_section(parent)}"
    if near := difflib.get_close_matches(key, known_keys(model, parent), n=1, cutoff=0.6):
        message += f"; did you mean {near[0]!r}?"
    return message


def _section(parent: tuple[Any, ...]) -> str:
    if not parent:
        return "at the top level"
    if isinstance(parent[-1], int):
        return f"in [[{'.'.join(str(p) for p in parent[:-1])}]] #{parent[-1] + 1}"
    return f"in [{'.'.join(str(p) for p in parent)}]"


def env_variable(loc: Sequence[Any], env: set[str]) -> str | None:
    """The environment variable that set the value at ``loc`` (the most specific one), if any."""
    found, name = None, ENV_PREFIX.rstrip("_")
    for index, part in enumerate(loc):
        if isinstance(part, int):
            break
        name += ("_" if index == 0 else "__") + str(part).upper()
        if name in env:
            found = name
    return found


def known_keys(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The field names of the section that ``loc`` points into (empty when unknown)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part)) if current else None
        current = _model_in(field.annotation) if field else None
        if current is None:
            return []
    assert current is not None
    return [name for name in current.model_fields if name not in _INTERNAL]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model class inside ``X``, ``X | None`` or ``tuple[X, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (tuple, list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if found := _model_in(arg):
                return found
    return None


def line_of(lines: list[str], loc: tuple[int | str, ...]) -> int | None:
    """Best-effort line number (1-based) of the TOML key an error location names."""
    start, key = 0, loc[0] if loc else None
    if len(loc) >= 2 and isinstance(loc[1], int):
        header = re.compile(rf"^\s*\[\[\s*{re.escape(str(loc[0]))}\s*\]\]")
        hits = [i for i, text in enumerate(lines) if header.match(text)]
        if loc[1] >= len(hits):
            return None
        start, key = hits[loc[1]], loc[2] if len(loc) > 2 else None
    elif len(loc) >= 2:
        header = re.compile(rf"^\s*\[\s*{re.escape(str(loc[0]))}\s*\]")
        hits = [i for i, text in enumerate(lines) if header.match(text)]
        if not hits:
            return None
        start, key = hits[0], loc[1]
    if key is None:
        return start + 1 if start else None
    pattern = re.compile(rf"^\s*{re.escape(str(key))}\s*=")
    for number in range(start, len(lines)):
        if number > start and lines[number].lstrip().startswith("[") and start:
            break
        if pattern.match(lines[number]):
            return number + 1
    return start + 1 if start else None

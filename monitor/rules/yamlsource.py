"""Safe YAML reading that remembers where every value came from (line and column).

Only plain data (mappings, lists, strings, numbers, booleans, null): PyYAML's safe constructor,
a size limit per file, a limit on the number of nodes after alias expansion (so an alias bomb is
rejected instead of expanded), and duplicate keys reported instead of silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.errors import RuleError

# libyaml's parser when PyYAML was built with it: the same safe node graph, ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_FILE_BYTES = 1_000_000
MAX_NODES = 100_000

_COLLECTION_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")

Path_ = tuple[str | int, ...]


@dataclass(slots=True)
class Located:
    """Plain data of one YAML document plus the position of each value (and each mapping key)."""

    data: Any
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at ``path``, or its nearest known parent."""
        table = self.keys if key and path in self.keys else self.values
        while path and path not in table:
            path = path[:-1]
            table = self.values
        return table.get(path, (1, 1))


def read_yaml(raw: bytes, file: str) -> Located:
    """Parse one rule file; raises :class:`RuleError` with file, line and column."""
    if len(raw) > MAX_FILE_BYTES:
        raise RuleError(f"file is larger than {MAX_FILE_BYTES} bytes", file=file, line=1)
    try:
        text = raw.decode("utf-8-sig")  # editors on Windows like to start with a BOM
    except UnicodeDecodeError as exc:
        raise RuleError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", file=file) from None
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        message = f"YAML syntax: {exc.problem or exc}"
        raise RuleError(message, file=file, line=line, column=column) from None
    except yaml.YAMLError as exc:
        raise RuleError(f"YAML syntax: {exc}", file=file) from None
    if len(nodes) != 1:
        raise RuleError("expected exactly one YAML document", file=file, line=1)
    builder = _Builder(file)
    located = Located(None)
    located.data = builder.build(nodes[0], (), located)
    return located


class _Builder:
    """Turns a composed node graph into plain data, counting nodes as aliases expand."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.count = 0
        self.constructor = SafeConstructor()

    def build(self, node: Node, path: Path_, located: Located) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self._error(node, f"more than {MAX_NODES} values (alias bomb?)")
        if len(path) > 64:
            raise self._error(node, "nested too deeply")
        located.values[path] = _mark(node)
        if not isinstance(node, ScalarNode) and node.tag not in _COLLECTION_TAGS:
            raise self._error(node, f"unsupported YAML tag {node.tag!r}")
        if isinstance(node, MappingNode):
            return self._mapping(node, path, located)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i), located) for i, item in enumerate(node.value)]
        if isinstance(node, ScalarNode):
            try:
                return self.constructor.construct_object(node, deep=True)
            except yaml.YAMLError as exc:
                message = f"unsupported value: {getattr(exc, 'problem', exc)}"
                raise self._error(node, message) from None
        raise self._error(node, "unsupported YAML node")

    def _mapping(self, node: MappingNode, path: Path_, located: Located) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._error(key_node, "merge keys (<<) are not supported in rule files")
            if not isinstance(key_node, ScalarNode):
                raise self._error(key_node, "mapping keys must be plain strings")
            key = str(key_node.value)
            if key in result:
                raise self._error(key_node, f"duplicate key {key!r}")
            located.keys[(*path, key)] = _mark(key_node)
            result[key] = self.build(value_node, (*path, key), located)
        return result

    def _error(self, node: Node, message: str) -> RuleError:
        line, column = _mark(node)
        return RuleError(message, file=self.file, line=line, column=column)


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1

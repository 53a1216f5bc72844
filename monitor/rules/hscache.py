"""Compiled hyperscan databases kept on disk, so a rule set that did not change loads fast.

Compiling the pack's scan (and checking which regex terms hyperscan takes) is about half of the
time a rule set takes to load. A :class:`CachedCompiler` keeps each result in a directory under a
name derived from everything that decides it: the patterns, their flags, the hyperscan binding's
version and the machine. The daemon keeps it under ``state_dir``; one-shot commands under the user
cache directory (:func:`user_cache_dir`).

Files are written to a temporary name and renamed into place, so a reader never sees half a
file. Each carries a SHA-256 of its body, checked before hyperscan reads it (hyperscan itself
accepts some corrupt databases). A file that is unreadable, corrupt or from another hyperscan is
ignored and written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import hyperscan
import structlog

from monitor.rules.scan import DIRECT, DatabaseCompiler

log = structlog.get_logger(__name__)

_MAGIC = b"treaty-monitor hyperscan 1\n"


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/treaty-monitor``, else ``~/.cache/treaty-monitor``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "treaty-monitor"


class CachedCompiler:
    """A :class:`monitor.rules.scan.DatabaseCompiler` that reads and writes ``directory``.

    ``loaded`` and ``compiled`` count the databases read from the cache and built here.
    """

    def __init__(self, directory: Path, inner: DatabaseCompiler = DIRECT) -> None:
        self.directory = directory
        self.inner = inner
        self.loaded = 0
        self.compiled = 0

    def accepts(self, expressions: Sequence[bytes], flag: int) -> list[bool]:
        """Which expressions hyperscan compiles with ``flag`` (remembered per set)."""
        if not expressions:
            return []
        path = self._path("accepts", expressions, [flag] * len(expressions), ".json")
        body = read_checked(path)
        if body is not None:
            with contextlib.suppress(ValueError):
                verdicts = json.loads(body)
                if isinstance(verdicts, list) and len(verdicts) == len(expressions):
                    return [bool(v) for v in verdicts]
        verdicts = self.inner.accepts(expressions, flag)
        write_checked(path, json.dumps(verdicts).encode())
        return verdicts

    def database(self, expressions: Sequence[bytes], flags: Sequence[int]) -> hyperscan.Database:
        """The database of ``expressions``: read from the cache, else compiled and stored."""
        path = self._path("database", expressions, flags, ".hsdb")
        body = read_checked(path)
        if body is not None:
            try:
                database = hyperscan.loadb(body, hyperscan.HS_MODE_BLOCK)
                database.scratch = hyperscan.Scratch(database)
            except (hyperscan.error, TypeError, ValueError) as exc:
                log.warning("rules_cache_unusable", path=str(path), error=str(exc))
            else:
                self.loaded += 1
                return database
        database = self.inner.database(expressions, flags)
        self.compiled += 1
        write_checked(path, hyperscan.dumpb(database))
        return database

    def _path(
        self, kind: str, expressions: Sequence[bytes], flags: Sequence[int], suffix: str
    ) -> Path:
        digest = hashlib.sha256()
        version = str(getattr(hyperscan, "__version__", ""))
        for part in (kind, version, sys.platform, platform.machine()):
            digest.update(part.encode() + b"\0")
        for expression, flag in zip(expressions, flags, strict=True):
            digest.update(expression + b"\0" + str(flag).encode() + b"\0")
        return self.directory / f"{kind}-{digest.hexdigest()[:32]}{suffix}"


def read_checked(path: Path) -> bytes | None:
    """The checked body of a cache file, or ``None`` when absent, unreadable or corrupt."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    head = len(_MAGIC) + 32
    checksum, body = raw[len(_MAGIC) : head], raw[head:]
    if raw[: len(_MAGIC)] != _MAGIC or hashlib.sha256(body).digest() != checksum:
        log.warning("rules_cache_corrupt", path=str(path))
        return None
    return body


def write_checked(path: Path, body: bytes) -> None:
    """Write atomically (temporary file, then rename); a cache that cannot be written is
    only slower, so errors are logged, not raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".tmp-", delete=False) as handle:
            handle.write(_MAGIC + hashlib.sha256(body).digest() + body)
        os.replace(handle.name, path)
    except OSError as exc:
        log.warning("rules_cache_not_written", path=str(path), error=str(exc))
        with contextlib.suppress(OSError, UnboundLocalError):
            os.unlink(handle.name)

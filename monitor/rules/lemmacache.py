"""Lemma expansions kept on disk, so a fresh process compiles lemma terms without dictionaries.

Loading the dictionaries is most of what a lemma costs: about 0.3 s for pymorphy3 and 1-1.5 s
(4 s on a loaded machine) for simplemma's German table, paid by every ``treaty-monitor`` command
and every daemon start. A :class:`LemmaCache` keeps each expansion in one JSON file beside the
hyperscan cache (same directory, same checked, atomic writes: :mod:`monitor.rules.hscache`),
named after the versions of everything that decides an expansion, so an upgraded dictionary or
a change to :mod:`monitor.rules.morphology` starts a new file. Unknown lemmas are not stored:
they are errors, and an error is computed again.
"""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import structlog

from monitor.rules import morphology
from monitor.rules.hscache import read_checked, write_checked

log = structlog.get_logger(__name__)

_PACKAGES = ("pymorphy3", "pymorphy3-dicts-ru", "simplemma")


def _versions() -> str:
    parts = [f"morphology {morphology.VERSION}"]
    for package in _PACKAGES:
        try:
            parts.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{package} -")
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


class LemmaCache:
    """Expansions read from and written to ``directory``; ``expand`` is a drop-in for
    :func:`monitor.rules.morphology.expand`. ``stored`` counts the expansions added this run."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"lemmas-{_versions()}.json"
        self.stored = 0
        self._forms: dict[str, list[str]] | None = None

    def expand(self, language: str, lemma: str) -> tuple[str, ...]:
        """The forms of ``lemma``: from the file when known, else expanded and remembered."""
        forms = self._known()
        key = f"{language}:{lemma.strip()}"
        found = forms.get(key)
        if found is None:
            found = list(morphology.expand(language, lemma))
            forms[key] = found
            self.stored += 1
        return tuple(found)

    def save(self) -> None:
        """Write the file if this run added expansions (a failed write is only slower)."""
        if self.stored and self._forms is not None:
            body = json.dumps(self._forms, ensure_ascii=False, sort_keys=True).encode()
            write_checked(self.path, body)
            self.stored = 0

    def _known(self) -> dict[str, list[str]]:
        if self._forms is None:
            self._forms = {}
            body = read_checked(self.path)
            if body is not None:
                try:
                    data = json.loads(body)
                except ValueError:
                    data = None
                if isinstance(data, dict) and all(
                    isinstance(v, list) and all(isinstance(f, str) for f in v)
                    for v in data.values()
                ):
                    self._forms = data
                else:
                    log.warning("rules_lemma_cache_unusable", path=str(self.path))
        return self._forms

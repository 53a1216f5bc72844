"""Where the files shipped with the package live (rule pack, examples), installed or not."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_rules_dir() -> Path:
    """The shipped rule pack: inside an installed wheel, else the repository's ``rules/``."""
    installed = _PACKAGE / "_shipped" / "rules"
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / "rules"

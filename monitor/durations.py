"""Durations as people write them in config and on the command line: ``90``, ``30s``, ``1h30m``.

Pure and import-light (the CLI parses ``--since`` with it before loading anything else).
"""

from __future__ import annotations

import re

UNITS = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|w|d|h|m|s)")
_BARE = re.compile(r"^\s*\d+(?:\.\d+)?\s*$")
_WHOLE = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*(?:ms|w|d|h|m|s)\s*)+$")
_ORDER = list(UNITS)
HINT = "expected e.g. 30s, 15m, 1h30m, 2d, 1w"


def parse_duration(value: object) -> float:
    """``30``, ``"30s"``, ``"250ms"``, ``"15m"``, ``"1h30m"``, ``"2d"``, ``"1w"`` → seconds.

    Compound forms list each unit once, largest first (``1h30m``, not ``30m1h``).
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration ({HINT})")
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r} ({HINT})")
    if _BARE.match(value):
        return float(value)
    if not _WHOLE.match(value):
        raise ValueError(f"invalid duration {value!r} ({HINT})")
    total, last = 0.0, -1
    for number, unit in _PART.findall(value):
        rank = _ORDER.index(unit)
        if rank <= last:
            raise ValueError(f"invalid duration {value!r}: units must go largest first, once each")
        last = rank
        total += float(number) * UNITS[unit]
    return total

"""The ``Retry-After`` header, read one way for fetches and deliveries. Pure: ``now`` is passed.

RFC 9110 §10.2.3 allows delta-seconds or an HTTP-date. Servers send more than that, so: decimal
and exponent numbers are read as seconds ("120.5", "1e9"); an HTTP-date without a zone is GMT, as
every HTTP-date is; ``inf``, ``nan`` and anything else unreadable mean "not said" (``None``).
Whatever is read is clamped to ``[0, cap]``: a server may slow us down, never stall us for good.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_retry_after(value: str | None, now: datetime, *, cap: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, clamped to ``[0, cap]``; None if unusable."""
    if value is None or not (text := value.strip()):
        return None
    seconds = _seconds(text) if _NUMBER.fullmatch(text) else _until(text, now)
    if seconds is None:
        return None
    return min(max(seconds, 0.0), max(cap, 0.0))


def _seconds(text: str) -> float | None:
    seconds = float(text)
    return seconds if math.isfinite(seconds) else None


def _until(text: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - now).total_seconds()

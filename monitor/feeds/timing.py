"""When to fetch a feed next: intervals, jitter, backoff, Retry-After, Cache-Control. Pure.

Every function takes the clock (``now``) and the random source as arguments.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass

_MAX_AGE = re.compile(r"(?:^|[,\s])(s-maxage|max-age)\s*=\s*\"?(\d{1,10})", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(no-cache|no-store)(?:$|[,\s=])", re.IGNORECASE)
ERROR_BASE = 60.0
RETRY_AFTER_MIN = 1.0
REDIRECT_CONFIRMATIONS = 3
NETWORK_KINDS = frozenset({"network", "dns", "timeout", "connect"})


@dataclass(frozen=True, slots=True)
class Pacing:
    """The knobs of one feed's schedule, in seconds."""

    interval: float
    jitter: float = 0.1
    backoff_max: float = 6 * 3600.0
    cache_max: float = 3600.0


def parse_max_age(cache_control: str | None) -> float | None:
    """``max-age`` (or ``s-maxage``) of a Cache-Control header in seconds; None if absent."""
    if not cache_control or _NO_CACHE.search(cache_control):
        return None
    ages = {m.group(1).lower(): float(m.group(2)) for m in _MAX_AGE.finditer(cache_control)}
    return ages.get("s-maxage", ages.get("max-age"))


def jittered(delay: float, jitter: float, rnd: random.Random) -> float:
    """``delay`` spread by ±``jitter`` (a fraction) so feeds sharing a host do not align."""
    return max(0.0, delay * (1.0 + rnd.uniform(-jitter, jitter)))


def success_delay(pacing: Pacing, max_age: float | None, rnd: random.Random) -> float:
    """Delay after a good fetch: the interval, stretched by max-age up to ``cache_max``."""
    delay = pacing.interval
    if max_age is not None and max_age > delay:
        delay = min(max_age, max(pacing.interval, pacing.cache_max))
    return jittered(delay, pacing.jitter, rnd)


def error_delay(
    pacing: Pacing, errors: int, retry_after: float | None, rnd: random.Random
) -> float:
    """Delay after the ``errors``-th consecutive failure: capped exponential backoff, jittered.

    Never infinite: a feed failing for a week is still tried every ``backoff_max``.
    """
    cap = max(pacing.backoff_max, pacing.interval)
    base = min(pacing.interval, ERROR_BASE)
    backoff = min(cap, base * 2.0 ** min(max(errors - 1, 0), 30))
    delay = rnd.uniform(backoff / 2.0, backoff)  # "equal jitter": spread, but never near zero
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, RETRY_AFTER_MIN), cap))
    return delay


def offline_delay(pacing: Pacing, rnd: random.Random) -> float:
    """Delay while the host itself seems offline: soon, without counting an error."""
    return jittered(min(pacing.interval, ERROR_BASE), 0.5, rnd)


def muted_delay(pacing: Pacing, rnd: random.Random) -> float:
    """Delay for a feed that answered 410 Gone: checked again rarely, never dropped."""
    return jittered(max(pacing.backoff_max, pacing.interval), pacing.jitter, rnd)


def confirm_redirect(
    target: str, count: int, observed: str | None, confirmations: int = REDIRECT_CONFIRMATIONS
) -> tuple[str, int, bool]:
    """Track a permanent redirect over fetches → (target, count, move now?)."""
    if not observed:
        return "", 0, False
    count = count + 1 if observed == target else 1
    if count >= confirmations:
        return "", 0, True
    return observed, count, False


class NetworkHealth:
    """Tells "every feed is failing" (our network is down) from "this feed is failing".

    Outcomes of the last ``window`` seconds are kept; the host counts as offline when at least
    ``min(3, feeds)`` different feeds failed with network errors and nothing succeeded. One feed
    alone cannot tell, so with a single feed errors always count.
    """

    def __init__(self, feeds: int, window: float = 120.0) -> None:
        self.feeds = feeds
        self.window = window
        self._events: deque[tuple[float, str, bool]] = deque()

    def record(self, now: float, feed: str, *, reached: bool) -> None:
        """Record whether a fetch reached its server (any HTTP answer) or failed on the network."""
        self._events.append((now, feed, reached))
        while self._events and self._events[0][0] < now - self.window:
            self._events.popleft()

    def offline(self, now: float) -> bool:
        """Whether recent outcomes say the host's own network is down."""
        if self.feeds < 2:
            return False
        recent = [e for e in self._events if e[0] >= now - self.window]
        if any(reached for _, _, reached in recent):
            return False
        failing = {feed for _, feed, _ in recent}
        return len(failing) >= min(3, self.feeds)

"""A sink that records what it was given: the second implementation, for tests and dry runs."""

from __future__ import annotations

from collections import deque

from monitor.alerts.alert import Alert
from monitor.alerts.render import Digest
from monitor.alerts.threads import Followup
from monitor.errors import DeliveryError


class RecordingSink:
    """Keeps every accepted alert and digest; can be told to fail the next calls."""

    def __init__(self, name: str = "recording") -> None:
        self.name = name
        self.alerts: list[Alert] = []
        self.digests: list[Digest] = []
        self.followups: list[Followup] = []
        self.failures: deque[DeliveryError] = deque()
        self.attempts = 0
        self.closed = False

    def fail_next(self, *errors: DeliveryError) -> None:
        """Raise these errors on the next calls, in order, before accepting again."""
        self.failures.extend(errors)

    def _maybe_fail(self) -> None:
        self.attempts += 1
        if self.failures:
            raise self.failures.popleft()

    async def send(self, alert: Alert) -> None:
        """Record one alert (or raise a queued failure)."""
        self._maybe_fail()
        self.alerts.append(alert)

    async def send_followup(self, followup: Followup) -> None:
        """Record one follow-up or reminder (or raise a queued failure)."""
        self._maybe_fail()
        self.followups.append(followup)

    async def send_digest(self, digest: Digest) -> None:
        """Record one digest (or raise a queued failure)."""
        self._maybe_fail()
        self.digests.append(digest)

    async def aclose(self) -> None:
        """Mark closed."""
        self.closed = True

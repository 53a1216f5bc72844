"""The narrow sink interface and the pacing every rate-limited sink shares."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, runtime_checkable

from monitor.alerts.alert import Alert
from monitor.alerts.render import Digest
from monitor.alerts.threads import Followup


class Sink(Protocol):
    """Where alerts go. ``send`` returns when the service accepted the message.

    It raises :class:`~monitor.errors.RetryableDelivery` (with ``retry_after`` when the service
    said) or :class:`~monitor.errors.PermanentDelivery`; nothing else escapes.
    """

    name: str

    async def send(self, alert: Alert) -> str | None:
        """Deliver one alert; return the service's handle of the message if it gives one (a
        Slack ``ts``, an email Message-ID) so follow-ups can be threaded under it."""
        ...

    async def send_digest(self, digest: Digest) -> None:
        """Deliver several alerts as one message."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@runtime_checkable
class FollowupSink(Protocol):
    """A sink that renders follow-ups and reminders itself (threaded where it can)."""

    async def send_followup(self, followup: Followup) -> None:
        """Deliver a story's follow-up or deadline reminder."""
        ...


async def send_followup(sink: Sink, followup: Followup) -> None:
    """Deliver ``followup``: by the sink's own rendering, else as an alert listing the sources."""
    if isinstance(sink, FollowupSink):
        await sink.send_followup(followup)
        return
    await sink.send(replace(followup.alert, id=followup.id, sources=followup.sources))


class Pacer:
    """Spaces calls at least ``1 / rate`` seconds apart, queueing bursts instead of dropping.

    ``max_defer`` bounds how far a service may push the next call back (``delivery.backoff_max``;
    its default here is that setting's default).
    """

    def __init__(
        self,
        rate_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_defer: float = 600.0,
    ) -> None:
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self.max_defer = max(max_defer, 0.0)
        self._clock = clock
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        """Return when the next call may go out."""
        if self.interval <= 0:
            return
        async with self._lock:
            now = self._clock()
            delay = self._next - now
            if delay > 0:
                await asyncio.sleep(delay)
                now = self._clock()
            self._next = max(now, self._next) + self.interval

    def defer(self, seconds: float) -> None:
        """Hold the next call back (a service asked us to), by at most ``max_defer``."""
        held = min(max(seconds, 0.0), self.max_defer)
        self._next = max(self._next, self._clock() + held)

    def delay(self) -> float:
        """Seconds until the next call may go out (0 when it may go now)."""
        return max(self._next - self._clock(), 0.0) if self.interval > 0 else 0.0

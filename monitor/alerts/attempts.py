"""One send, retried by failure class: rate limits wait, transient failures back off, permanent
ones stop at once. The loop between a notifier and its sink; it never raises a delivery error.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from structlog.typing import FilteringBoundLogger

from monitor.alerts.retry import backoff_delay
from monitor.config import DeliverySettings
from monitor.errors import PermanentDelivery, RetryableDelivery
from monitor.metrics import DELIVERIES

# 429s do not use up attempts, but a service that never stops throttling must not pin an alert
# for ever: after this many rate-limit waits per allowed attempt, they count again.
_THROTTLES_PER_ATTEMPT = 10


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a delivery ended: ``delivered``, ``dead``, ``abandoned`` (stopping), ``duplicate``
    (delivered before) or ``elsewhere`` (another consumer is sending it)."""

    status: str
    error: str = ""
    attempts: int = 0


async def sleep_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Sleep; True if ``stop`` was set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0.0))
    return stop.is_set()


class Attempts:
    """Runs sends with retries per the delivery settings, counting and logging each retry."""

    def __init__(
        self, sink: str, delivery: DeliverySettings, *, jitter: Callable[[], float],
        log: FilteringBoundLogger,
    ) -> None:  # fmt: skip
        self.sink = sink
        self.delivery = delivery
        self.jitter = jitter
        self.log = log
        self.in_flight = 0

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` transient failures."""
        cfg = self.delivery
        return backoff_delay(attempts, base=cfg.backoff_base, cap=cfg.backoff_max,
                             jitter=self.jitter())  # fmt: skip

    async def _once(self, send: Callable[[], Awaitable[object]]) -> tuple[str, float | None] | None:
        """None on success, else (error, retry_after); PermanentDelivery propagates."""
        self.in_flight += 1
        try:
            await send()
            return None
        except RetryableDelivery as exc:
            return str(exc), exc.retry_after
        except PermanentDelivery:
            raise
        except Exception as exc:  # a sink bug must not kill the notifier: retry, then DLQ
            return f"{type(exc).__name__}: {exc}"[:300], None
        finally:
            self.in_flight -= 1

    async def run(
        self,
        delivery_id: str,
        send: Callable[[], Awaitable[object]],
        stop: asyncio.Event,
        between: Callable[[], Awaitable[None]],
    ) -> Outcome:
        """Send until accepted, permanently refused, out of attempts, or stopped.

        ``between`` runs before each retry (to keep leases and claims fresh).
        """
        attempts, throttled = 0, 0
        while True:
            attempts += 1
            try:
                failure = await self._once(send)
            except PermanentDelivery as exc:
                return Outcome("dead", str(exc), attempts)
            if failure is None:
                return Outcome("delivered", attempts=attempts)
            error, retry_after = failure
            if retry_after is not None and throttled < _THROTTLES_PER_ATTEMPT * (
                self.delivery.max_attempts
            ):
                # Rate limited: the service said when; that is not a failed attempt.
                attempts, throttled = attempts - 1, throttled + 1
                delay = min(retry_after, self.delivery.backoff_max)
            elif attempts >= self.delivery.max_attempts:
                return Outcome("dead", error, attempts)
            else:
                delay = self.backoff(attempts)
            DELIVERIES.labels(sink=self.sink, outcome="retry").inc()
            self.log.warning("delivery_retry", delivery_id=delivery_id, error=error,
                             attempt=attempts, retry_in=round(delay, 3))  # fmt: skip
            if await sleep_or_stop(delay, stop):
                return Outcome("abandoned", error, attempts)
            await between()

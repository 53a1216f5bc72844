"""Retry arithmetic and failure classification for deliveries. Pure: no clock, no I/O."""

from __future__ import annotations

from monitor.errors import DeliveryError, PermanentDelivery, RetryableDelivery

# Statuses that mean "the request may succeed later" even though they are 4xx.
_RETRYABLE_4XX = {408, 425, 429}


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): exponential, capped, "equal jitter".

    ``jitter`` is a number in [0, 1) (``random.random()``); the delay lies in [d/2, d) where
    ``d = min(cap, base * 2 ** (attempt - 1))``, so retries spread out but never collapse to 0.
    """
    if attempt < 1:
        return 0.0
    exponent = min(attempt - 1, 62)
    ceiling = min(cap, base * (2.0**exponent))
    return ceiling / 2.0 + ceiling / 2.0 * min(max(jitter, 0.0), 1.0)


def classify_http(
    status: int, *, body: str = "", retry_after: float | None = None, service: str = "http"
) -> DeliveryError | None:
    """``None`` for 2xx, else the error to raise: retryable (429, 408, 5xx) or permanent."""
    if 200 <= status < 300:
        return None
    detail = body.strip().replace("\n", " ")[:200]
    message = f"{service}: HTTP {status}" + (f" {detail}" if detail else "")
    if status in _RETRYABLE_4XX or status >= 500:
        return RetryableDelivery(message, retry_after=retry_after if status == 429 else None)
    return PermanentDelivery(message)


def smtp_is_transient(code: int) -> bool:
    """SMTP reply codes 4xx are transient (retry), 5xx permanent; anything else we retry."""
    return not 500 <= code < 600

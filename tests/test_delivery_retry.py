"""Retry arithmetic and failure classification: pure functions, table-tested."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.alerts.retry import backoff_delay, classify_http, smtp_is_transient
from monitor.errors import PermanentDelivery, RetryableDelivery

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [
        (0, 0.5, 0.0),
        (1, 0.0, 1.0),
        (1, 0.999, 1.999),
        (2, 0.0, 2.0),
        (3, 0.5, 6.0),
        (4, 0.0, 8.0),
        (10, 0.0, 300.0),  # 2 * 2**9 = 1024 is capped at 600, halved by zero jitter
        (10, 1.0, 600.0),
        (500, 0.0, 300.0),  # no overflow for absurd attempt numbers
    ],
)
def test_backoff_grows_exponentially_with_bounded_jitter(
    attempt: int, jitter: float, expected: float
) -> None:
    """Delays double per attempt from base 2 s, stay in [d/2, d), and stop growing at the cap."""
    assert backoff_delay(attempt, base=2.0, cap=600.0, jitter=jitter) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (204, None),
        (400, PermanentDelivery),
        (401, PermanentDelivery),
        (403, PermanentDelivery),
        (404, PermanentDelivery),
        (408, RetryableDelivery),
        (410, PermanentDelivery),
        (413, PermanentDelivery),
        (429, RetryableDelivery),
        (500, RetryableDelivery),
        (502, RetryableDelivery),
        (503, RetryableDelivery),
        (504, RetryableDelivery),
    ],
)
def test_http_statuses_are_classified_by_class(status: int, kind: type | None) -> None:
    """2xx passes; 429, 408 and 5xx are retryable; every other 4xx is permanent."""
    error = classify_http(status, body="x", retry_after=3.0)
    if kind is None:
        assert error is None
    else:
        assert type(error) is kind


def test_only_429_carries_retry_after() -> None:
    """A 503 with Retry-After still backs off exponentially; a 429 waits what the service said."""
    throttled = classify_http(429, retry_after=7.0)
    unavailable = classify_http(503, retry_after=7.0)
    assert isinstance(throttled, RetryableDelivery)
    assert throttled.retry_after == 7.0
    assert isinstance(unavailable, RetryableDelivery)
    assert unavailable.retry_after is None


@pytest.mark.parametrize(
    ("code", "transient"),
    [(421, True), (450, True), (451, True), (452, True), (550, False), (553, False), (554, False)],
)
def test_smtp_4xx_is_transient_and_5xx_permanent(code: int, transient: bool) -> None:
    """SMTP reply classes decide between retry and dead letter."""
    assert smtp_is_transient(code) is transient

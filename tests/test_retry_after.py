"""Retry-After: one parser for fetches and deliveries, table-tested, always clamped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.retry_after import parse_retry_after

NOW = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
CAP = 600.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 30 ", 30.0),
        ("0", 0.0),
        ("120.5", 120.5),
        (".5", 0.5),
        ("+7", 7.0),
        ("-4", 0.0),
        ("-0.5", 0.0),
        ("600", 600.0),
        ("601", CAP),
        ("1e9", CAP),
        ("1E2", 100.0),
        ("99999999999999999999999999", CAP),
        ("1e999", None),
        ("inf", None),
        ("Infinity", None),
        ("-inf", None),
        ("nan", None),
        ("NaN", None),
        ("Fri, 27 Nov 2026 12:00:45 GMT", 45.0),
        ("Fri, 27 Nov 2026 12:05:00 +0000", 300.0),
        ("Fri, 27 Nov 2026 13:00:45 +0100", 45.0),
        ("Fri, 27 Nov 2026 12:00:45", 45.0),
        ("Fri, 27 Nov 2026 12:00:45 -0000", 45.0),
        ("Fri, 27 Nov 2026 11:00:00 GMT", 0.0),
        ("Sat, 01 Jan 2100 00:00:00 GMT", CAP),
        ("Fri, 31 Dec 9999 23:59:59 GMT", CAP),
        ("soon", None),
        ("12 seconds", None),
        ("0x10", None),
        ("Fri, 99 Nov 2026 12:00:45 GMT", None),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_retry_after_is_read_one_way_and_clamped(
    header: str | None, expected: float | None
) -> None:
    """Seconds (integer, decimal, exponent) or an HTTP-date (zone or GMT), clamped to [0, cap]."""
    assert parse_retry_after(header, NOW, cap=CAP) == expected


def test_a_negative_cap_clamps_to_zero() -> None:
    """A cap below zero cannot turn into a negative wait."""
    assert parse_retry_after("30", NOW, cap=-1.0) == 0.0

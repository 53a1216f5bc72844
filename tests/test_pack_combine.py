"""Several rules matching one entry become one alert per channel carrying all their tags."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.rules.combine import by_channel, combine
from monitor.rules.match import Match, Severity, Span


def _match(
    rule_id: str,
    severity: Severity,
    channels: tuple[str, ...],
    tags: tuple[str, ...],
    deadline: date | None = None,
) -> Match:
    span = Span("title", 0, len(rule_id), rule_id, rule_id)
    return Match(rule_id, rule_id.upper(), severity, channels, tags, (span,), deadline, "k", 60.0)


WITHDRAWAL = _match("withdrawal", Severity.HIGH, ("treaties",), ("withdrawal",))
DEADLINE = _match("deadline", Severity.HIGH, ("treaties",), ("deadline",), date(2019, 8, 2))
FORMAL = _match("formal", Severity.CRITICAL, ("urgent",), ("withdrawal", "notice"))
TALKS = _match("talks", Severity.LOW, ("treaties",), ("talks", "withdrawal"))


def test_combine_of_one_match_is_that_match() -> None:
    """A lone match is passed through unchanged."""
    assert combine([TALKS]) is TALKS


def test_combine_keeps_the_most_severe_rule_and_unites_tags_spans_and_deadline() -> None:
    """Severity, rule and title come from the most severe match; tags and spans from all."""
    merged = combine([TALKS, WITHDRAWAL, DEADLINE])
    assert (merged.rule_id, merged.rule_title, merged.severity) == (
        "withdrawal",
        "WITHDRAWAL",
        Severity.HIGH,
    )
    assert merged.tags == ("withdrawal", "talks", "deadline")
    assert [s.text for s in merged.spans] == ["withdrawal", "talks", "deadline"]
    assert merged.deadline == date(2019, 8, 2)
    assert (merged.throttle_key, merged.realert_seconds) == ("k", 60.0)


def test_combine_refuses_an_empty_list() -> None:
    """There is no alert without a match."""
    with pytest.raises(ValueError, match="at least one"):
        combine([])


def test_by_channel_gives_each_channel_one_combined_match() -> None:
    """treaties gets one alert with both tags; urgent gets the formal notice alone."""
    routed = by_channel([WITHDRAWAL, FORMAL, DEADLINE])
    assert [channel for channel, _ in routed] == ["treaties", "urgent"]
    treaties, urgent = routed[0][1], routed[1][1]
    assert treaties.tags == ("withdrawal", "deadline")
    assert (urgent.rule_id, urgent.tags) == ("formal", ("withdrawal", "notice"))


def test_every_channel_carries_the_entrys_due_date() -> None:
    """The urgent copy carries the due date a treaties-only deadline rule found (issue 12)."""
    routed = dict(by_channel([WITHDRAWAL, FORMAL, DEADLINE]))
    assert routed["treaties"].deadline == routed["urgent"].deadline == date(2019, 8, 2)
    assert dict(by_channel([FORMAL, WITHDRAWAL]))["urgent"].deadline is None

"""One alert per entry and channel: the matches of several rules folded into one. Pure.

A story often is several developments at once (an ultimatum that threatens suspension over a
violation); the pack has one rule per kind, and a subscriber wants one message carrying every
tag, not one message per rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date

from monitor.rules.match import Match


def by_channel(matches: Sequence[Match]) -> list[tuple[str, Match]]:
    """Each channel once (in order of first mention) with the matches routed to it combined.

    Every channel's match carries the entry's due date (:func:`due`), so the urgent copy of a
    story has the deadline its treaties copy has, whichever rule found it.
    """
    channels = list(dict.fromkeys(c for m in matches for c in m.channels))
    deadline = due(matches)
    return [
        (c, replace(combine([m for m in matches if c in m.channels]), deadline=deadline))
        for c in channels
    ]


def due(matches: Sequence[Match]) -> date | None:
    """The entry's one due date: the first any of its matches found (rules over the same fields
    share it; see :meth:`RuleSet.match`)."""
    return next((m.deadline for m in matches if m.deadline is not None), None)


def combine(matches: Sequence[Match]) -> Match:
    """The most severe match (the first on ties) carrying the tags, spans and due date of all."""
    if not matches:
        raise ValueError("combine() needs at least one match")
    primary = max(matches, key=lambda m: m.severity)
    if len(matches) == 1:
        return primary
    ordered = [primary, *(m for m in matches if m is not primary)]
    tags = tuple(dict.fromkeys(t for m in ordered for t in m.tags))
    spans = tuple(dict.fromkeys(s for m in ordered for s in m.spans))
    deadline = next((m.deadline for m in ordered if m.deadline is not None), None)
    return replace(primary, tags=tags, spans=spans, deadline=deadline)

"""Cross-checks of the config against the rule set it will run (pure: values in, problems out).

The config alone can be valid and still deliver nothing: a subscription to a channel no rule
publishes waits forever, silently. ``treaty-monitor config check`` reports these.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from typing import Literal

from monitor.config import Settings
from monitor.config_errors import line_of
from monitor.rules.engine import Rule

Level = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``error`` stops the check from passing, ``warning`` does not."""

    level: Level
    where: str  # "config.toml:42", "rules/x.yaml:3:5", or "" when nowhere in particular
    message: str

    def line(self) -> str:
        """``where: level: message``."""
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.level}: {self.message}"


def published_channels(rules: Iterable[Rule]) -> frozenset[str]:
    """The channels the enabled rules publish to (a disabled rule publishes nothing)."""
    return frozenset(c for rule in rules if rule.enabled for c in rule.channels)


def cross_check(
    settings: Settings,
    channels: Set[str],
    *,
    label: str = "",
    source: Sequence[str] = (),
) -> list[Problem]:
    """Problems between ``settings`` and the channels its rules publish.

    ``label`` and ``source`` (the config file's name and lines) place each problem on a line.
    """
    lines = list(source)

    def where(*loc: int | str) -> str:
        number = line_of(lines, loc) if lines else None
        return f"{label}:{number}" if label and number else label

    problems: list[Problem] = []
    published = ", ".join(sorted(channels)) or "none"
    for index, sub in enumerate(settings.subscriptions):
        for channel in sub.channels:
            if channel not in channels:
                problems.append(Problem(
                    "error", where("subscriptions", index, "channels"),
                    f"subscription {sub.name!r} listens on channel {channel!r}, which no rule "
                    f"publishes: it would deliver nothing (rules publish: {published})",
                ))  # fmt: skip
    if "sinks" in settings.model_fields_set:
        used = {sub.sink for sub in settings.subscriptions}
        for index, sink in enumerate(settings.sinks):
            if sink.name not in used:
                problems.append(Problem(
                    "warning", where("sinks", index, "name"),
                    f"sink {sink.name!r} is used by no subscription",
                ))  # fmt: skip
    return problems

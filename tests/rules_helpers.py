"""Helpers for the rules tests: rule files in a temp dir, entries, one-rule sets."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set
from monitor.rules.match import Match

PUBLISHED = datetime(2019, 1, 16, 18, 0, tzinfo=UTC)


def write(directory: Path, text: str, name: str = "rules.yaml") -> Path:
    """Write a rule file (dedented) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def entry(
    title: str = "",
    summary: str = "",
    content: str = "",
    *,
    feed: str = "desk",
    feed_tags: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    link: str = "https://example.org/a",
    guid: str = "g-1",
) -> Entry:
    """An entry with just the fields a test cares about."""
    return Entry(
        id=f"{feed}:{guid}",
        feed=feed,
        feed_url="https://example.org/feed",
        guid=guid,
        title=title,
        link=link,
        summary=summary,
        content=content,
        categories=categories,
        published=PUBLISHED,
        fetched_at=PUBLISHED,
        feed_tags=feed_tags,
    )


def one_rule(directory: Path, match: str, *, extra: str = "", vocabularies: str = "") -> RuleSet:
    """A set with one rule ``r`` whose ``match:`` is the given YAML (flow style, one line)."""
    text = "version: 1\n"
    if vocabularies:
        text += "vocabularies:\n" + textwrap.indent(textwrap.dedent(vocabularies), "  ")
    text += (
        "rules:\n"
        "  - id: r\n"
        "    title: Test rule\n"
        "    severity: high\n"
        "    channels: [test]\n"
        f"    match: {match}\n"
    )
    text += textwrap.indent(textwrap.dedent(extra), "    ") if extra else ""
    (directory / "rules.yaml").write_text(text, encoding="utf-8")
    return load_rule_set([directory])


def only(matches: list[Match]) -> Match | None:
    """The single match of a one-rule set, or ``None``."""
    assert len(matches) <= 1
    return matches[0] if matches else None


def assert_matches_exactly(rule_set: RuleSet, text: str, expected: str | None) -> None:
    """The one-rule set matches a title ``text`` on exactly ``expected`` (``None``: no match)."""
    match = only(rule_set.match(entry(title=text)))
    if expected is None:
        assert match is None
        return
    assert match is not None
    assert [s.text for s in match.spans] == [expected]
    span = match.spans[0]
    assert text[span.start : span.end] == expected

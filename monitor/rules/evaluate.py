"""Precision and recall of a rule set on labelled items (``rules evaluate``). Pure.

A labelled item is one JSON object per line: ``id``, ``lang``, ``title``, ``summary``,
``published`` (ISO 8601), ``tags`` (a subset of :data:`TAGS`; none means "must not alert") and
``deadline`` (``YYYY-MM-DD`` or null). An item counts as alerted when any rule matches it, and
as carrying a tag when a matching rule carries that tag.

Given a language detector, every item's language is detected as the daemon would: an item
without ``lang`` is scored (and its rules scoped) under the detected language, and the report
tells how often detection agreed with the labels.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from monitor.errors import MonitorError
from monitor.feeds.entry import Entry
from monitor.feeds.language import detection_text, normalise_language
from monitor.rules.match import Match

TAGS: tuple[str, ...] = (
    "withdrawal",
    "deadline",
    "suspension",
    "ratification",
    "violation",
    "talks",
)
# Developments outside the six that still deserve an alert: labelled and alerted on, not scored
# as tags (undoing a ratification is neither a ratification nor a withdrawal).
OTHER_DEVELOPMENTS: tuple[str, ...] = ("revocation", "membership")


class LabelError(MonitorError):
    """A label file is invalid; the message names the source and line."""


@dataclass(frozen=True, slots=True)
class LabelledItem:
    """One news item with the tags a careful reader gave it."""

    id: str
    lang: str
    title: str
    summary: str
    published: datetime
    tags: frozenset[str]
    deadline: date | None = None

    def to_entry(self, language: str | None = None) -> Entry:
        """The entry the rules see for this item (in ``language``, default its label's)."""
        return Entry(
            id=f"labels:{self.id}",
            feed="labels",
            feed_url="",
            guid=self.id,
            title=self.title,
            link="",
            summary=self.summary,
            published=self.published,
            fetched_at=self.published,
            language=normalise_language(self.lang if language is None else language),
        )


@dataclass(frozen=True, slots=True)
class Score:
    """Counts of one yes/no decision over the items, with the usual ratios."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """Share of alerts that were right (1.0 when nothing was claimed)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """Share of true cases found (1.0 when there was nothing to find)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, expected: bool, predicted: bool) -> Score:
        """This score with one more decision counted."""
        return Score(
            self.tp + (expected and predicted),
            self.fp + (predicted and not expected),
            self.fn + (expected and not predicted),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the rules did with one item."""

    item: LabelledItem
    rule_ids: tuple[str, ...]
    tags: frozenset[str]
    deadline: date | None
    detected: str | None = None  # None: no detector was given

    @property
    def language(self) -> str:
        """The language the item is scored under: its label's, else the detected one."""
        return self.item.lang or self.detected or "und"

    @property
    def alerted(self) -> bool:
        """Whether any rule matched."""
        return bool(self.rule_ids)

    @property
    def missing(self) -> frozenset[str]:
        """Labelled tags no matching rule carried."""
        return self.item.tags - self.tags

    @property
    def extra(self) -> frozenset[str]:
        """Tags carried by matching rules that the label does not give."""
        return self.tags - self.item.tags


@dataclass(frozen=True, slots=True)
class Report:
    """Scores of a rule set on a list of labelled items."""

    outcomes: tuple[Outcome, ...]

    @property
    def alerts(self) -> Score:
        """The "alerts at all" decision: a tagged item should alert, an untagged one should not."""
        return _score(self.outcomes, lambda o: (bool(o.item.tags), o.alerted))

    def tag(self, tag: str) -> Score:
        """The decision "this item carries ``tag``"."""
        return _score(self.outcomes, lambda o: (tag in o.item.tags, tag in o.tags))

    @property
    def tag_f1(self) -> float:
        """F1 averaged over the six tags (macro average)."""
        return sum(self.tag(t).f1 for t in TAGS) / len(TAGS)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages of the items, most frequent first."""
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.language] = counts.get(outcome.language, 0) + 1
        return tuple(sorted(counts, key=lambda lang: (-counts[lang], lang)))

    def only(self, lang: str) -> Report:
        """The report restricted to the items of one language."""
        return Report(tuple(o for o in self.outcomes if o.language == lang))

    def except_lang(self, lang: str) -> Report:
        """The report over every item not in ``lang``."""
        return Report(tuple(o for o in self.outcomes if o.language != lang))

    @property
    def misses(self) -> tuple[Outcome, ...]:
        """Tagged items on which no rule fired."""
        return tuple(o for o in self.outcomes if o.item.tags and not o.alerted)

    @property
    def false_alarms(self) -> tuple[Outcome, ...]:
        """Untagged items on which a rule fired."""
        return tuple(o for o in self.outcomes if not o.item.tags and o.alerted)

    @property
    def tag_errors(self) -> tuple[Outcome, ...]:
        """Alerted, tagged items whose tags differ from the label."""
        return tuple(
            o for o in self.outcomes if o.item.tags and o.alerted and (o.missing or o.extra)
        )

    @property
    def language_agreement(self) -> tuple[int, int]:
        """(right, checked): labelled items whose detected language is the label's."""
        checked = [o for o in self.outcomes if o.item.lang and o.detected is not None]
        right = sum(o.detected == normalise_language(o.item.lang) for o in checked)
        return right, len(checked)

    @property
    def deadline_dates(self) -> tuple[int, int]:
        """(right, checked): labelled due dates the ``deadline`` matches reproduced."""
        checked = [o for o in self.outcomes if o.item.deadline and "deadline" in o.tags]
        return sum(o.deadline == o.item.deadline for o in checked), len(checked)


def _score(outcomes: Iterable[Outcome], decide: Callable[[Outcome], tuple[bool, bool]]) -> Score:
    score = Score()
    for outcome in outcomes:
        score = score.add(*decide(outcome))
    return score


def evaluate(
    match: Callable[[Entry], Sequence[Match]],
    items: Iterable[LabelledItem],
    detect: Callable[[str], str] | None = None,
) -> Report:
    """Run every item through ``match`` (e.g. ``RuleSet.match``) and collect the outcomes.

    With ``detect``, every item's language is detected; an unlabelled item takes it.
    """
    outcomes = []
    for item in items:
        detected = None if detect is None else detect(detection_text(item.title, item.summary))
        matches = match(item.to_entry(item.lang or detected or ""))
        due = next((m.deadline for m in matches if m.deadline is not None), None)
        outcomes.append(
            Outcome(
                item=item,
                rule_ids=tuple(m.rule_id for m in matches),
                tags=frozenset(
                    t for m in matches for t in m.tags if t in TAGS or t in OTHER_DEVELOPMENTS
                ),
                deadline=due,
                detected=detected,
            )
        )
    return Report(tuple(outcomes))


def parse_labels(lines: Iterable[str], source: str) -> list[LabelledItem]:
    """Labelled items from JSON lines (blank lines skipped); raises :class:`LabelError`."""
    items: list[LabelledItem] = []
    seen: set[str] = set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(line)
            item = _item(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise LabelError(f"{where}: {_reason(exc)}") from None
        if item.id in seen:
            raise LabelError(f"{where}: duplicate id {item.id!r}")
        seen.add(item.id)
        items.append(item)
    return items


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON ({exc.msg})"
    return str(exc)


def _item(data: Any) -> LabelledItem:
    if not isinstance(data, dict):
        raise TypeError("each line must be a JSON object")
    tags = data.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TypeError("'tags' must be a list of strings")
    unknown = sorted(set(tags) - set(TAGS) - set(OTHER_DEVELOPMENTS))
    if unknown:
        allowed = ", ".join((*TAGS, *OTHER_DEVELOPMENTS))
        raise ValueError(f"unknown tag(s) {', '.join(unknown)} (allowed: {allowed})")
    published = datetime.fromisoformat(str(data["published"]))
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    deadline = data.get("deadline")
    return LabelledItem(
        id=str(data["id"]),
        lang=str(data.get("lang") or ""),
        title=str(data["title"]),
        summary=str(data.get("summary") or ""),
        published=published,
        tags=frozenset(tags),
        deadline=date.fromisoformat(str(deadline)) if deadline else None,
    )

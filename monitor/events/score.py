"""Scores of story grouping against a labelled corpus of true events. Pure.

The corpus (JSON lines, docs/events.md) gives each entry its true ``event`` (or ``null`` for an
unrelated item or a hard negative) and its true ``treaty``. A prediction gives each entry that
alerts its ``story`` and ``treaty`` id; an entry that does not alert has no story.

- **B-cubed** precision, recall and F1 of the stories against the true events, over the entries
  that alert plus the entries of true events that do not alert (each counted as a story of its
  own, so a missed report costs recall); an alerting entry with no true event is a true event of
  its own.
- **alert recall**: the share of the true events' entries that alert.
- **messages per event**: distinct stories among an event's alerting entries (a subscriber gets
  one message per story), averaged over the events that alert at all.
- **wrongly merged**: stories holding entries of two or more true events.
- **treaty ids**: for each true treaty, the treaty ids its alerting entries got; one is right.
  Reports that name no treaty at all ("a Cold War-era missile pact") get none and are counted
  apart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.errors import RuleError
from monitor.events.replay import Grouper
from monitor.events.stories import WINDOW, by_publication
from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet


@dataclass(frozen=True, slots=True)
class Truth:
    """One labelled entry."""

    id: str
    event: str | None
    treaty: str | None


@dataclass(frozen=True, slots=True)
class Predicted:
    """What the grouping made of one entry (``story`` None: it does not alert)."""

    story: str | None
    treaty: str | None = None
    source: bool = False  # joined the story as a follow-up source, without alerting


@dataclass(slots=True)
class Scores:
    """The numbers of one run."""

    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    alerting_f1: float = 0.0  # B-cubed F1 over the alerting entries only (grouping alone)
    alert_recall: float = 0.0
    messages_per_event: float = 0.0
    events: int = 0
    alerting_events: int = 0
    items: int = 0
    merged: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # story, events
    split: dict[str, int] = field(default_factory=dict)  # event -> stories (when > 1)
    treaty_ids: dict[str, tuple[str, ...]] = field(default_factory=dict)  # treaty -> ids (> 1)
    no_treaty_id: dict[str, int] = field(default_factory=dict)  # treaty -> reports with no id
    false_alerts: int = 0  # alerting entries with no true event
    sources: int = 0  # entries that joined a story as follow-up sources (they do not alert)
    false_sources: int = 0  # of which: entries of no true event, or of another event's story
    story_recall: float = 0.0  # share of the true events' entries in a story (alert or source)

    def lines(self) -> list[str]:
        """A short human report."""
        out = [
            f"B-cubed precision {self.precision:.3f} recall {self.recall:.3f} F1 {self.f1:.3f} "
            f"over {self.items} entries (over alerting entries only: F1 {self.alerting_f1:.3f})",
            f"alert recall {self.alert_recall:.3f} ({self.alerting_events}/{self.events} "
            f"events alert at least once); {self.false_alerts} alerting entries of no event",
            f"follow-up sources {self.sources} ({self.false_sources} wrong); true events' "
            f"reports in a story {self.story_recall:.3f}",
            f"messages per event {self.messages_per_event:.2f}; events wrongly merged: "
            f"{len(self.merged)} stories",
        ]
        out += [f"  merged in {story}: {', '.join(events)}" for story, events in self.merged]
        out += [f"  split: {event} in {n} stories" for event, n in sorted(self.split.items())]
        out.append("one treaty id per treaty: " + ("yes" if not self.treaty_ids else "no"))
        out += [f"  {treaty}: {', '.join(ids)}" for treaty, ids in sorted(self.treaty_ids.items())]
        out += [
            f"  {treaty}: {n} alerting report(s) with no treaty id"
            for treaty, n in sorted(self.no_treaty_id.items())
        ]
        return out


def parse_truth(lines: Iterable[str], source: str) -> list[tuple[Truth, dict[str, Any]]]:
    """The corpus rows with their truth; a bad line is a :class:`RuleError` naming it."""
    rows: list[tuple[Truth, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            truth = Truth(str(data["id"]), data.get("event"), data.get("treaty"))
        except (ValueError, KeyError, TypeError) as exc:
            raise RuleError(f"not a corpus row: {exc}", file=source, line=number) from None
        rows.append((truth, data))
    return rows


def score(truths: Iterable[Truth], predicted: Mapping[str, Predicted]) -> Scores:
    """Score the predictions (keyed by entry id) against the truth."""
    items: dict[str, tuple[str, str]] = {}  # id -> (gold cluster, predicted cluster)
    result = Scores()
    by_treaty: dict[str, set[str]] = {}
    event_entries: dict[str, int] = {}
    event_alerts: dict[str, int] = {}
    event_stories: dict[str, int] = {}  # reports that joined by a source
    sources: list[str] = []
    for truth in truths:
        guess = predicted.get(truth.id, Predicted(None))
        if guess.story is not None and guess.source:
            sources.append(truth.id)
        if truth.event is not None:
            event_entries[truth.event] = event_entries.get(truth.event, 0) + 1
        if guess.story is None:
            if truth.event is not None:
                items[truth.id] = (truth.event, f"missed:{truth.id}")
            continue
        if guess.source:
            result.sources += 1
            if truth.event is not None:
                event_stories[truth.event] = event_stories.get(truth.event, 0) + 1
        elif truth.event is None:
            result.false_alerts += 1
        else:
            event_alerts[truth.event] = event_alerts.get(truth.event, 0) + 1
            if truth.treaty and guess.treaty:
                by_treaty.setdefault(truth.treaty, set()).add(guess.treaty)
            elif truth.treaty:
                result.no_treaty_id[truth.treaty] = result.no_treaty_id.get(truth.treaty, 0) + 1
        items[truth.id] = (truth.event or f"none:{truth.id}", guess.story)
    alerting = {
        k: v for k, v in items.items() if not v[1].startswith("missed:") and k not in sources
    }
    result.alerting_f1 = _bcubed(Scores(), alerting).f1
    _bcubed(result, items)
    result.events = len(event_entries)
    result.alerting_events = len(event_alerts)
    result.alert_recall = sum(event_alerts.values()) / max(1, sum(event_entries.values()))
    joined = sum(event_alerts.values()) + sum(event_stories.values())
    result.story_recall = joined / max(1, sum(event_entries.values()))
    _stories(result, items)
    result.false_sources = _false_sources(sources, items)
    result.treaty_ids = {t: tuple(sorted(ids)) for t, ids in by_treaty.items() if len(ids) > 1}
    return result


def _false_sources(sources: Iterable[str], items: Mapping[str, tuple[str, str]]) -> int:
    """Sources of no true event, or joined to a story whose alerting reports are of another."""
    chosen = set(sources)
    alerting: dict[str, set[str]] = {}
    for item, (gold, story) in items.items():
        if item not in chosen:
            alerting.setdefault(story, set()).add(gold)
    return sum(
        1
        for item in chosen
        if items[item][0].startswith("none:")
        or items[item][0] not in alerting.get(items[item][1], set())
    )


def _bcubed(result: Scores, items: Mapping[str, tuple[str, str]]) -> Scores:
    gold: dict[str, set[str]] = {}
    pred: dict[str, set[str]] = {}
    for item, (g, p) in items.items():
        gold.setdefault(g, set()).add(item)
        pred.setdefault(p, set()).add(item)
    # Averaged over the reports of true events: an item of no event that alerts is a false
    # alert (counted apart), not a perfectly grouped singleton; where it joins a story it still
    # lowers the precision of the story's true reports.
    precision = recall = 0.0
    scored = 0
    for g, p in items.values():
        if g.startswith("none:"):
            continue
        scored += 1
        both = len(gold[g] & pred[p])
        precision += both / len(pred[p])
        recall += both / len(gold[g])
    n = max(1, scored)
    result.items = scored
    result.precision, result.recall = precision / n, recall / n
    total = result.precision + result.recall
    result.f1 = 2 * result.precision * result.recall / total if total else 0.0
    return result


def _stories(result: Scores, items: Mapping[str, tuple[str, str]]) -> None:
    """Messages per event, events split over stories, stories merging events."""
    of_event: dict[str, set[str]] = {}
    of_story: dict[str, set[str]] = {}
    for g, p in items.values():
        if p.startswith("missed:"):
            continue
        if not g.startswith("none:"):
            of_event.setdefault(g, set()).add(p)
        of_story.setdefault(p, set()).add(g)
    counts = [len(stories) for stories in of_event.values()]
    result.messages_per_event = sum(counts) / len(counts) if counts else 0.0
    result.split = {e: len(s) for e, s in of_event.items() if len(s) > 1}
    for story, events in sorted(of_story.items()):
        real = tuple(sorted(e for e in events if not e.startswith("none:")))
        if len(real) > 1:
            result.merged.append((story, real))


def entry_of(row: Mapping[str, Any]) -> Entry:
    """A corpus row as the entry a feed would have given."""
    published = datetime.fromisoformat(str(row["published"]).replace("Z", "+00:00"))
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    feed = str(row.get("feed") or "corpus")
    return Entry(
        id=f"{feed}:{row['id']}",
        feed=feed,
        feed_url=str(row.get("feed_url") or ""),
        guid=str(row["id"]),
        title=str(row.get("title") or ""),
        link=str(row.get("link") or row.get("feed_url") or ""),
        summary=str(row.get("summary") or ""),
        published=published,
        fetched_at=published,
        language=str(row.get("language") or ""),
    )


def predict(
    rows: Iterable[Mapping[str, Any]], rule_set: RuleSet, window: timedelta = WINDOW
) -> dict[str, Predicted]:
    """Group the rows as ``match`` does (publication order); predictions keyed by row id."""
    grouper = Grouper(rule_set, window=window)
    entries = {str(row["id"]): entry_of(row) for row in rows}
    predicted: dict[str, Predicted] = {}
    for row_id, entry in by_publication(entries.items(), lambda pair: pair[1].published):
        event, story = grouper.add(entry, rule_set.match(entry))
        predicted[row_id] = Predicted(story, event.treaty if event else None, event is None)
    for row_id, entry in entries.items():  # sources that joined a story opened after them
        if predicted[row_id].story is None and (story := grouper.story_of(entry)) is not None:
            predicted[row_id] = Predicted(story, None, True)
    return predicted

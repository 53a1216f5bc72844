"""Story grouping: the same story from several outlets becomes one alert plus "+N sources". Pure.

A story is keyed by the content words of its title. A new alert joins a recent story of the same
rule when the Jaccard similarity of their word sets is at least :data:`THRESHOLD`.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

THRESHOLD = 0.5
_WORD = re.compile(r"\w+")
# Function words of the languages feeds most often use; they say nothing about which story it is.
_STOPWORDS = frozenset(
    """
    a an and are as at be by for from has have in into is it its of on or over says said that the
    their this to was were will with after amid new news report reports update live
    le la les des du de et un une en sur pour par au aux
    der die das und ein eine mit von zu im auf für
    el los las del y en por para con
    """.split()  # noqa: SIM905 - a word list reads better as text
)


def story_words(title: str) -> frozenset[str]:
    """The normalised content words of a title (accents folded, case folded, stopwords out)."""
    folded = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return frozenset(
        w for w in _WORD.findall(plain) if w not in _STOPWORDS and (len(w) > 1 or w.isdigit())
    )


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 0.0 when both are empty."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


@dataclass(frozen=True, slots=True)
class Story:
    """One story seen by one subscription: the alert that opened it and the sources since."""

    id: str
    rule_id: str
    words: frozenset[str]
    first_feed: str
    opened_at: float
    alert_json: str
    sources: tuple[str, ...] = ()
    reported: int = 0
    last_sent: float = 0.0

    def to_json(self) -> str:
        """Serialise for Redis."""
        data: dict[str, Any] = {
            "id": self.id,
            "rule_id": self.rule_id,
            "words": sorted(self.words),
            "first_feed": self.first_feed,
            "opened_at": self.opened_at,
            "alert": self.alert_json,
            "sources": list(self.sources),
            "reported": self.reported,
            "last_sent": self.last_sent,
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Story:
        """Inverse of :meth:`to_json`."""
        data = json.loads(raw)
        return cls(
            id=str(data["id"]),
            rule_id=str(data["rule_id"]),
            words=frozenset(data["words"]),
            first_feed=str(data["first_feed"]),
            opened_at=float(data["opened_at"]),
            alert_json=str(data["alert"]),
            sources=tuple(data.get("sources", ())),
            reported=int(data.get("reported", 0)),
            last_sent=float(data.get("last_sent", 0.0)),
        )


def find_story(
    words: frozenset[str],
    rule_id: str,
    stories: Iterable[Story],
    *,
    now: float,
    window: float,
    threshold: float = THRESHOLD,
) -> Story | None:
    """The most similar open story of ``rule_id`` (opened within ``window``), if similar enough."""
    best: Story | None = None
    best_score = 0.0
    for story in stories:
        if story.rule_id != rule_id or now - story.opened_at > window:
            continue
        score = jaccard(words, story.words)
        if score >= threshold and score > best_score:
            best, best_score = story, score
    return best


def absorb(story: Story, feed: str) -> Story:
    """``story`` with ``feed`` counted as another source (each outlet counts once)."""
    if feed == story.first_feed or feed in story.sources:
        return story
    return replace(story, sources=(*story.sources, feed))


def followup_due(story: Story, *, now: float, delay: float) -> bool:
    """Whether the story has unreported sources and its last message is ``delay`` old."""
    return len(story.sources) > story.reported and now - story.last_sent >= delay


def expired(story: Story, *, now: float, window: float) -> bool:
    """Whether the story is past its window and has nothing left to report."""
    return now - story.opened_at > window and len(story.sources) <= story.reported

"""Stories: the reports of one event, across outlets and languages, share one story id. Pure.

An entry joins a story when all of these hold (docs/events.md):

- the same treaty id and the same development (both language-independent); suspension and
  withdrawal count as the same development when the reports share an actor or one names both
  (:data:`SIBLINGS`: "Putin mirrors Trump and walks away from missile deal" and "Russia suspends
  INF" are one step), and so does a report of a due date alone and the step of the same actor;
- actor sets that overlap (or one side names no actor);
- a report naming no treaty id but a treaty by a common noun ("arms treaty") may join a story of
  a named treaty whose actors and development it shares, when all such stories are of one
  treaty;
- its *publication* time within :data:`WINDOW` of the story's first report (so a backfill of
  2019 news never joins a 2023 story, and a withdrawal that takes effect six months after its
  notice is a new story).

Title similarity never decides alone: it only ranks several eligible stories, and it is required
in addition when the entry names no treaty (treaty ``None``: a general "treaty" word), unless
both reports name the same actors taking the same step with another state both name (a party
of the treaty they leave unnamed: "fisheries pact with South Korea"), or the same two or more
states acting together.

Stories are kept in buckets keyed by treaty and time slot (:func:`slot_keys`), so a store only
reads the few stories an entry could join: the in-memory :class:`StoryIndex` here (``match``,
``rules backtest``) and the Redis one in :mod:`monitor.events.store` (the daemon).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from monitor.events.model import Event

T = TypeVar("T")
WINDOW = timedelta(days=3)
# Without a treaty id, titles must share this much (Jaccard of their words) as well.
UNNAMED_TREATY_SIMILARITY = 0.3
# Developments outlets use for one step: a state suspending its obligations while starting to
# leave is reported as either.
SIBLINGS = frozenset({"suspension", "withdrawal"})
_WORDS = re.compile(r"\w{3,}")
# The bucket name of every treaty's stories (no treaty id contains "~").
ALL = "~all"
# A title word naming a treaty by a common noun ("a Cold War-era arms treaty", "Frauenschutz-
# Konvention"): a report naming no treaty id joins a story of another treaty only with one.
_TREATY_NOUN = re.compile(
    r"treaty|treaties|pacts?|accords?|agreements?|conventions?|deals?|\w*vertrag\w*|"
    r"\w*abkommen\w*|\w*konvention\w*|traités?|tratados?|acuerdos?|pactos?|convenios?|"
    r"convención|договор\w*|соглашени\w*|конвенци\w*|сделк\w*"
)


@dataclass(frozen=True, slots=True)
class Story:
    """One story: its key, the time of its first report, the words of that report's title."""

    id: str
    treaty: str | None
    development: str
    actors: tuple[str, ...]
    start: datetime
    words: frozenset[str] = frozenset()
    tags: tuple[str, ...] = ()  # the first report's development and secondary tags
    # The channels its first report's alerts go to (the daemon's: a source joining the story
    # before they are published still knows where to go).
    channels: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()  # the first report's (a story of no treaty id)

    def to_json(self) -> str:
        """Serialised for a store."""
        return json.dumps(
            {
                "id": self.id,
                "treaty": self.treaty,
                "development": self.development,
                "actors": list(self.actors),
                "start": self.start.isoformat(),
                "words": sorted(self.words),
                "tags": list(self.tags),
                "channels": list(self.channels),
                "parties": list(self.parties),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Story:
        """Inverse of :meth:`to_json`."""
        data: dict[str, Any] = json.loads(raw)
        return cls(
            id=str(data["id"]),
            treaty=data.get("treaty"),
            development=str(data["development"]),
            actors=tuple(data.get("actors", ())),
            start=datetime.fromisoformat(data["start"]),
            words=frozenset(data.get("words", ())),
            tags=tuple(data.get("tags", ())),
            channels=tuple(data.get("channels", ())),
            parties=tuple(data.get("parties", ())),
        )


def bucket(event: Event) -> str:
    """The stories an event could join share this key: its treaty id."""
    return event.treaty or "-"


def slot_keys(event: Event, at: datetime, window: timedelta = WINDOW) -> tuple[str, str, str]:
    """The buckets holding every story the event could join: its own slot first, then the slots
    before and after (a story within one window of it starts in one of the three). An event
    naming no treaty reads the slots' stories of every treaty (:data:`ALL`)."""
    middle = slot(event.published or at, window)
    name = bucket(event) if event.treaty else ALL
    return (f"{name}@{middle}", f"{name}@{middle - 1}", f"{name}@{middle + 1}")


def home_keys(event: Event, at: datetime, window: timedelta = WINDOW) -> tuple[str, ...]:
    """The buckets a story the event opens is written to: its treaty's slot and the slot of
    every treaty (read by reports naming no treaty), or only the latter for a story of none."""
    middle = slot(event.published or at, window)
    if event.treaty is None:
        return (f"{ALL}@{middle}",)
    return (f"{bucket(event)}@{middle}", f"{ALL}@{middle}")


def slot(moment: datetime, window: timedelta = WINDOW) -> int:
    """The time slot, one window wide, of a story first reported at ``moment``."""
    return math.floor(aware(moment).timestamp() / window.total_seconds())


def same_development(event: Event, story: Story) -> bool:
    """Whether the event reports the story's development (see :data:`SIBLINGS`)."""
    if event.development == story.development:
        return True
    pair = {event.development, story.development}
    tags = {event.development, *event.secondary}
    if event.development in story.tags and story.development in tags:
        return True  # each report names the other's step too: one step, read two ways
    if "deadline" in pair:
        # A report led by a step's due date reports that step when it names the step, or when
        # the other report carries the date too: "60 days to comply", "US gives Russia 60 days
        # to return to compliance" and "the US exit, in six months" are one story.
        dated, other = (story.tags, tags) if story.development == "deadline" else (tags, story.tags)
        if (pair - {"deadline"}) <= set(dated) or "deadline" in other:
            return True
    return pair <= SIBLINGS and (event.development in story.tags or story.development in tags)


def title_words(title: str) -> frozenset[str]:
    """Case-folded words of three letters or more."""
    return frozenset(_WORDS.findall(title.casefold()))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two word sets (0 when both are empty)."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def story_id(entry_id: str, event: Event) -> str:
    """A stable id: the first report's entry id and the event's key."""
    key = f"{entry_id}\x00{bucket(event)}\x00{event.development}\x00{','.join(event.actors)}"
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def open_story(
    entry_id: str,
    event: Event,
    words: frozenset[str],
    at: datetime,
    channels: tuple[str, ...] = (),
) -> Story:
    """The new story an entry starts (``channels``: where its alerts go)."""
    return Story(
        id=story_id(entry_id, event),
        treaty=event.treaty,
        development=event.development,
        actors=event.actors,
        start=aware(event.published or at),
        words=words,
        tags=(event.development, *event.secondary),
        channels=channels,
        parties=event.parties,
    )


def choose(
    event: Event,
    words: frozenset[str],
    candidates: Iterable[Story],
    at: datetime,
    window: timedelta = WINDOW,
) -> Story | None:
    """The story the event joins among ``candidates`` (its bucket), or ``None`` for a new one.

    An event naming no treaty id joins a story of another treaty when its title names a treaty
    by a common noun ("Blinken calls Russian move on arms treaty ..."), it names the story's
    actors, and the stories it could join are all of one treaty (two would be a guess)."""
    published = aware(event.published or at)
    eligible: list[tuple[tuple[int, float, float], Story]] = []
    for story in candidates:
        if abs(published - aware(story.start)) > window:
            continue
        shared = set(story.actors) & set(event.actors)
        if story.actors and event.actors and not shared:
            continue  # a different actor is a different story
        if story.treaty != event.treaty and not _described(event, words, story, shared):
            continue
        siblings = {event.development, story.development} <= SIBLINGS
        lone_deadline = _lone_deadline(event, story)
        if not (same_development(event, story) or ((lone_deadline or siblings) and shared)):
            continue
        alike = similarity(words, story.words)
        if (
            event.treaty is None
            and story.treaty is None
            and alike < UNNAMED_TREATY_SIMILARITY
            and not _same_parties(event, story)
        ):
            continue
        exact = int(set(story.actors) == set(event.actors)) + int(
            story.development == event.development
        )
        distance = abs((published - aware(story.start)).total_seconds())
        eligible.append(((exact, alike, -distance), story))
    if len({story.treaty for _, story in eligible} - {None}) > 1:
        eligible = [pair for pair in eligible if pair[1].treaty is None]
    if not event.actors:
        # A report naming no actor, where stories of different actors could take it ("Climat :
        # Strasbourg ratifie l'accord de Paris" beside India's ratification two days before):
        # choosing one would be a guess.
        named = [frozenset(story.actors) for _, story in eligible if story.actors]
        if named and not frozenset.intersection(*named):
            eligible = [pair for pair in eligible if not pair[1].actors]
    if not eligible:
        return None
    return max(eligible, key=lambda pair: pair[0])[1]


def _described(event: Event, words: frozenset[str], story: Story, shared: set[str]) -> bool:
    """Whether an event naming no treaty id may join a story of a named treaty: its title names
    a treaty by a common noun and only the story's actors ("Mali, Niger scrap tax treaties with
    France" is not Niger's exit from the EU missions the day before), and no treaty with a
    named state ("la denuncia del tratado de extradición con Estados Unidos" is not Honduras's
    ICSID exit)."""
    return (
        event.treaty is None
        and story.treaty is not None
        and bool(shared)
        and set(event.actors) <= set(story.actors)
        and not event.bilateral
        and any(_TREATY_NOUN.fullmatch(word) for word in words)
    )


def _same_parties(event: Event, story: Story) -> bool:
    """Whether two reports naming no treaty id name one treaty all the same: the same actors
    taking the same step on a treaty with another state both name ("Japan gives notice to end
    fisheries pact with South Korea", "Tokyo dénonce l'accord de pêche qui le liait à Séoul"),
    in any words and language (a summary may name more states in passing), or the same two or
    more states acting together on it."""
    if not (event.actors and set(event.actors) == set(story.actors)):
        return False
    if event.development != story.development:
        return False
    if len(event.actors) >= 2 and not event.parties and not story.parties:
        # the parties themselves act together: "India, Bangladesh exchange instruments of land
        # boundary pact", "Inde-Bangladesh : un accord pour en finir avec les enclaves"
        return True
    return bool(set(event.parties) & set(story.parties))


def _lone_deadline(event: Event, story: Story) -> bool:
    """Whether one side reports only a due date and the other a step: "Climat : Trump sort les
    États-Unis de l'accord de Paris" read as the exit's date alone is the exit's story (the
    actors must be shared)."""
    if event.development == "deadline" and not event.secondary:
        return story.development != "deadline"
    return story.tags == ("deadline",) and event.development != "deadline"


class StoryIndex:
    """Stories in memory, for ``match`` and ``rules backtest`` (feed entries by publication).

    With ``follow`` (:func:`monitor.events.sources.follow`), follow-up sources join stories too:
    one that joins none waits, and joins the first story opened later that it would have joined
    (``late`` lists those joins), as in the daemon.
    """

    def __init__(
        self, window: timedelta = WINDOW, follow: Callable[..., Story | None] | None = None
    ) -> None:
        self.window = window
        self.follow = follow
        self._buckets: dict[str, list[Story]] = {}
        self._of_entry: dict[str, str] = {}
        self._waiting: dict[str, list[tuple[str, Event, frozenset[str]]]] = {}
        self.late: list[tuple[str, str]] = []  # (source entry id, story id), in join order

    def assign(self, entry_id: str, event: Event, title: str, at: datetime) -> str:
        """The story id of an entry's event, opening a story when it joins none."""
        if entry_id in self._of_entry:
            return self._of_entry[entry_id]
        words = title_words(title)
        keys = slot_keys(event, at, self.window)
        stories = [story for key in keys for story in self._buckets.get(key, ())]
        story = choose(event, words, stories, at, self.window)
        if story is None:
            story = open_story(entry_id, event, words, at)
            for key in home_keys(event, at, self.window):
                self._buckets.setdefault(key, []).append(story)
            self._join_waiting(story, keys)
        self._of_entry[entry_id] = story.id
        return story.id

    def join(self, entry_id: str, source: Event, title: str, at: datetime) -> str | None:
        """The story a follow-up source joins, or ``None`` (it waits for a story opened later);
        a source never opens a story."""
        if entry_id in self._of_entry:
            return self._of_entry[entry_id]
        if self.follow is None:
            return None
        words = title_words(title)
        keys = slot_keys(source, at, self.window)
        stories = [story for key in keys for story in self._buckets.get(key, ())]
        story = self.follow(source, words, stories, at, self.window)
        if story is None:
            self._waiting.setdefault(keys[0], []).append((entry_id, source, words))
            return None
        self._of_entry[entry_id] = story.id
        return story.id

    def story_of(self, entry_id: str) -> str | None:
        """The story an entry was given (a waiting source's, once it joined one)."""
        return self._of_entry.get(entry_id)

    def _join_waiting(self, story: Story, keys: tuple[str, str, str]) -> None:
        """Waiting sources that the new story takes, in the order they arrived."""
        if self.follow is None:
            return
        for key in keys:
            waiting = self._waiting.get(key, [])
            for item in list(waiting):
                entry_id, source, words = item
                if self.follow(source, words, [story], story.start, self.window) is story:
                    waiting.remove(item)
                    self._of_entry[entry_id] = story.id
                    self.late.append((entry_id, story.id))


def by_publication(items: Iterable[T], published: Callable[[T], datetime]) -> list[T]:
    """Items in order of publication (stable for equal times), as ``match`` and backtest group."""
    return sorted(items, key=lambda item: _utc_key(published(item)))


def _utc_key(moment: datetime) -> float:
    return aware(moment).timestamp()


def aware(moment: datetime) -> datetime:
    """A time without a zone is taken as UTC (feeds that give none), so any two compare."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

"""Events and stories for entries replayed in publication order (``match``, ``rules backtest``).

The same extraction and the same story choice as the daemon's engine, with the in-memory
:class:`~monitor.events.stories.StoryIndex` instead of Redis. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from monitor.events.actors import ActorTable, load_actors
from monitor.events.extract import extractor_for
from monitor.events.model import Event
from monitor.events.sources import follow
from monitor.events.stories import WINDOW, StoryIndex
from monitor.feeds.entry import Entry
from monitor.rules.engine import RuleSet
from monitor.rules.match import Match


class Grouper:
    """Gives each alerting entry its event and story, entry by entry."""

    def __init__(
        self, rules: RuleSet, actors: ActorTable | None = None, window: timedelta = WINDOW
    ) -> None:
        self.extractor = extractor_for(rules, actors or load_actors())
        self.index = StoryIndex(window, follow)
        self.stories: dict[str, int] = {}  # story id -> entries in it (sources included)
        self.sources = 0  # entries that joined a story as a follow-up source

    def add(self, entry: Entry, matches: Sequence[Match]) -> tuple[Event | None, str | None]:
        """The event and story of an entry whose matches alert; ``None`` and the story of an
        entry that alerts on nothing but joins a story as a follow-up source
        (:mod:`monitor.events.sources`); ``None, None`` otherwise (a source may still join a
        story opened later: :meth:`story_of`)."""
        event = self.extractor.event(entry, matches)
        if event is None:
            source = self.extractor.source(entry)
            if source is None:
                return None, None
            joined = self.index.join(entry.id, source, entry.title, entry.published)
            if joined is not None:
                self._count(joined)
            return None, joined
        late = len(self.index.late)
        story = self.index.assign(entry.id, event, entry.title, entry.published)
        self.stories[story] = self.stories.get(story, 0) + 1
        for _, joined in self.index.late[late:]:
            self._count(joined)  # sources that waited for this story
        return event, story

    def story_of(self, entry: Entry) -> str | None:
        """The story of an entry added before: a source that waited has one once it joined."""
        return self.index.story_of(entry.id)

    def _count(self, story: str) -> None:
        self.stories[story] = self.stories.get(story, 0) + 1
        self.sources += 1

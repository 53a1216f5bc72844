"""Follow-up sources: reports that alert on no rule but name a story's treaty and actor. Pure.

A third of the reports of a true event lead on a reaction, a quote or a consequence ("Tokyo
alarmed as ...", "What India's move means for ...") and match no rule, so they never alert. Such
a report still tells the subscriber another outlet covers the story: it joins an open story as a
follow-up source ("+N sources"), never as an alert, when all of these hold (docs/events.md):

- it names a treaty (a canonical id, not a general name) and at least one actor taking a step
  (:meth:`monitor.events.extract.Extractor.source`); the actor is one of the story's;
- its *publication* time lies within the window of the story's first report;
- it reads as news, not background: no explainer or anniversary cue in its title
  (``data/sources.yaml``), no background guard cue ("last year", "in 2007", "уже") and no
  question mark closing the title;
- it leads on no step of its own (an expulsion, sanctions, a counter-step, a threat:
  ``other_steps`` in ``data/sources.yaml``);
- when it uses the pack's words for an exit, a pause or a body's sanction, or for a breach, the
  story is of that kind (or of another: talks, joining, a due date): an exit is no follow-up of
  a finding of breach against the same state the same day.

A source only joins a story an alerting report opened: it never opens one (one that joins none
waits for the first story opened later that it would join), and it reports no development of its
own (it matched no rule), so it never splits or re-dates a story.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import yaml

from monitor.events.model import Event
from monitor.events.stories import WINDOW, Story, aware, similarity
from monitor.feeds.entry import Entry
from monitor.rules.guards import Guard, find_cues

_DATA = "data/sources.yaml"


@cache
def _cues() -> dict[str, re.Pattern[str]]:
    """The cue lists of ``data/sources.yaml``, one alternation per list (all languages)."""
    raw = resources.files("monitor.events").joinpath(_DATA).read_bytes()
    data = yaml.safe_load(raw)
    return {
        name: _alternation(term for terms in data[name].values() for term in terms)
        for name in ("background", "occasions", "other_steps", "other_steps_in_title")
    }


def _alternation(terms: Iterable[str]) -> re.Pattern[str]:
    spelled = []
    for term in terms:
        pattern = (
            re.escape(term.casefold())
            .replace(r"\#", r"\d+")
            .replace("\\ ", r"\s+")
            .replace(re.escape("~"), r"\S+")
        )
        spelled.append(pattern[:-2] + r"\w*" if pattern.endswith(r"\*") else pattern)
    return re.compile(r"(?<!\w)(?:" + "|".join(spelled) + r")(?!\w)")


def background(entry: Entry) -> bool:
    """Whether the entry's title reads as background rather than news of a step."""
    title = entry.title.casefold().strip()
    if not title or title.endswith("?") or _cues()["background"].search(title):
        return True
    year = entry.published.year if entry.published else None
    cues = find_cues(title, (Guard.BACKGROUND,), year)
    occasion = _cues()["occasions"]
    dating = [c for c in cues.clauses if not occasion.match(title, c[0])]
    return bool(cues.initial or cues.dated or dating)


def other_step(entry: Entry) -> bool:
    """Whether the title or summary leads on a step of its own (an expulsion, sanctions, a
    counter-step): such a report is another development than the story it names."""
    cues = _cues()
    title, summary = entry.title.casefold(), entry.summary.casefold()
    if cues["other_steps_in_title"].search(title):
        return True
    return any(cues["other_steps"].search(text) for text in (title, summary))


def follow(
    event: Event,
    words: frozenset[str],
    candidates: Iterable[Story],
    at: datetime,
    window: timedelta = WINDOW,
) -> Story | None:
    """The story a source joins among ``candidates`` (its treaty's bucket), or ``None``.

    ``event`` is the source's reading (:meth:`Extractor.source`: treaty and actors, no
    development). Among the stories of its treaty, within the window, sharing an actor with it,
    the one sharing the most actors wins, then the closest title, then the closest in time.
    """
    if event.treaty is None or not event.actors:
        return None
    published = aware(event.published or at)
    eligible: list[tuple[tuple[int, float, float], Story]] = []
    for story in candidates:
        if story.treaty != event.treaty or not _may_report(event.secondary, story):
            continue
        distance = abs((published - aware(story.start)).total_seconds())
        if distance > window.total_seconds():
            continue
        shared = len(set(story.actors) & set(event.actors))
        if not shared:
            continue
        eligible.append(((shared, similarity(words, story.words), -distance), story))
    if not eligible:
        return None
    return max(eligible, key=lambda pair: pair[0])[1]


# An exit, a pause and a body's sanction on a member are told in each other's words ("leaving
# the Council of Europe rather than face suspension"); a breach is told in its own.
_FAMILIES = (frozenset({"withdrawal", "suspension", "membership"}), frozenset({"violation"}))
_TOLD_APART = frozenset().union(*_FAMILIES)


def _may_report(words: Iterable[str], story: Story) -> bool:
    """Whether a source may report the story, given the developments whose words it uses: one
    that uses none may report any; one that uses some, a story of their family only ("Colonels
    walk out of Strasbourg club" is no follow-up of the Council's finding that Greece breached
    its Statute)."""
    named = set(words)
    told = {story.development, *story.tags}
    if not named or not told & _TOLD_APART:
        return True  # a story of another step (talks, joining, a due date): words tell nothing
    return any(named & family and told & family for family in _FAMILIES)

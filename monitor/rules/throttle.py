"""Throttle keys: which alerts count as "the same" for a rule's realert window. Pure."""

from __future__ import annotations

import hashlib
import re

from monitor.feeds.entry import Entry

_WORD = re.compile(r"\w+")
# Words that say nothing about which story a headline tells.
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "and",
        "or",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "it",
        "its",
        "this",
        "that",
        "over",
        "after",
        "before",
        "says",
        "said",
        "say",
        "new",
        "update",
        "updated",
        "live",
        "breaking",
        "exclusive",
    }
)


def story_fingerprint(title: str) -> str:
    """A fingerprint equal for headlines that use the same words in any order and case."""
    words = {w for w in _WORD.findall(title.casefold()) if w not in _STOPWORDS}
    return _digest(" ".join(sorted(words)) or title.casefold().strip())


def throttle_key(kind: str, entry: Entry) -> str:
    """The key one realert window is counted under: ``link``, ``title``, ``story`` or ``entry``."""
    if kind == "link":
        return "link:" + _digest(entry.link or entry.id)
    if kind == "title":
        return "title:" + _digest(" ".join(entry.title.casefold().split()))
    if kind == "entry":
        return "entry:" + _digest(entry.id)
    return "story:" + story_fingerprint(entry.title)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()[:16]

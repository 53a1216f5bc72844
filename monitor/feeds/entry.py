"""The normalised feed entry: the value that travels from the fetcher to the rules engine."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from monitor.sentences import first_sentence


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of one feed, normalised: plain text, UTC dates, http(s) links only.

    ``id`` is stable and scoped by feed (``<feed>:<key>``); ``guid`` is the id as the feed gave it.
    """

    id: str
    feed: str
    feed_url: str
    guid: str
    title: str
    link: str
    summary: str = ""
    content: str = ""
    categories: tuple[str, ...] = ()
    published: datetime = field(default_factory=lambda: datetime.now(UTC))
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    feed_tags: tuple[str, ...] = ()
    language: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (dates as ISO 8601 strings)."""
        # Field by field: dataclasses.asdict deep-copies every value, and this runs per entry.
        data = {name: getattr(self, name) for name in _FIELDS}
        data["published"] = self.published.isoformat()
        data["fetched_at"] = self.fetched_at.isoformat()
        data["categories"] = list(self.categories)
        data["feed_tags"] = list(self.feed_tags)
        return data

    def to_json(self) -> str:
        """Serialise for a stream field."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        """Inverse of :meth:`to_dict`; unknown keys are ignored so old readers survive."""
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        for key in ("published", "fetched_at"):
            if isinstance(values.get(key), str):
                values[key] = datetime.fromisoformat(values[key])
        for key in ("categories", "feed_tags"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)

    @classmethod
    def from_json(cls, raw: str | bytes) -> Entry:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(raw))

    def field_text(self, name: str) -> str:
        """The text of a matchable field by its rule-file name."""
        if name == "categories":
            return "\n".join(self.categories)
        if name == "feed":
            return self.feed
        if name == "lead":
            return first_sentence(self.summary or self.content)
        value = getattr(self, name)
        return value if isinstance(value, str) else ""


_FIELDS = tuple(f.name for f in fields(Entry))

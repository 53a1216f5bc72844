"""The event an alert reports: treaty, actors, development, due date, publication time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """One treaty development as the text reports it.

    ``treaty`` is a canonical vocabulary id (``inf``, ``new-start``), ``actors`` are ISO 3166
    alpha-2 codes or organisation ids, sorted (``parties``: the other states a report naming no
    treaty id names); ``development`` is the primary tag and
    ``secondary`` the other tags the entry carries. The display names travel with the ids, so a
    notifier renders the event line without the vocabulary the engine used.
    """

    treaty: str | None
    actors: tuple[str, ...]
    development: str
    secondary: tuple[str, ...] = ()
    due: date | None = None
    published: datetime | None = None
    treaty_name: str | None = None
    actor_names: tuple[str, ...] = ()
    # The states a report naming no treaty id names besides its actors ("Japan gives notice to
    # end fisheries pact with South Korea": kr): the unnamed treaty's other parties.
    parties: tuple[str, ...] = ()
    # ... and whether it names its treaty by a state it is with ("extradition treaty with the
    # US"): a bilateral treaty, never a multilateral one named in another report.
    bilateral: bool = False

    def line(self) -> str:
        """The event line sinks show: ``Russia · New START · suspension``."""
        actors = ", ".join(self.actor_names or self.actors)
        treaty = self.treaty_name or self.treaty
        return " · ".join(part for part in (actors, treaty, self.development) if part)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; the ``event`` object of alerts and ``match --format jsonl`` rows."""
        return {
            "treaty": self.treaty,
            "actors": list(self.actors),
            "development": self.development,
            "secondary": list(self.secondary),
            "due": self.due.isoformat() if self.due else None,
            "published": self.published.isoformat() if self.published else None,
            "treaty_name": self.treaty_name,
            "actor_names": list(self.actor_names),
            "parties": list(self.parties),
            "bilateral": self.bilateral,
            "line": self.line(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Inverse of :meth:`to_dict`."""
        due, published = data.get("due"), data.get("published")
        return cls(
            treaty=data.get("treaty"),
            actors=tuple(data.get("actors", ())),
            development=str(data["development"]),
            secondary=tuple(data.get("secondary", ())),
            due=date.fromisoformat(due) if due else None,
            published=datetime.fromisoformat(published) if published else None,
            treaty_name=data.get("treaty_name"),
            actor_names=tuple(data.get("actor_names", ())),
            parties=tuple(data.get("parties", ())),
            bilateral=bool(data.get("bilateral", False)),
        )

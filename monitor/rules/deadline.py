"""Due dates stated in treaty text ("within 60 days", "expires on 5 February 2026"). Pure."""

from __future__ import annotations

from datetime import date, datetime


def extract_deadline(text: str, published: datetime) -> date | None:
    """The due date the text states, counted from ``published`` when relative; else ``None``."""
    del text, published
    return None

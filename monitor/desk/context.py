"""What every desk handler reads through: the stores, the guard, the templates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import jinja2
import redis.asyncio as aioredis

from monitor.desk.security import Guard
from monitor.history.record import FILTERS, Cursor
from monitor.history.store import HistoryStore, Page
from monitor.silences.store import SilenceStore
from monitor.streams import Keys


@dataclass(frozen=True)
class DeskContext:
    """The desk's view of the daemon's state."""

    client: aioredis.Redis
    keys: Keys
    guard: Guard
    history: HistoryStore
    silences: SilenceStore
    templates: jinja2.Environment


def filters_of(query: Mapping[str, str]) -> dict[str, str]:
    """The filter labels set (non-empty) in a query string."""
    return {label: query[label] for label in FILTERS if query.get(label)}


async def page_of(ctx: DeskContext, query: Mapping[str, str], limit: int) -> Page:
    """One page of stories for a query string (filters, ``q``, ``cursor``)."""
    cursor = Cursor.decode(query["cursor"]) if query.get("cursor") else None
    text = query.get("q", "").strip()[:200]
    return await ctx.history.page(filters_of(query), text, cursor=cursor, limit=limit)

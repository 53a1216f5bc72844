"""What every desk handler reads through: the stores, the guard, the templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import jinja2
import redis.asyncio as aioredis
from aiohttp import web

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


MAX_LIMIT = 200


def json_error(kind: type[web.HTTPError], message: str) -> web.HTTPError:
    """An API error: the status of ``kind`` with ``{"error": message}``."""
    return kind(text=json.dumps({"error": message}), content_type="application/json")


def limit_of(query: Mapping[str, str], default: int = 50) -> int:
    """The page size asked for, kept within 1..MAX_LIMIT."""
    try:
        return max(1, min(int(query.get("limit", str(default))), MAX_LIMIT))
    except ValueError:
        raise json_error(web.HTTPBadRequest, "limit must be a whole number") from None

"""``/api/v1`` for events, treaties, deadlines and feeds: the boards' reads as JSON."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from monitor import observe
from monitor.desk.boards import DEADLINES_AHEAD, DEADLINES_BACK, ID, treaty_summaries
from monitor.desk.context import DeskContext, filters_of, json_error, limit_of, page_of
from monitor.history.record import StoryRecord


def event_of(record: StoryRecord) -> dict[str, Any]:
    """A story's event as the API shows it (the event model plus the story's reach)."""
    event = record.first.event
    return {
        "story": record.story,
        "event": event.to_dict() if event else None,
        "line": event.line() if event else "",
        "due": record.due.isoformat() if record.due else None,
        "published": record.when.isoformat(),
        "severity": record.severity.label,
        "sources": len(record.sources),
        "title": record.first.entry.title,
    }


def _day(text: str | None, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise json_error(web.HTTPBadRequest, f"{text!r} is not a date (YYYY-MM-DD)") from None


def routes(ctx: DeskContext) -> list[web.RouteDef]:
    """The board API routes."""

    async def events(request: web.Request) -> web.Response:
        try:
            page = await page_of(ctx, request.query, limit_of(request.query))
        except ValueError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        return web.json_response({"items": [event_of(r) for r in page.items],
                                  "next": page.next.encode() if page.next else None})  # fmt: skip

    async def event(request: web.Request) -> web.Response:
        record = await ctx.history.get(request.match_info["story"])
        if record is None:
            raise json_error(web.HTTPNotFound, "no such story")
        return web.json_response(event_of(record))

    async def treaties(_request: web.Request) -> web.Response:
        rows = await treaty_summaries(ctx, datetime.now(UTC))
        items = [
            {"id": r["id"], "name": r["name"], "actors": r["actors"],
             "latest": event_of(r["latest"]),
             "next_due": event_of(r["next_due"]) if r["next_due"] else None}
            for r in rows
        ]  # fmt: skip
        return web.json_response({"items": items, "next": None})

    async def treaty(request: web.Request) -> web.Response:
        treaty_id = request.match_info["treaty"]
        if not ID.match(treaty_id):
            raise json_error(web.HTTPNotFound, "no such treaty")
        query = {**request.query, "treaty": treaty_id}
        try:
            page = await page_of(ctx, query, 50)
        except ValueError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        return web.json_response({"id": treaty_id, "items": [event_of(r) for r in page.items],
                                  "next": page.next.encode() if page.next else None})  # fmt: skip

    async def deadlines(request: web.Request) -> web.Response:
        today = datetime.now(UTC).date()
        start = _day(request.query.get("from"), today - DEADLINES_BACK)
        end = _day(request.query.get("to"), today + DEADLINES_AHEAD)
        records = await ctx.history.due(start, end, filters_of(request.query))
        items = [{**event_of(r), "passed": bool(r.due and r.due < today)} for r in records]
        return web.json_response({"items": items, "next": None})

    async def feeds(_request: web.Request) -> web.Response:
        items = [
            {"name": f.name, "last_status": f.last_status, "last_success": f.last_success,
             "errors": f.errors, "last_error": f.last_error}
            for f in await observe.feeds(ctx.client, ctx.keys)
        ]  # fmt: skip
        return web.json_response({"items": items, "next": None})

    return [
        web.get("/api/v1/events", events),
        web.get("/api/v1/events/{story}", event),
        web.get("/api/v1/treaties", treaties),
        web.get("/api/v1/treaties/{treaty}", treaty),
        web.get("/api/v1/deadlines", deadlines),
        web.get("/api/v1/feeds", feeds),
    ]

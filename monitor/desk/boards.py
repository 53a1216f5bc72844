"""The desk's overview pages: treaties, deadlines, feed health, rules. Thin reads, rendered."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from monitor import observe
from monitor.desk.context import DeskContext
from monitor.desk.views import story_view
from monitor.history.record import StoryRecord

ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
DEADLINES_BACK, DEADLINES_AHEAD = timedelta(days=90), timedelta(days=3650)


def _when(ts: float | None) -> str:
    if ts is None:
        return "never"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


Render = Callable[..., web.Response]


def routes(ctx: DeskContext, render: Render) -> list[web.RouteDef]:
    """The board routes; ``render(template, request, **values)`` makes a page."""

    async def treaties(request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        rows = [
            {**row, "latest": story_view(row["latest"], now),
             "next_due": story_view(row["next_due"], now) if row["next_due"] else None}
            for row in await treaty_summaries(ctx, now)
        ]  # fmt: skip
        return render("treaties.html.j2", request, nav="treaties", rows=rows)

    async def treaty(request: web.Request) -> web.Response:
        treaty_id = request.match_info["treaty"]
        if not ID.match(treaty_id):
            raise web.HTTPNotFound(text="no such treaty")
        raise web.HTTPSeeOther(f"/?treaty={treaty_id}")

    async def deadlines(request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        today = now.date()
        records = await ctx.history.due(today - DEADLINES_BACK, today + DEADLINES_AHEAD, {})
        views = [story_view(r, now) for r in records]
        upcoming = [v for v in views if v.due >= today.isoformat()]
        passed = [v for v in views if v.due < today.isoformat()][::-1]
        return render("deadlines.html.j2", request, nav="deadlines", upcoming=upcoming,
                      passed=passed)  # fmt: skip

    async def feeds(request: web.Request) -> web.Response:
        now = datetime.now(UTC).timestamp()
        rows = [
            {"name": f.name, "status": f.last_status or "never fetched", "errors": f.errors,
             "last_error": f.last_error, "last_success": _when(f.last_success),
             "stale": _stale(f.staleness(now))}
            for f in await observe.feeds(ctx.client, ctx.keys)
        ]  # fmt: skip
        return render("feeds.html.j2", request, nav="feeds", rows=rows)

    async def rules(request: web.Request) -> web.Response:
        status = await observe.rules_status(ctx.client, ctx.keys)
        raw = await ctx.client.hget(ctx.keys.rules_status, "list")
        listed: list[dict[str, Any]] = json.loads(raw) if raw else []
        week = datetime.now(UTC) - timedelta(days=7)
        for rule in listed:
            rule["week"] = await ctx.history.count_since("rule", rule["id"], week)
        return render("rules.html.j2", request, nav="rules", rules=listed, status=status,
                      loaded=_when(status.loaded_at))  # fmt: skip

    return [
        web.get("/treaties", treaties),
        web.get("/treaties/{treaty}", treaty),
        web.get("/deadlines", deadlines),
        web.get("/feeds", feeds),
        web.get("/rules", rules),
    ]


async def treaty_summaries(ctx: DeskContext, now: datetime) -> list[dict[str, Any]]:
    """Each treaty's latest story and its next due date, most recently active first."""
    today = now.date()
    next_due: dict[str, StoryRecord] = {}
    for record in await ctx.history.due(today, today + DEADLINES_AHEAD, {}):
        event = record.first.event
        if event and event.treaty and event.treaty not in next_due:
            next_due[event.treaty] = record  # due() answers in date order
    rows = []
    treaties = (await ctx.history.values("treaty"))[:200]
    newest = await ctx.history.latest("treaty", treaties)
    for treaty in treaties:
        latest = newest.get(treaty)
        if latest is None:
            continue
        event = latest.first.event
        due = next_due.get(treaty)
        rows.append({
            "id": treaty, "name": (event.treaty_name if event else None) or treaty,
            "actors": ", ".join(event.actor_names or event.actors) if event else "",
            "latest": latest,
            "next_due": due,
        })  # fmt: skip
    return rows


def _stale(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{int(seconds)} s ago"
    if seconds < 7200:
        return f"{int(seconds // 60)} min ago"
    return f"{seconds / 3600:.1f} h ago"

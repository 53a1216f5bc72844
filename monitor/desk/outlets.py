"""Feeds and calendar out: ``/feeds/<channel>.atom`` and ``.json``, ``/calendar.ics``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiohttp import web

from monitor.desk.context import DeskContext, filters_of
from monitor.desk.syndication import atom_feed, calendar, json_feed
from monitor.history.record import StoryRecord

FEED_SIZE = 50
_CHANNEL = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
# The calendar covers what the history keeps: a year back, ten years ahead.
_PAST, _AHEAD = timedelta(days=365), timedelta(days=3650)


def routes(ctx: DeskContext) -> list[web.RouteDef]:
    """The syndication routes."""

    async def channel_records(request: web.Request) -> tuple[str, list[StoryRecord]]:
        channel = request.match_info["channel"]
        if not _CHANNEL.match(channel):
            raise web.HTTPNotFound(text="no such channel")
        page = await ctx.history.page({"channel": channel}, limit=FEED_SIZE)
        return channel, list(page.items)

    async def atom(request: web.Request) -> web.Response:
        channel, records = await channel_records(request)
        body = atom_feed(channel, records, base_url=str(request.url.origin()),
                         now=datetime.now(UTC))  # fmt: skip
        return web.Response(body=body, content_type="application/atom+xml", charset="utf-8")

    async def json(request: web.Request) -> web.Response:
        channel, records = await channel_records(request)
        return web.json_response(
            json_feed(channel, records, base_url=str(request.url.origin())),
            content_type="application/feed+json",
        )

    async def ics(request: web.Request) -> web.Response:
        today = datetime.now(UTC).date()
        records = await ctx.history.due(today - _PAST, today + _AHEAD, filters_of(request.query))
        body = calendar(records, now=datetime.now(UTC))
        return web.Response(
            body=body, content_type="text/calendar", charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="treaty-monitor.ics"'},
        )  # fmt: skip

    return [
        web.get("/feeds/{channel}.atom", atom),
        web.get("/feeds/{channel}.json", json),
        web.get("/calendar.ics", ics),
    ]

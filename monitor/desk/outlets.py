"""Feeds and calendar out: ``/feeds/<channel>.atom`` and ``.json``, ``/calendar.ics``."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from monitor.desk.context import DeskContext, filters_of
from monitor.desk.syndication import atom_feed, calendar, json_feed
from monitor.history.record import StoryRecord
from monitor.streams import as_text

FEED_SIZE = 50
CALENDAR_SIZE = 1000  # due dates in one calendar
_BUILT_KEPT = 32  # calendars kept built (one per query string)
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

    # One built calendar per query string: building takes seconds at a thousand due dates
    # (icalendar folds every line character by character), and it changes only with the history.
    built: dict[str, tuple[str, bytes]] = {}

    async def ics(request: web.Request) -> web.Response:
        today = datetime.now(UTC).date()
        last = await ctx.client.xrevrange(ctx.keys.history_updates, count=1)
        version = f"{as_text(last[0][0]) if last else '0-0'}|{today}|{request.query_string}"
        etag = hashlib.sha256(version.encode()).hexdigest()[:32]
        headers = {"Content-Disposition": 'attachment; filename="treaty-monitor.ics"'}
        if any(tag.value == etag for tag in request.if_none_match or ()):
            response = web.Response(status=304, headers=headers)
            response.etag = etag
            return response
        kept = built.get(request.query_string)
        if kept is not None and kept[0] == etag:
            body = kept[1]
        else:
            body = await _calendar(ctx, filters_of(request.query), today)
            if len(built) >= _BUILT_KEPT:
                built.clear()
            built[request.query_string] = (etag, body)
        response = web.Response(body=body, content_type="text/calendar", charset="utf-8",
                                headers=headers)  # fmt: skip
        response.etag = etag
        return response

    return [
        web.get("/feeds/{channel}.atom", atom),
        web.get("/feeds/{channel}.json", json),
        web.get("/calendar.ics", ics),
    ]


async def _calendar(ctx: DeskContext, filters: dict[str, str], today: date) -> bytes:
    """Up to ``CALENDAR_SIZE`` due dates: upcoming first, then the latest passed ones."""
    records = await ctx.history.due(today, today + _AHEAD, filters, limit=CALENDAR_SIZE)
    if len(records) < CALENDAR_SIZE:
        records += await ctx.history.due(
            today - _PAST, today - timedelta(days=1), filters,
            limit=CALENDAR_SIZE - len(records), latest_first=True,
        )  # fmt: skip
    return calendar(records, now=datetime.now(UTC))

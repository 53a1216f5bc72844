"""``/api/v1``: JSON over the same reads the pages use. Lists answer ``{"items", "next"}``."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from monitor.desk.context import DeskContext, json_error, limit_of, page_of
from monitor.history.record import Acknowledgement
from monitor.silences.model import Matcher, SilenceError, new_silence
from monitor.silences.store import SilenceNotFound


def routes(ctx: DeskContext) -> list[web.RouteDef]:
    """The API's routes."""

    async def stories(request: web.Request) -> web.Response:
        try:
            page = await page_of(ctx, request.query, limit_of(request.query))
        except ValueError as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        acks = await ctx.history.acks([r.story for r in page.items])
        return web.json_response(
            {
                "items": [
                    {**r.to_dict(), "ack": a.to_dict() if (a := acks.get(r.story)) else None}
                    for r in page.items
                ],
                "next": page.next.encode() if page.next else None,
                "scanned": page.scanned,
            }
        )

    async def story(request: web.Request) -> web.Response:
        record = await ctx.history.get(request.match_info["story"])
        if record is None:
            raise json_error(web.HTTPNotFound, "no such story")
        acks = await ctx.history.acks([record.story])
        ack = acks.get(record.story)
        return web.json_response({**record.to_dict(), "ack": ack.to_dict() if ack else None})

    async def acknowledge(request: web.Request) -> web.Response:
        story = request.match_info["story"]
        if await ctx.history.get(story) is None:
            raise json_error(web.HTTPNotFound, "no such story")
        try:
            body: Any = await request.json()
            ack = Acknowledgement(story, str(body.get("by", "")).strip(),
                                  str(body.get("note", "")), datetime.now(UTC))  # fmt: skip
        except (ValueError, AttributeError) as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        await ctx.history.acknowledge(ack)
        return web.json_response(ack.to_dict(), status=201)

    async def openapi(_request: web.Request) -> web.Response:
        from monitor.desk.openapi import document

        return web.json_response(document())

    return [
        web.get("/api/v1/alerts", stories),
        web.get("/api/v1/stories", stories),
        web.get("/api/v1/stories/{story}", story),
        web.post("/api/v1/stories/{story}/ack", acknowledge),
        web.get("/api/v1/openapi.json", openapi),
        *_silence_routes(ctx),
    ]


def _silence_routes(ctx: DeskContext) -> list[web.RouteDef]:
    async def silences(_request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        items = [{**s.to_dict(), "state": s.state(now).value} for s in await ctx.silences.all(now)]
        return web.json_response({"items": items, "next": None})

    async def create_silence(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            raise json_error(web.HTTPBadRequest, "body must be JSON") from None
        now = datetime.now(UTC)
        try:
            silence = silence_from(body, now)
        except (SilenceError, ValueError, KeyError, TypeError) as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        await ctx.silences.add(silence)
        return web.json_response({**silence.to_dict(), "state": silence.state(now).value},
                                 status=201)  # fmt: skip

    async def expire_silence(request: web.Request) -> web.Response:
        try:
            silence = await ctx.silences.expire(request.match_info["silence"], datetime.now(UTC))
        except SilenceNotFound as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.json_response(silence.to_dict())

    return [
        web.get("/api/v1/silences", silences),
        web.post("/api/v1/silences", create_silence),
        web.delete("/api/v1/silences/{silence}", expire_silence),
    ]


def silence_from(body: dict[str, Any], now: datetime) -> Any:
    """A new silence from an API or form body (matchers as objects or ``label=value`` text)."""
    raw = body["matchers"]
    matchers = tuple(
        Matcher.parse(m) if isinstance(m, str) else Matcher(str(m["label"]), str(m.get("op", "=")),
                                                            str(m["value"]))
        for m in raw
    )  # fmt: skip
    starts = datetime.fromisoformat(body["starts_at"]) if body.get("starts_at") else now
    if body.get("ends_at"):
        ends = datetime.fromisoformat(body["ends_at"])
    else:
        from monitor.config import parse_duration

        ends = starts + timedelta(seconds=parse_duration(body.get("duration", "2h")))
    return new_silence(
        secrets.token_hex(8), matchers, starts_at=_utc(starts), ends_at=_utc(ends),
        created_by=str(body.get("created_by", "")), comment=str(body.get("comment", "")), now=now,
    )  # fmt: skip


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

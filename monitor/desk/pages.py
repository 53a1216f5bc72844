"""Server-rendered pages: the timeline, a story fragment for the live feed, silences, login."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from monitor.desk.api import silence_from
from monitor.desk.context import DeskContext, filters_of, page_of
from monitor.desk.live import live
from monitor.desk.security import SESSION_COOKIE
from monitor.desk.views import story_view
from monitor.history.record import FILTERS, Acknowledgement, wanted
from monitor.silences.model import SilenceError
from monitor.silences.store import SilenceNotFound
from monitor.streams import as_text

PAGE_SIZE = 25


def render(ctx: DeskContext, template: str, request: web.Request, **values: Any) -> web.Response:
    csrf = ctx.guard.csrf_token(request)
    body = ctx.templates.get_template(template).render(
        **{"nav": "", "error": "", **values},
        csrf=csrf,
        can_write=bool(csrf) or ctx.guard.bearer_ok(request),
    )
    return web.Response(text=body, content_type="text/html", charset="utf-8")


def _local(target: str) -> str:
    """Only a path on this site is a place to go after login (no open redirect)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def routes(ctx: DeskContext) -> list[web.RouteDef]:
    """The pages' routes."""

    async def timeline(request: web.Request) -> web.Response:
        query = {k: v for k, v in request.query.items() if v}
        try:
            page = await page_of(ctx, query, PAGE_SIZE)
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        now = datetime.now(UTC)
        acks = await ctx.history.acks([r.story for r in page.items])
        more = {**{k: v for k, v in query.items() if k != "cursor"}}
        last = await ctx.client.xrevrange(ctx.keys.history_updates, count=1)
        channels = sorted(as_text(c) for c in await ctx.client.smembers(ctx.keys.channels))
        views = [story_view(r, now, acks.get(r.story)) for r in page.items]
        return render(
            ctx, "timeline.html.j2", request, nav="timeline", query=query,
            filters_shown=FILTERS, stories=views,
            next=urlencode({**more, "cursor": page.next.encode()}) if page.next else "",
            live_after=as_text(last[0][0]) if last else "0-0", channels=channels,
        )  # fmt: skip

    async def fragment(request: web.Request) -> web.Response:
        record = await ctx.history.get(request.match_info["story"])
        if record is None or not wanted(
            record, filters_of(request.query), request.query.get("q", "")
        ):
            return web.Response(status=204)
        acks = await ctx.history.acks([record.story])
        csrf = ctx.guard.csrf_token(request)
        view = story_view(record, datetime.now(UTC), acks.get(record.story))
        body = ctx.templates.get_template("_story.html.j2").render(
            s=view, csrf=csrf, can_write=bool(csrf)
        )
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    async def acknowledge(request: web.Request) -> web.Response:
        form = await request.post()
        story = request.match_info["story"]
        if await ctx.history.get(story) is None:
            raise web.HTTPNotFound(text="no such story")
        try:
            ack = Acknowledgement(story, str(form.get("by", "")).strip(),
                                  str(form.get("note", "")), datetime.now(UTC))  # fmt: skip
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        await ctx.history.acknowledge(ack)
        raise web.HTTPSeeOther("/")

    async def live_feed(request: web.Request) -> web.StreamResponse:
        return await live(ctx, request)

    return [
        web.get("/", timeline),
        web.get("/fragment/story/{story}", fragment),
        web.post("/stories/{story}/ack", acknowledge),
        *_silence_routes(ctx),
        web.get("/live", live_feed),
        *_login_routes(ctx),
    ]


def _silence_routes(ctx: DeskContext) -> list[web.RouteDef]:
    async def silences(request: web.Request, error: str = "") -> web.Response:
        now = datetime.now(UTC)
        rows = [
            {
                "id": s.id, "state": s.state(now).value, "created_by": s.created_by,
                "comment": s.comment, "matchers": " ".join(str(m) for m in s.matchers),
                "ends": s.ends_at.strftime("%Y-%m-%d %H:%M UTC"),
            }
            for s in await ctx.silences.all(now)
        ]  # fmt: skip
        return render(ctx, "silences.html.j2", request, nav="silences", silences=rows, error=error)

    async def add_silence(request: web.Request) -> web.Response:
        form = await request.post()
        body = {
            "matchers": str(form.get("matchers", "")).split(),
            "duration": str(form.get("duration", "2h")) or "2h",
            "comment": str(form.get("comment", "")),
            "created_by": "desk",
        }
        try:
            await ctx.silences.add(silence_from(body, datetime.now(UTC)))
        except (SilenceError, ValueError) as exc:
            response = await silences(request, error=str(exc))
            response.set_status(400)
            return response
        raise web.HTTPSeeOther("/silences")

    async def expire(request: web.Request) -> web.Response:
        try:
            await ctx.silences.expire(request.match_info["silence"], datetime.now(UTC))
        except SilenceNotFound as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        raise web.HTTPSeeOther("/silences")

    return [
        web.get("/silences", silences),
        web.post("/silences", add_silence),
        web.post("/silences/{silence}/expire", expire),
    ]


def _login_routes(ctx: DeskContext) -> list[web.RouteDef]:
    async def login_form(request: web.Request) -> web.Response:
        return render(ctx, "login.html.j2", request, next=_local(request.query.get("next", "/")))

    async def login(request: web.Request) -> web.Response:
        form = await request.post()
        target = _local(str(form.get("next", "/")))
        if not ctx.guard.login_ok(str(form.get("token", ""))):
            response = render(ctx, "login.html.j2", request, next=target, error="wrong token")
            response.set_status(401)
            return response
        done = web.HTTPSeeOther(target)
        done.set_cookie(SESSION_COOKIE, ctx.guard.new_session(), httponly=True,
                        samesite="Strict", path="/")  # fmt: skip
        raise done

    return [web.get("/login", login_form), web.post("/login", login)]

"""The desk over HTTP: timeline, API, silences, the guard, hostile feed text, the live feed."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import redis.asyncio as aioredis

from monitor.desk.app import guard_for
from monitor.desk.openapi import document
from monitor.errors import ConfigError
from monitor.streams import Keys
from tests.desk_helpers import TOKEN, record, running_desk, story_alert

BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def _get(url: str, **kwargs: object) -> tuple[int, str, dict[str, str]]:
    async with aiohttp.ClientSession() as http, http.get(url, allow_redirects=False, **kwargs) as r:  # type: ignore[arg-type]
        return r.status, await r.text(), dict(r.headers)


async def test_the_timeline_shows_stories_newest_first_with_their_event_line(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Each story shows its event line, sources (+N) and marked matched text."""
    early = datetime(2019, 2, 1, tzinfo=UTC)
    await record(
        redis_client, keys,
        story_alert("US suspends INF obligations", story="inf", treaty="inf", published=early),
        story_alert("Russia suspends New START", story="ns"),
        story_alert("Moscow halts New START", story="ns", feed="reuters"),
    )  # fmt: skip
    async with running_desk(redis_client, keys) as base:
        status, html, headers = await _get(base + "/")
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert html.index("suspends New START") < html.index("INF obligations")
    assert "Russia · New START · suspension" in html
    assert "+1 source: reuters" in html
    assert "<mark>Russia</mark>" in html


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("tag=withdrawal", "quits INF", "suspends New START"),
        ("treaty=new-start", "suspends New START", "quits INF"),
        ("q=QUITS", "quits INF", "suspends New START"),
        ("channel=urgent", "quits INF", "suspends New START"),
    ],
)
async def test_the_timeline_filters_by_label_and_text(
    redis_client: aioredis.Redis, keys: Keys, query: str, shown: str, hidden: str
) -> None:
    """Filters by channel, tag, treaty and a text search narrow the timeline."""
    await record(
        redis_client, keys,
        story_alert("Russia suspends New START", story="ns"),
        story_alert("US is quitting: quits INF", story="inf", treaty="inf", tags=("withdrawal",),
                    channel="urgent"),
    )  # fmt: skip
    async with running_desk(redis_client, keys) as base:
        _status, html, _ = await _get(f"{base}/?{query}")
    assert shown in html
    assert hidden not in html


async def test_hostile_feed_text_is_escaped_and_a_javascript_link_is_no_link(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Script, event handlers and javascript: links reach the page as inert text."""
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    await record(
        redis_client, keys,
        story_alert(f"Treaty {evil}", story="evil", summary=f"text {evil}",
                    link="javascript:alert(3)"),
    )  # fmt: skip
    async with running_desk(redis_client, keys) as base:
        _status, html, _ = await _get(base + "/")
        status, body, _ = await _get(base + "/api/v1/stories/evil")
    assert "<script>alert" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in html
    assert (
        re.search(r"<script[^>]*>", html.replace('<script src="/static/desk.js" defer>', ""))
        is None
    )
    assert status == 200
    assert json.loads(body)["title"].startswith("Treaty <script>")  # JSON carries the raw text


async def test_the_api_lists_stories_in_pages_with_a_next_cursor(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """``{"items", "next"}``: following ``next`` visits every story once."""
    base_time = datetime(2023, 1, 1, tzinfo=UTC)
    await record(redis_client, keys, *(
        story_alert(f"Story {n}", story=f"s{n}", published=base_time + timedelta(hours=n))
        for n in range(5)
    ))  # fmt: skip
    seen: list[str] = []
    async with running_desk(redis_client, keys) as base:
        url = f"{base}/api/v1/alerts?limit=2"
        while url:
            _status, body, _ = await _get(url)
            page = json.loads(body)
            seen += [item["story"] for item in page["items"]]
            url = f"{base}/api/v1/alerts?limit=2&cursor={page['next']}" if page["next"] else ""
        status, _body, _ = await _get(f"{base}/api/v1/stories/nope")
        bad, _body, _ = await _get(f"{base}/api/v1/alerts?colour=red&cursor=zzz")
    assert seen == ["s4", "s3", "s2", "s1", "s0"]
    assert status == 404
    assert bad == 400


async def test_api_writes_need_the_token(redis_client: aioredis.Redis, keys: Keys) -> None:
    """A silence is created with the Bearer token only, and expired the same way."""
    body = {"matchers": ["treaty=inf"], "duration": "1h", "created_by": "ana", "comment": "x"}
    async with running_desk(redis_client, keys) as base, aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/silences", json=body) as refused:
            assert refused.status == 403
        async with http.post(f"{base}/api/v1/silences", json=body, headers=BEARER) as made:
            assert made.status == 201
            silence = await made.json()
        assert silence["state"] == "active"
        async with http.delete(f"{base}/api/v1/silences/{silence['id']}") as refused:
            assert refused.status == 403
        async with http.delete(f"{base}/api/v1/silences/{silence['id']}", headers=BEARER) as done:
            assert done.status == 200
        async with http.get(f"{base}/api/v1/silences") as listed:
            (item,) = (await listed.json())["items"]
    assert item["state"] == "expired"


async def test_a_form_write_needs_a_session_and_its_csrf_token(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Login sets the session; a form without the CSRF token is refused, with it accepted."""
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP address, as browsers do
    async with (
        running_desk(redis_client, keys) as base,
        aiohttp.ClientSession(cookie_jar=jar) as http,
    ):
        form = {"matchers": "treaty=inf", "duration": "1h", "comment": "noisy"}
        async with http.post(f"{base}/silences", data=form, allow_redirects=False) as r:
            assert r.status == 403
        async with http.post(f"{base}/login", data={"token": "wrong", "next": "/silences"},
                             allow_redirects=False) as r:  # fmt: skip
            assert r.status == 401
        async with http.post(f"{base}/login", data={"token": TOKEN, "next": "//evil.example/"},
                             allow_redirects=False) as r:  # fmt: skip
            assert r.status == 303
            assert r.headers["Location"] == "/"  # no open redirect
        async with http.post(f"{base}/silences", data=form, allow_redirects=False) as r:
            assert r.status == 403  # session, but no CSRF token
        async with http.get(f"{base}/silences") as r:
            page = await r.text()
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None
        async with http.post(f"{base}/silences", data={**form, "csrf": csrf.group(1)},
                             allow_redirects=False) as r:  # fmt: skip
            assert r.status == 303
        async with http.get(f"{base}/silences") as r:
            assert "treaty=inf" in await r.text()


async def test_off_loopback_every_desk_route_needs_the_token_but_probes_stay_open(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Pages redirect to login, the API answers 401, static files and login stay reachable."""
    async with running_desk(redis_client, keys, loopback=False) as base:
        page, _, headers = await _get(base + "/?tag=x")
        api, _, _ = await _get(base + "/api/v1/alerts")
        ok, _, _ = await _get(base + "/api/v1/alerts", headers=BEARER)
        login, _, _ = await _get(base + "/login")
    assert page == 303
    assert headers["Location"].startswith("/login?next=/")
    assert api == 401
    assert ok == 200
    assert login == 200


@pytest.mark.parametrize(
    ("host", "env", "error"),
    [
        ("0.0.0.0", {}, "http.token_env is not set"),
        ("10.0.0.5", {"DESK_TOKEN": ""}, "$DESK_TOKEN is empty"),
    ],
)
def test_listening_off_loopback_without_a_token_is_a_config_error(
    host: str, env: dict[str, str], error: str
) -> None:
    """The daemon refuses to serve the desk to a network without a token."""
    with pytest.raises(ConfigError, match=re.escape(error)):
        guard_for(host, "DESK_TOKEN" if env else None, env)


def test_loopback_hosts_need_no_token_for_reading() -> None:
    """127.0.0.1, ::1 and localhost are loopback; writes stay off without a token."""
    for host in ("127.0.0.1", "::1", "[::1]", "localhost"):
        guard = guard_for(host, None, {})
        assert guard.reads_open
        assert guard.token is None


async def test_the_live_feed_announces_a_story_as_it_is_recorded(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """/live streams an ``alert`` event with the story id; its fragment renders the story."""
    async with running_desk(redis_client, keys) as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/live") as stream:
            await asyncio.sleep(0.2)  # the stream resolved "now" before the story is recorded
            await record(redis_client, keys, story_alert("Russia suspends New START", story="ns"))
            lines: list[str] = []
            while not any(line.startswith("data:") for line in lines):
                lines.append((await asyncio.wait_for(stream.content.readline(), 10)).decode())
        assert "event: alert\n" in lines
        data = json.loads(next(x for x in lines if x.startswith("data:"))[5:])
        assert data == {"story": "ns"}
        async with http.get(f"{base}/fragment/story/ns") as fragment:
            assert "suspends New START" in await fragment.text()
        async with http.get(f"{base}/fragment/story/ns?tag=talks") as filtered:
            assert filtered.status == 204


def test_the_openapi_document_describes_every_api_route() -> None:
    """Each /api/v1 route the server has is a path of the document, with its methods."""
    from aiohttp import web

    from monitor.desk import api, api_boards

    doc = document()
    assert doc["openapi"].startswith("3.1")
    for route in [*api.routes(None), *api_boards.routes(None)]:  # type: ignore[arg-type]
        assert isinstance(route, web.RouteDef)
        assert route.method.lower() in doc["paths"][route.path], route.path

"""A running desk for tests: the real aiohttp app on 127.0.0.1 over a real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer

from monitor.alerts.alert import Alert
from monitor.desk.app import install
from monitor.desk.security import Guard
from monitor.events.model import Event
from monitor.history.store import HistoryStore
from monitor.rules.match import Severity, Span
from monitor.streams import Keys
from tests.delivery_helpers import make_alert

TOKEN = "desk-test-token"
STATES = {"ru": "Russia", "us": "United States"}


@asynccontextmanager
async def running_desk(
    client: aioredis.Redis, keys: Keys, *, token: str | None = TOKEN, loopback: bool = True
) -> AsyncIterator[str]:
    """Serve the desk on a free loopback port; yields its base URL."""
    app = web.Application()
    install(app, client, keys, Guard(token, loopback=loopback))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def story_alert(
    title: str,
    *,
    story: str,
    feed: str = "tass",
    channel: str = "treaties",
    tags: tuple[str, ...] = ("suspension",),
    summary: str = "Moscow suspended the treaty.",
    link: str = "https://tass.example/1",
    published: datetime | None = None,
    treaty: str = "new-start",
    actors: tuple[str, ...] = ("ru",),
) -> Alert:
    """An alert of one story, with its event, as the engine publishes it."""
    alert = make_alert(title, entry_id=f"{feed}:{story}:{title[:10]}", feed=feed, channel=channel,
                       tags=tags, summary=summary, link=link, severity=Severity.HIGH)  # fmt: skip
    entry = replace(alert.entry, published=published or datetime(2023, 2, 21, 12, tzinfo=UTC))
    names = {"new-start": "New START", "inf": "INF Treaty", "ctbt": "CTBT"}
    event = Event(treaty=treaty, actors=actors, development=tags[0],
                  treaty_name=names.get(treaty, treaty),
                  actor_names=tuple(STATES.get(a, a) for a in actors))  # fmt: skip
    spans = (Span("title", 0, min(6, len(title)), title[:6], "russia"),)
    return replace(alert, entry=entry, story=story, event=event, spans=spans)


async def record(client: aioredis.Redis, keys: Keys, *alerts: Alert) -> None:
    """Fold alerts into the history as the recorder would."""
    store = HistoryStore(client, keys)
    for alert in alerts:
        await store.add(alert, datetime.now(UTC))

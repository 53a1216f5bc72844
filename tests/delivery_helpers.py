"""Helpers for the delivery tests: alerts, publishing, a real HTTP receiver, a real SMTP server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from monitor.alerts.alert import Alert, alert_id
from monitor.feeds.entry import Entry
from monitor.rules.match import Severity, Span
from monitor.streams import Keys

WHEN = datetime(2019, 1, 16, 12, 30, tzinfo=UTC)


def make_alert(
    title: str = "Russia and US hold INF consultations in Geneva",
    *,
    entry_id: str = "sample:1",
    feed: str = "sample",
    rule_id: str = "inf-talks",
    severity: Severity = Severity.HIGH,
    summary: str = "Delegations met in Geneva to discuss the INF Treaty.",
    link: str = "https://example.org/inf-geneva",
    channel: str = "arms-control",
    tags: tuple[str, ...] = ("inf",),
    deadline: date | None = None,
    terms: tuple[str, ...] = ("INF Treaty",),
) -> Alert:
    """An alert as the engine would publish it."""
    entry = Entry(
        id=entry_id, feed=feed, feed_url=f"https://{feed}.example/feed", guid=entry_id,
        title=title, link=link, summary=summary, published=WHEN, fetched_at=WHEN,
    )  # fmt: skip
    spans = tuple(Span("title", 0, len(t), t, t.lower()) for t in terms)
    return Alert(
        id=alert_id(rule_id, entry_id), channel=channel, rule_id=rule_id,
        rule_title="INF Treaty talks", severity=severity, tags=tags, entry=entry, spans=spans,
        deadline=deadline, created_at=WHEN,
    )  # fmt: skip


async def publish(client: aioredis.Redis, keys: Keys, alert: Alert) -> str:
    """XADD the alert in the upstream wire format; returns the stream id."""
    fields = {"alert": alert.to_json(), "id": alert.id, "rule": alert.rule_id,
              "severity": alert.severity.label}  # fmt: skip
    return str(await client.xadd(keys.alerts(alert.channel), fields))  # type: ignore[arg-type]


@dataclass
class Reply:
    """One scripted HTTP reply."""

    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class HttpReceiver:
    """A real aiohttp server on 127.0.0.1 answering POSTs from a script (then 200 ``ok``)."""

    def __init__(self, hmac_secret: bytes | None = None) -> None:
        self.script: deque[Reply] = deque()
        self.received: list[Received] = []
        self.hmac_secret = hmac_secret
        self.bad_signatures = 0
        self.on_request: Callable[[Received], None] | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        got = Received(request.path, dict(request.headers), body, asyncio.get_running_loop().time())
        if self.hmac_secret is not None:
            want = "sha256=" + hmac.new(self.hmac_secret, body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(want, request.headers.get("X-Treaty-Monitor-Signature", "")):
                self.bad_signatures += 1
                return web.Response(status=401, text="bad signature")
        reply = self.script.popleft() if self.script else Reply()
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if 200 <= reply.status < 300:
            self.received.append(got)
            if self.on_request is not None:
                self.on_request(got)
        return web.Response(status=reply.status, text=reply.body, headers=reply.headers)

    async def start(self) -> None:
        """Listen on an ephemeral port."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/services/T000/B000/s3cr3tt0ken"

    async def stop(self) -> None:
        """Shut the server down."""
        if self._runner is not None:
            await self._runner.cleanup()


@asynccontextmanager
async def http_receiver(hmac_secret: bytes | None = None) -> AsyncIterator[HttpReceiver]:
    """A running :class:`HttpReceiver`."""
    receiver = HttpReceiver(hmac_secret)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])

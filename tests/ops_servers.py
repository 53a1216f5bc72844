"""Local stand-ins for the outside world of a running daemon, all on 127.0.0.1.

- :class:`FeedServer`: N RSS feeds whose items the test adds; records every fetch; honours
  ``If-None-Match`` like a well-behaved server.
- :class:`Receiver`: Slack-like and webhook endpoints recording every accepted POST; the Slack
  endpoint can answer 429 with ``Retry-After`` a given share of the time.
- :class:`MailServer`: an aiosmtpd server that can refuse (451) a given share of messages.

Items carry a unique token (``tok-<feed>-<n>``) in their title, so a delivery is counted by the
tokens found in what a sink received, whatever the message format.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import random
import re
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

TOKEN = re.compile(r"tok-[a-z0-9]+-\d+")


@dataclass
class Item:
    """One feed item."""

    guid: str
    title: str
    summary: str


@dataclass
class FeedServer:
    """RSS feeds served from memory; ``fetches[feed]`` lists monotonic times of full GETs."""

    items: dict[str, list[Item]] = field(default_factory=lambda: defaultdict(list))
    fetches: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    requests: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    keep: int = 30
    port: int = 0
    _runner: web.AppRunner | None = None

    def url(self, feed: str) -> str:
        """The URL of one feed."""
        return f"http://127.0.0.1:{self.port}/f/{feed}.xml"

    def add(self, feed: str, n: int, title: str, summary: str = "") -> str:
        """Publish item ``n`` of ``feed``; returns its token."""
        token = f"tok-{feed.replace('-', '')}-{n}"
        self.items[feed].append(Item(f"{feed}-{n}", f"{title} {token}", summary))
        del self.items[feed][: -self.keep]
        return token

    def document(self, feed: str) -> bytes:
        """The RSS document of one feed, newest item first."""
        parts = [
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
            f"<title>{feed}</title><link>http://127.0.0.1/{feed}</link><description>t</description>",
        ]
        for item in reversed(self.items[feed]):
            parts.append(
                f'<item><guid isPermaLink="false">{escape(item.guid)}</guid>'
                f"<title>{escape(item.title)}</title>"
                f"<link>http://127.0.0.1/{escape(feed)}/{escape(item.guid)}</link>"
                f"<description>{escape(item.summary)}</description></item>"
            )
        parts.append("</channel></rss>")
        return "".join(parts).encode()

    async def _handle(self, request: web.Request) -> web.Response:
        feed = request.match_info["feed"]
        now = time.monotonic()
        self.requests[feed].append(now)
        body = self.document(feed)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        self.fetches[feed].append(now)
        return web.Response(
            body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"}
        )

    async def start(self) -> None:
        """Listen on a free port."""
        app = web.Application()
        app.router.add_get("/f/{feed}.xml", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = _port(self._runner)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


@dataclass
class Receiver:
    """Slack-like (``/slack/<name>``) and webhook (``/hook/<name>``) endpoints."""

    refuse_share: float = 0.0
    seed: int = 7
    accepted: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    posts: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    port: int = 0
    _runner: web.AppRunner | None = None

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def url(self, kind: str, name: str) -> str:
        """Endpoint URL: kind is ``slack`` or ``hook``."""
        return f"http://127.0.0.1:{self.port}/{kind}/{name}"

    async def _handle(self, request: web.Request) -> web.Response:
        name = f"{request.match_info['kind']}/{request.match_info['name']}"
        body = await request.text()
        self.posts[name] += 1
        if request.match_info["kind"] == "slack" and self._random.random() < self.refuse_share:
            self.refused[name] += 1
            return web.Response(status=429, text="rate_limited", headers={"Retry-After": "1"})
        self.accepted[name].update(set(TOKEN.findall(body)))
        return web.Response(text="ok")

    async def start(self) -> None:
        """Listen on a free port."""
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_post("/{kind}/{name}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = _port(self._runner)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()


class _MailHandler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        with self.server.lock:
            if self.server.random.random() < self.server.refuse_share:
                self.server.refused += 1
                return "451 4.3.0 try again later"
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            self.server.accepted.update(set(TOKEN.findall(_mail_text(message))))
        return "250 OK"


def _mail_text(message: Any) -> str:
    parts = [str(message.get("Subject", ""))]
    for part in message.walk() if isinstance(message, EmailMessage) else ():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


class MailServer:
    """aiosmtpd on a free port; ``accepted`` counts tokens of accepted messages."""

    def __init__(self, refuse_share: float = 0.0, seed: int = 11) -> None:
        self.refuse_share = refuse_share
        self.random = random.Random(seed)
        self.accepted: Counter[str] = Counter()
        self.refused = 0
        self.lock = threading.Lock()
        self.port = 0
        self._controller: Any = None

    def start(self) -> None:
        """Start the SMTP server thread."""
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self._controller = Controller(_MailHandler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop the SMTP server thread."""
        if self._controller is not None:
            self._controller.stop()


def free_port() -> int:
    """A TCP port nobody listens on right now (for servers that cannot report theirs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        return int(address[1])
    raise RuntimeError("server has no address")


async def wait_for(predicate: Any, within: float, interval: float = 0.2) -> bool:
    """Poll ``predicate()`` (sync or async) until true or ``within`` seconds passed."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value or time.monotonic() > deadline:
            return bool(value)
        await asyncio.sleep(interval)

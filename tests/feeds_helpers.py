"""Helpers for the feed tests: feed documents, local HTTP and raw-socket servers, settings."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from monitor.config import Settings

RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def rss(items: list[tuple[str, str]] | int, *, title: str = "Test feed", guid: str = "") -> bytes:
    """An RSS 2.0 document; ``items`` are (guid, title) pairs or a count."""
    pairs = [(f"g{i}", f"Item {i}") for i in range(items)] if isinstance(items, int) else items
    body = "".join(
        f"<item><title>{escape(t)}</title><link>https://news.example/{escape(g)}</link>"
        f"<guid isPermaLink='false'>{escape(guid or g)}</guid>"
        f"<description>About {escape(t)}</description></item>"
        for g, t in pairs
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://news.example/</link>{body}</channel></rss>"
    ).encode()


def settings(feeds: list[dict[str, Any]], tmp: Path | None = None, **fetch: Any) -> Settings:
    """Settings with these feeds and fetch options (private networks allowed unless said)."""
    fetch.setdefault("allow_private_networks", True)
    return Settings(
        feeds=feeds,  # type: ignore[arg-type]
        fetch=fetch,  # type: ignore[arg-type]
        config_dir=tmp or Path.cwd(),
    )


@dataclass
class FeedSite:
    """An aiohttp server on 127.0.0.1 serving documents by path, with ETag support."""

    docs: dict[str, bytes] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    hit_times: dict[str, list[float]] = field(default_factory=dict)
    headers_seen: list[dict[str, str]] = field(default_factory=list)
    extra: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = field(
        default_factory=dict
    )
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        """The URL of ``path`` on this server."""
        return f"http://{host}:{self.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve a document (304 when the ETag matches) or a custom handler."""
        path = request.path
        self.hits[path] = self.hits.get(path, 0) + 1
        self.hit_times.setdefault(path, []).append(time.monotonic())
        self.headers_seen.append(dict(request.headers))
        if path in self.extra:
            return await self.extra[path](request)
        if path not in self.docs:
            return web.Response(status=404)
        body = self.docs[path]
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=body, content_type="application/rss+xml", headers={"ETag": etag})


@contextlib.asynccontextmanager
async def serve_site(site: FeedSite, host: str = "127.0.0.1") -> AsyncIterator[FeedSite]:
    """Run ``site`` on an ephemeral port."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", site.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, host, site.port or 0)
    await tcp.start()
    server = tcp._server
    assert server is not None
    site.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield site
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def raw_server(handler: RawHandler, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """A raw asyncio socket server; yields its base URL."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(guarded, host, 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)

"""Read one feed once, from a path or an http(s) URL, without Redis (for ``match`` and tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import aiohttp

from monitor.config import FetchSettings
from monitor.errors import PermanentFetchError, RetryableFetchError
from monitor.feeds.entry import Entry
from monitor.feeds.parse import parse_feed


async def read_entries(
    source: str, fetch: FetchSettings, *, feed: str | None = None
) -> list[Entry]:
    """Entries of the feed at ``source`` (a file path, ``file://`` or ``http(s)://`` URL)."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        body = await _get(source, fetch)
        url = source
    else:
        path = Path(url2pathname(urlsplit(source).path)) if scheme == "file" else Path(source)
        if scheme not in ("", "file") and len(scheme) > 1:
            raise PermanentFetchError(f"fetcher: unsupported scheme {scheme!r}", kind="scheme")
        try:
            body = await asyncio.to_thread(_read_capped, path, fetch.max_bytes)
        except OSError as exc:
            raise PermanentFetchError(f"fetcher: cannot read {path}: {exc.strerror}") from exc
        url = path.resolve().as_uri()
    name = feed or (urlsplit(url).hostname or Path(urlsplit(url).path).stem or "feed")
    parsed = parse_feed(
        body, feed=name, feed_url=url, now=datetime.now(UTC), max_items=fetch.max_items
    )
    return list(parsed.entries)


def _read_capped(path: Path, max_bytes: int) -> bytes:
    with path.open("rb") as handle:
        body = handle.read(max_bytes + 1)
    if len(body) > max_bytes:
        raise PermanentFetchError(f"fetcher: {path} is larger than {max_bytes} bytes", kind="size")
    return body


async def _get(url: str, fetch: FetchSettings) -> bytes:
    timeout = aiohttp.ClientTimeout(total=fetch.timeout, connect=fetch.connect_timeout)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, max_redirects=fetch.max_redirects) as response,
        ):
            if response.status >= 400:
                raise PermanentFetchError(f"fetcher: HTTP {response.status} for {url}")
            body = await response.content.read(fetch.max_bytes + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise RetryableFetchError(f"fetcher: {type(exc).__name__} for {url}") from exc
    if len(body) > fetch.max_bytes:
        raise PermanentFetchError(f"fetcher: body larger than {fetch.max_bytes} bytes", kind="size")
    return body

"""Read one feed once, from a path or an http(s) URL, without Redis (for ``match`` and tests).

The source is named by the user, so it counts as configured: a file path is allowed, and a feed
on a private address may be read (redirects from it are still checked like the daemon's).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from monitor.config import FetchSettings
from monitor.errors import PermanentFetchError
from monitor.feeds.entry import Entry
from monitor.feeds.fetch import Fetcher, read_file_capped
from monitor.feeds.parse import parse_feed


async def read_entries(
    source: str, fetch: FetchSettings, *, feed: str | None = None
) -> list[Entry]:
    """Entries of the feed at ``source`` (a file path, ``file://`` or ``http(s)://`` URL)."""
    scheme = urlsplit(source).scheme.lower()
    content_type = ""
    if scheme in ("http", "https"):
        fetcher = Fetcher(fetch)
        try:
            result = await fetcher.fetch(source, configured_url=source)
        finally:
            await fetcher.close()
        body, url, content_type = result.body, result.url, result.content_type
    elif scheme == "file" or len(scheme) <= 1:  # "" or a Windows drive letter
        url = source if scheme == "file" else _file_uri(source)
        body = await asyncio.to_thread(read_file_capped, url, fetch.max_bytes)
    else:
        raise PermanentFetchError(f"fetcher: unsupported scheme {scheme!r}", kind="scheme")
    name = feed or (urlsplit(url).hostname or Path(urlsplit(url).path).stem or "feed")
    parsed = parse_feed(
        body,
        feed=name,
        feed_url=url,
        now=datetime.now(UTC),
        max_items=fetch.max_items,
        content_type=content_type,
    )
    return list(parsed.entries)


def _file_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri()

"""Read one feed once, from a path or an http(s) URL, without Redis (``match``, ``feeds discover``).

The source is named by the user, so it counts as configured: a file path is allowed, and a feed
on a private address may be read (redirects from it are still checked like the daemon's).
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver

from monitor.config import FetchSettings
from monitor.errors import ParseError, PermanentFetchError
from monitor.feeds.discover import FeedLink, feed_links, html_media_type, looks_like_html
from monitor.feeds.entry import Entry
from monitor.feeds.fetch import Fetcher, read_file_capped
from monitor.feeds.language import detector_for
from monitor.feeds.parse import parse_feed


async def read_entries(
    source: str, fetch: FetchSettings, *, feed: str | None = None
) -> list[Entry]:
    """Entries of the feed at ``source`` (a file path, ``file://`` or ``http(s)://`` URL)."""
    body, url, content_type = await read_document(source, fetch)
    name = feed or _name_of(url)
    parsed = parse_feed(
        body,
        feed=name,
        feed_url=url,
        now=datetime.now(UTC),
        max_items=fetch.max_items,
        content_type=content_type,
        detect=detector_for(fetch.language_detection),
    )
    return list(parsed.entries)


async def discover(
    source: str, fetch: FetchSettings, *, resolver: AbstractResolver | None = None
) -> tuple[FeedLink, ...]:
    """The feeds the page at ``source`` links to; the source itself if it is a feed."""
    body, url, content_type = await read_document(source, fetch, resolver=resolver)
    if not html_media_type(content_type):
        try:
            parsed = parse_feed(body, feed=_name_of(url), feed_url=url, now=datetime.now(UTC))
        except ParseError:
            if not looks_like_html(body):
                raise
        else:
            return (FeedLink(url, "itself", parsed.title),)
    links = feed_links(body, url)
    if not links:
        raise ParseError(f"{url}: an HTML page that links to no RSS/Atom feed")
    return links


async def read_document(
    source: str, fetch: FetchSettings, *, resolver: AbstractResolver | None = None
) -> tuple[bytes, str, str]:
    """(body, final URL, Content-Type) of ``source``, fetched under the daemon's limits."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        fetcher = Fetcher(fetch, resolver=resolver)
        try:
            result = await fetcher.fetch(source, configured_url=source)
        finally:
            await fetcher.close()
        return result.body, result.url, result.content_type
    if scheme == "file" or len(scheme) <= 1:  # "" or a Windows drive letter
        url = source if scheme == "file" else _file_uri(source)
        return await asyncio.to_thread(read_file_capped, url, fetch.max_bytes), url, ""
    raise PermanentFetchError(f"fetcher: unsupported scheme {scheme!r}", kind="scheme")


def _name_of(url: str) -> str:
    return urlsplit(url).hostname or Path(urlsplit(url).path).stem or "feed"


def _file_uri(path: str) -> str:
    return Path(os.path.abspath(path)).as_uri()

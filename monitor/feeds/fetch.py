"""HTTP(S) and configured file:// fetches under hard limits, errors translated at the edge.

One total deadline covers connect, redirects and the body (a server dripping a byte a second
cannot hold a worker); redirects are followed by hand so every hop is checked (scheme, address
policy, loop, limit) and permanent ones are reported; the body is decompressed here, by us, with
the size cap counted on the decompressed bytes, so a gzip bomb stops at the cap.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from monitor import __version__
from monitor.config import FetchSettings
from monitor.errors import FetchError, PermanentFetchError, RetryableFetchError
from monitor.feeds.netpolicy import AddressPolicy, ForbiddenAddress, PolicyResolver
from monitor.feeds.timing import parse_max_age
from monitor.retry_after import parse_retry_after

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_CHUNK = 65536
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, "
    "text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A fetch that got an answer worth looking at (200 with a body, or 304)."""

    status: int
    url: str
    body: bytes = b""
    etag: str = ""
    last_modified: str = ""
    content_type: str = ""
    max_age: float | None = None
    permanent_redirect: str | None = None
    elapsed: float = 0.0

    @property
    def not_modified(self) -> bool:
        """Whether the server answered 304."""
        return self.status == 304


def user_agent(contact: str) -> str:
    """The User-Agent: the project, its version, and who to contact about it."""
    who = f"; +{contact}" if contact else ""
    return f"treaty-monitor/{__version__} (feed monitor{who})"


class Fetcher:
    """Fetches feeds through two shared aiohttp sessions (strict and private-allowed)."""

    def __init__(
        self,
        settings: FetchSettings,
        *,
        policy: AddressPolicy | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.settings = settings
        self.policy = policy or AddressPolicy(allow_private=settings.allow_private_networks)
        self._inner_resolver = resolver
        # One session per policy: the strict one, and one per feed on a private host (its
        # resolver opens only that host), so no connection or DNS answer crosses policies.
        self._sessions: dict[AddressPolicy, aiohttp.ClientSession] = {}

    def _session(self, policy: AddressPolicy) -> aiohttp.ClientSession:
        key = policy
        session = self._sessions.get(key)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(
                resolver=PolicyResolver(policy, self._inner_resolver),
                limit=max(self.settings.concurrency, 10),
                limit_per_host=max(8, self.settings.per_host_concurrency),
                ttl_dns_cache=60,
            )
            session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(
                    total=None,
                    connect=self.settings.connect_timeout,
                    sock_connect=self.settings.connect_timeout,
                ),
                auto_decompress=False,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={
                    "User-Agent": user_agent(self.settings.contact),
                    "Accept": ACCEPT,
                    "Accept-Encoding": "gzip, deflate",
                },
            )
            self._sessions[key] = session
        return session

    async def close(self) -> None:
        """Close the sessions (and their connections)."""
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()

    async def fetch(
        self,
        url: str,
        *,
        configured_url: str,
        etag: str = "",
        last_modified: str = "",
        redirect_hosts: Iterable[str] = (),
    ) -> FetchResult:
        """Fetch ``url`` (the feed's current URL; ``configured_url`` is what the config names).

        ``redirect_hosts`` are hosts this feed's redirects may reach besides its own (added to
        ``fetch.private_redirect_hosts``; used only when the feed itself is on a private address).
        """
        started = time.monotonic()
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            if url != configured_url:
                raise PermanentFetchError(
                    "fetcher: file:// only for configured feeds", kind="scheme"
                )
            body = await asyncio.to_thread(read_file_capped, url, self.settings.max_bytes)
            return FetchResult(200, url, body, elapsed=time.monotonic() - started)
        if scheme not in ("http", "https"):
            raise PermanentFetchError(f"fetcher: unsupported scheme {scheme!r}", kind="scheme")
        listed = (*self.settings.private_redirect_hosts, *redirect_hosts)
        policy = self.policy.exempting(configured_url, listed)
        try:
            async with asyncio.timeout(self.settings.timeout):
                result = await self._follow(url, policy, etag, last_modified)
        except TimeoutError as exc:
            raise RetryableFetchError(
                f"fetcher: no complete answer within {self.settings.timeout:g}s", kind="timeout"
            ) from exc
        except FetchError:
            raise
        except aiohttp.ClientError as exc:
            raise _translate(exc) from exc
        except OSError as exc:
            raise RetryableFetchError(f"fetcher: {exc}", kind="network") from exc
        return _with_elapsed(result, time.monotonic() - started)

    async def _follow(
        self, url: str, policy: AddressPolicy, etag: str, last_modified: str
    ) -> FetchResult:
        session = self._session(policy)
        current = URL(url, encoded=False)
        visited: set[str] = set()
        permanent: str | None = None
        still_permanent = True
        for _hop in range(self.settings.max_redirects + 1):
            _check_target(current, policy)
            visited.add(str(current))
            headers = _conditional(etag, last_modified)
            async with session.get(current, allow_redirects=False, headers=headers) as response:
                if response.status in _REDIRECTS and "Location" in response.headers:
                    target = current.join(URL(response.headers["Location"]))
                    still_permanent = still_permanent and response.status in _PERMANENT
                    if still_permanent:
                        permanent = str(target)
                    if str(target) in visited:
                        raise PermanentFetchError("fetcher: redirect loop", kind="redirect_loop")
                    current = target
                    continue
                return await self._answer(response, permanent)
        raise PermanentFetchError(
            f"fetcher: more than {self.settings.max_redirects} redirects", kind="redirects"
        )

    async def _answer(self, response: aiohttp.ClientResponse, permanent: str | None) -> FetchResult:
        status = response.status
        headers = response.headers
        if status == 304:
            return FetchResult(
                304,
                str(response.url),
                etag=headers.get("ETag", ""),
                last_modified=headers.get("Last-Modified", ""),
                max_age=parse_max_age(headers.get("Cache-Control")),
                permanent_redirect=permanent,
            )
        if status != 200:
            retry_after = parse_retry_after(
                headers.get("Retry-After"), datetime.now(UTC), cap=self.settings.backoff_max
            )
            raise _status_error(status, retry_after)
        body = await read_body(response, self.settings.max_bytes)
        return FetchResult(
            200,
            str(response.url),
            body,
            etag=headers.get("ETag", "")[:1024],
            last_modified=headers.get("Last-Modified", "")[:256],
            content_type=headers.get("Content-Type", "")[:256],
            max_age=parse_max_age(headers.get("Cache-Control")),
            permanent_redirect=permanent,
        )


async def read_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The decompressed body, refused as soon as it would exceed ``max_bytes``."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    declared = response.content_length
    if declared is not None and declared > max_bytes and encoding in ("identity", ""):
        raise PermanentFetchError(f"fetcher: body larger than {max_bytes} bytes", kind="too_large")
    decoder = _Decoder(encoding, max_bytes)
    async for chunk in response.content.iter_chunked(_CHUNK):
        decoder.feed(chunk)
    return decoder.finish()


class _Decoder:
    """Incremental gzip/deflate/identity decoding with a cap on the decoded size."""

    def __init__(self, encoding: str, max_bytes: int) -> None:
        if encoding not in ("identity", "", "gzip", "x-gzip", "deflate"):
            raise PermanentFetchError(
                f"fetcher: unsupported Content-Encoding {encoding[:40]!r}", kind="decode"
            )
        self.max_bytes = max_bytes
        self.parts: list[bytes] = []
        self.size = 0
        self.wire = 0
        self.raw: list[bytes] = []
        self.zlib: zlib._Decompress | None = None
        if encoding in ("gzip", "x-gzip", "deflate"):
            self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib header, auto
        self.deflate_raw_tried = encoding != "deflate"

    def feed(self, chunk: bytes) -> None:
        """Decode one chunk of the wire body."""
        if self.zlib is None:
            self._add(chunk)
            return
        self.wire += len(chunk)
        if self.wire > self.max_bytes:
            raise PermanentFetchError(
                f"fetcher: body larger than {self.max_bytes} bytes", kind="too_large"
            )
        if not self.parts:
            self.raw.append(chunk)  # kept until output appears, for the fallback below
        try:
            data = self.zlib.decompress(chunk, self._room())
            self._add(data)
            while self.zlib.unconsumed_tail:
                self._add(self.zlib.decompress(self.zlib.unconsumed_tail, self._room()))
        except zlib.error:
            self._fallback()

    def _fallback(self) -> None:
        # Servers label plain bodies as gzip, and send raw deflate without a zlib header;
        # feedparser's own fetcher tolerated both, so do we, but only before any output.
        if self.parts:
            raise PermanentFetchError("fetcher: corrupt compressed body", kind="decode")
        wire = b"".join(self.raw)
        if not self.deflate_raw_tried:
            self.deflate_raw_tried = True
            self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            self.raw = []
            self.wire = 0
            self.feed(wire)
            return
        self.zlib = None
        self._add(wire)

    def _room(self) -> int:
        return self.max_bytes - self.size + 1

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PermanentFetchError(
                f"fetcher: body larger than {self.max_bytes} bytes after decompression",
                kind="too_large",
            )
        if data:
            self.parts.append(data)

    def finish(self) -> bytes:
        """The whole decoded body."""
        if self.zlib is not None and not self.parts and self.raw:
            self._fallback()
        return b"".join(self.parts)


def read_file_capped(url: str, max_bytes: int) -> bytes:
    """Read a configured ``file://`` feed, refusing more than ``max_bytes``."""
    path = Path(url2pathname(urlsplit(url).path))
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except OSError as exc:
        raise PermanentFetchError(
            f"fetcher: cannot read {path}: {exc.strerror or exc}", kind="file"
        ) from exc
    if len(body) > max_bytes:
        raise PermanentFetchError(
            f"fetcher: {path} is larger than {max_bytes} bytes", kind="too_large"
        )
    return body


def _check_target(url: URL, policy: AddressPolicy) -> None:
    if url.scheme not in ("http", "https"):
        raise PermanentFetchError(
            f"fetcher: redirect to unsupported scheme {url.scheme!r}", kind="scheme"
        )
    if not url.host or not policy.allows_host(url.host, url.port):
        host = url.host or ""
        raise PermanentFetchError(
            f"fetcher: refused {host[:100]}:{url.port}: {policy.refusal(host)}",
            kind="private_address",
        )


def _conditional(etag: str, last_modified: str) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _status_error(status: int, retry_after: float | None) -> FetchError:
    if status == 429:
        return RetryableFetchError(
            "fetcher: HTTP 429", kind="rate_limited", retry_after=retry_after
        )
    if status in _RETRYABLE_STATUS or status >= 500:
        return RetryableFetchError(
            f"fetcher: HTTP {status}", kind="http_5xx", retry_after=retry_after
        )
    if status == 410:
        return PermanentFetchError("fetcher: HTTP 410 Gone", kind="gone")
    if status in _REDIRECTS:
        return PermanentFetchError(f"fetcher: HTTP {status} without Location", kind="http_4xx")
    return PermanentFetchError(f"fetcher: HTTP {status}", kind="http_4xx")


def _translate(exc: aiohttp.ClientError) -> FetchError:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ForbiddenAddress):
            return PermanentFetchError(f"fetcher: refused: {cause}", kind="private_address")
        cause = cause.__cause__ or getattr(cause, "os_error", None)
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return RetryableFetchError(f"fetcher: cannot resolve host: {exc}", kind="dns")
    if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ServerDisconnectedError):
        return RetryableFetchError(f"fetcher: cannot connect: {exc}", kind="connect")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return RetryableFetchError(f"fetcher: truncated body: {exc}", kind="truncated")
    if isinstance(exc, aiohttp.TooManyRedirects | aiohttp.InvalidURL):
        return PermanentFetchError(f"fetcher: {type(exc).__name__}", kind="http_4xx")
    return RetryableFetchError(f"fetcher: {type(exc).__name__}: {exc}", kind="network")


def _with_elapsed(result: FetchResult, elapsed: float) -> FetchResult:
    return dataclasses.replace(result, elapsed=elapsed)

"""POSTing JSON to a URL, with every failure translated to a retryable or permanent delivery.

Error messages name the exception class and the status, never the URL: for Slack the URL is the
secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import aiohttp

from monitor.alerts.retry import classify_http
from monitor.alerts.sinks.base import Pacer
from monitor.errors import PermanentDelivery, RetryableDelivery
from monitor.retry_after import parse_retry_after

_BODY_LIMIT = 64 * 1024


class JsonPoster:
    """One aiohttp session for one sink (created lazily inside the running loop), paced.

    A ``Retry-After`` is read clamped to the pacer's ``max_defer`` (``delivery.backoff_max``).
    """

    def __init__(self, *, service: str, timeout: float, pacer: Pacer) -> None:
        self.service = service
        self.pacer = pacer
        self.timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 10.0))
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, headers={"User-Agent": "treaty-monitor"}
            )
        return self._session

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> str:
        """POST ``body`` when the pacer allows; return the reply text or raise by class."""
        await self.pacer.wait()
        try:
            return await self._post(url, body, headers)
        except RetryableDelivery as exc:
            if exc.retry_after:
                self.pacer.defer(exc.retry_after)
            raise

    async def _post(self, url: str, body: bytes, headers: Mapping[str, str]) -> str:
        try:
            async with self._client().post(
                url, data=body, headers=dict(headers), allow_redirects=False
            ) as response:
                text = (await response.content.read(_BODY_LIMIT)).decode("utf-8", "replace")
                status = response.status
                retry_after = parse_retry_after(
                    response.headers.get("Retry-After"), datetime.now(UTC), cap=self.pacer.max_defer
                )
        except TimeoutError as exc:
            raise RetryableDelivery(f"{self.service}: timed out") from exc
        except aiohttp.InvalidURL as exc:
            raise PermanentDelivery(f"{self.service}: invalid URL") from exc
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or type(exc.os_error).__name__
            raise RetryableDelivery(f"{self.service}: cannot connect ({reason})") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise RetryableDelivery(f"{self.service}: {type(exc).__name__}") from exc
        if 300 <= status < 400:
            raise PermanentDelivery(f"{self.service}: unexpected redirect (HTTP {status})")
        error = classify_http(status, body=text, retry_after=retry_after, service=self.service)
        if error is not None:
            raise error
        return text

    async def aclose(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

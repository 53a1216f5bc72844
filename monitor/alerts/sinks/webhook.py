"""The generic webhook sink: documented JSON, signed with HMAC-SHA256 over the exact body.

Headers: ``X-Treaty-Monitor-Signature: sha256=<hex>`` (when a secret is configured),
``X-Treaty-Monitor-Delivery: <alert or digest id>`` (for the receiver's own idempotency).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.followups import webhook_followup_payload
from monitor.alerts.render import Digest, webhook_digest_payload, webhook_payload
from monitor.alerts.sinks.base import Pacer
from monitor.alerts.sinks.http import JsonPoster
from monitor.alerts.threads import Followup

SIGNATURE_HEADER = "X-Treaty-Monitor-Signature"
DELIVERY_HEADER = "X-Treaty-Monitor-Delivery"


def signature(secret: bytes, body: bytes) -> str:
    """The signature header value for ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class WebhookSink:
    """POSTs JSON alerts to a URL."""

    def __init__(
        self,
        name: str,
        url: SecretStr,
        *,
        secret: SecretStr | None,
        pacer: Pacer,
        timeout: float,
        subscription: str = "",
    ) -> None:
        self.name = name
        self.subscription = subscription
        self._url = url
        self._secret = secret
        self._poster = JsonPoster(service="webhook", timeout=timeout, pacer=pacer)

    async def _post(self, payload: dict[str, Any], delivery_id: str) -> None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: delivery_id}
        if self._secret is not None:
            headers[SIGNATURE_HEADER] = signature(self._secret.get_secret_value().encode(), body)
        await self._poster.post(self._url.get_secret_value(), body, headers)

    async def send(self, alert: Alert) -> None:
        """POST one alert."""
        await self._post(webhook_payload(alert, self.subscription), alert.id)

    async def send_followup(self, followup: Followup) -> None:
        """POST a story's follow-up (``type: followup``) or reminder (``type: reminder``)."""
        await self._post(webhook_followup_payload(followup, self.subscription), followup.id)

    async def send_digest(self, digest: Digest) -> None:
        """POST one digest."""
        await self._post(webhook_digest_payload(digest), digest.id)

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._poster.aclose()

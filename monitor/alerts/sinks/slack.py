"""The Slack sink: Block Kit messages to an incoming webhook, paced per webhook."""

from __future__ import annotations

import json
from typing import Any

from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.followups import slack_followup_payload
from monitor.alerts.render import Digest, slack_digest_payload, slack_payload
from monitor.alerts.sinks.base import Pacer
from monitor.alerts.sinks.http import JsonPoster
from monitor.alerts.threads import Followup
from monitor.errors import PermanentDelivery


class SlackSink:
    """Posts to a Slack incoming webhook; a 429's Retry-After also slows the shared pacer."""

    def __init__(self, name: str, webhook_url: SecretStr, *, pacer: Pacer, timeout: float) -> None:
        self.name = name
        self._url = webhook_url
        self._poster = JsonPoster(service="slack", timeout=timeout, pacer=pacer)

    async def _post(self, payload: dict[str, Any]) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        text = await self._poster.post(self._url.get_secret_value(), body, headers)
        if text.strip() not in ("ok", ""):
            # Webhooks answer "ok"; anything else at 2xx is an error Slack reported in the body.
            raise PermanentDelivery(f"slack: unexpected reply {text.strip()[:100]!r}")

    async def send(self, alert: Alert) -> None:
        """Post one alert."""
        await self._post(slack_payload(alert))

    async def send_followup(self, followup: Followup) -> None:
        """Post a short follow-up (an incoming webhook cannot thread)."""
        await self._post(slack_followup_payload(followup))

    async def send_digest(self, digest: Digest) -> None:
        """Post one digest message."""
        await self._post(slack_digest_payload(digest))

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._poster.aclose()

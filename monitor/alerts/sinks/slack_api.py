"""The Slack sink with a bot token: ``chat.postMessage``, so follow-ups thread under the story.

The first message's ``ts`` (from Slack's reply) is the story's thread handle: follow-ups are
posted with ``thread_ts``; reminders too, with ``reply_broadcast`` so the channel sees them.
Errors name Slack's error code, never the token.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.followups import slack_followup_payload
from monitor.alerts.render import Digest, slack_digest_payload, slack_payload
from monitor.alerts.sinks.base import Pacer
from monitor.alerts.sinks.http import JsonPoster
from monitor.alerts.threads import Followup
from monitor.errors import PermanentDelivery, RetryableDelivery

DEFAULT_API_URL = "https://slack.com/api"
# Error codes of chat.postMessage that may succeed when asked again.
_RETRYABLE = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_TS = re.compile(r"^\d+\.\d+$")


class SlackApiSink:
    """Posts to one Slack channel through the Web API with a bot token (``xoxb-...``)."""

    def __init__(
        self, name: str, token: SecretStr, *, channel: str, pacer: Pacer, timeout: float,
        api_url: str = DEFAULT_API_URL,
    ) -> None:  # fmt: skip
        self.name = name
        self.channel = channel
        self._token = token
        self._url = api_url.rstrip("/") + "/chat.postMessage"
        self._poster = JsonPoster(service="slack", timeout=timeout, pacer=pacer)

    async def _call(self, payload: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({**payload, "channel": self.channel}, ensure_ascii=False).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {self._token.get_secret_value()}",
        }
        text = await self._poster.post(self._url, body, headers)
        try:
            reply = json.loads(text)
        except ValueError:
            raise PermanentDelivery("slack: reply is not JSON") from None
        if not isinstance(reply, dict) or not reply.get("ok"):
            error = str(reply.get("error", "unknown") if isinstance(reply, dict) else "unknown")
            error = re.sub(r"[^a-z0-9_]", "", error.lower())[:60] or "unknown"
            if error in _RETRYABLE:
                raise RetryableDelivery(f"slack: {error}")
            raise PermanentDelivery(f"slack: {error}")
        return reply

    async def send(self, alert: Alert) -> str:
        """Post one alert; returns its ``ts`` (the thread its follow-ups go into)."""
        reply = await self._call(slack_payload(alert))
        ts = str(reply.get("ts", ""))
        return ts if _TS.match(ts) else ""

    async def send_followup(self, followup: Followup) -> None:
        """Post a follow-up into the story's thread (a reminder is also shown in the channel)."""
        payload = slack_followup_payload(followup)
        if _TS.match(followup.thread):
            payload["thread_ts"] = followup.thread
            if followup.kind == "reminder":
                payload["reply_broadcast"] = True
        await self._call(payload)

    async def send_digest(self, digest: Digest) -> None:
        """Post one digest message."""
        await self._call(slack_digest_payload(digest))

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._poster.aclose()

"""The Apprise sink (optional extra ``apprise``): one URL reaching any service Apprise covers."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.followups import email_followup_parts, followup_line
from monitor.alerts.render import Digest, console_digest, console_text, email_parts
from monitor.alerts.sinks.base import Pacer
from monitor.alerts.threads import Followup
from monitor.errors import ConfigError, RetryableDelivery


class AppriseSink:
    """Notifies through Apprise; imported only when such a sink is configured."""

    def __init__(self, name: str, url: SecretStr, *, pacer: Pacer) -> None:
        try:
            import apprise
        except ImportError as exc:
            raise ConfigError(
                f"sinks: {name!r} needs the 'apprise' package "
                "(pip install 'treaty-monitor[apprise]')"
            ) from exc
        self.name = name
        self._pacer = pacer
        self._apprise: Any = apprise.Apprise()
        if not self._apprise.add(url.get_secret_value()):
            raise ConfigError(f"sinks: {name!r}: url not understood by Apprise")

    async def _notify(self, title: str, body: str) -> None:
        await self._pacer.wait()
        try:
            ok = await self._apprise.async_notify(body=body, title=title)
        except Exception as exc:  # plugins raise anything: treat as transient
            raise RetryableDelivery(f"apprise: {type(exc).__name__}") from exc
        if not ok:
            raise RetryableDelivery("apprise: notification not accepted")

    async def send(self, alert: Alert) -> None:
        """Notify one alert (plain text body)."""
        await self._notify(email_parts(alert).subject, console_text(alert))

    async def send_followup(self, followup: Followup) -> None:
        """Notify a story's follow-up or reminder (one line)."""
        await self._notify(email_followup_parts(followup).subject, followup_line(followup))

    async def send_digest(self, digest: Digest) -> None:
        """Notify one digest."""
        await self._notify(f"treaty-monitor digest: {len(digest.alerts)} alerts",
                           console_digest(digest))  # fmt: skip

    async def aclose(self) -> None:
        """Nothing to release."""

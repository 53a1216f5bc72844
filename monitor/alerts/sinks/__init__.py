"""Sinks: where alerts go. Each implements :class:`~monitor.alerts.sinks.base.Sink`."""

from __future__ import annotations

import hashlib

from monitor.alerts.recipients import RecipientStore
from monitor.alerts.sinks.base import Pacer, Sink
from monitor.alerts.sinks.console import ConsoleSink
from monitor.alerts.sinks.email import EmailSink, SmtpOptions
from monitor.alerts.sinks.slack import SlackSink
from monitor.alerts.sinks.webhook import WebhookSink
from monitor.config import SinkSettings
from monitor.errors import ConfigError

__all__ = ["Pacer", "Sink", "build_sink"]


def _pacer(
    pacers: dict[str, Pacer], settings: SinkSettings, target: str, max_defer: float
) -> Pacer:
    # One pacer per destination: two sinks posting to the same webhook share its rate limit.
    key = hashlib.sha256(f"{settings.type}\x00{target}".encode()).hexdigest()
    if key not in pacers:
        pacers[key] = Pacer(settings.pace(), max_defer=max_defer)
    return pacers[key]


def build_sink(
    settings: SinkSettings,
    pacers: dict[str, Pacer],
    *,
    subscription: str,
    backoff_max: float,
    recipients: RecipientStore | None = None,
) -> Sink:
    """The sink ``settings`` describe; secrets are read here (file, else environment).

    ``backoff_max`` (``delivery.backoff_max``) bounds how long a ``Retry-After`` holds a pacer.
    ``recipients`` keeps an email's per-recipient retry state (in memory when not given).
    """
    if settings.type == "console":
        return ConsoleSink(settings.name, colour=settings.color)
    if settings.type == "slack" and (token := settings.secret("token")) is not None:
        from monitor.alerts.sinks.slack_api import SlackApiSink

        pacer = _pacer(pacers, settings, f"{settings.api_url}\x00{settings.channel}", backoff_max)
        return SlackApiSink(
            settings.name, token, channel=settings.channel or "", pacer=pacer,
            timeout=settings.timeout, api_url=settings.api_url,
        )  # fmt: skip
    if settings.type == "slack" and (settings.token or settings.token_env):
        raise ConfigError(f"sinks: {settings.name!r}: token_env names an unset variable")
    if settings.type == "slack":
        url = settings.secret("webhook_url")
        if url is None:
            raise ConfigError(f"sinks: {settings.name!r}: webhook_url_env names an unset variable")
        pacer = _pacer(pacers, settings, url.get_secret_value(), backoff_max)
        return SlackSink(settings.name, url, pacer=pacer, timeout=settings.timeout)
    if settings.type == "email":
        options = SmtpOptions(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.username,
            password=settings.secret("password"),
            timeout=settings.timeout,
        )
        target = f"{settings.smtp_host}:{settings.smtp_port}"
        return EmailSink(
            settings.name, options, sender=settings.sender, recipients=settings.recipients,
            pacer=_pacer(pacers, settings, target, backoff_max), state=recipients,
        )  # fmt: skip
    url = settings.secret("url")
    if url is None:
        raise ConfigError(f"sinks: {settings.name!r}: url_env names an unset variable")
    pacer = _pacer(pacers, settings, url.get_secret_value(), backoff_max)
    if settings.type == "webhook":
        return WebhookSink(
            settings.name, url, secret=settings.secret("hmac_secret"), pacer=pacer,
            timeout=settings.timeout, subscription=subscription,
        )  # fmt: skip
    from monitor.alerts.sinks.apprise_sink import AppriseSink  # optional extra: import late

    return AppriseSink(settings.name, url, pacer=pacer)

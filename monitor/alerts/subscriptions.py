"""Runtime subscriptions: created through the API, kept in Redis, picked up by every notifier.

A runtime subscription is the same :class:`~monitor.config.SubscriptionSettings` a config file
holds, validated the same way, with two more rules: its sink must be one the config defines
(secrets never travel through the API), and its name must not be a config subscription's.

Storage: one hash (name → JSON) and a version counter bumped on every change, so notifier
processes poll one small key and re-read the hash only when it moved.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
import structlog
from pydantic import ValidationError
from redis.exceptions import ResponseError

from monitor.config import Settings, SubscriptionSettings
from monitor.errors import MonitorError
from monitor.streams import Keys, as_text, decode_fields, subscription_group

log = structlog.get_logger(__name__)

CHANNEL = re.compile(r"[a-z0-9][a-z0-9_-]*")  # as monitor.rules.schema.Channel
MAX_NAME = 100


class SubscriptionError(MonitorError):
    """A runtime subscription cannot be created or deleted; the message says why."""


class InvalidSubscription(SubscriptionError, ValueError):
    """The body is not a valid subscription; the message names the field."""


class SubscriptionClash(SubscriptionError):
    """A subscription of that name exists already (in the config or in Redis)."""


class ReadOnlySubscription(SubscriptionError):
    """The subscription comes from the config file; only the file can change it."""


class SubscriptionNotFound(SubscriptionError, LookupError):
    """No runtime subscription of that name."""


@dataclass(frozen=True)
class Catalog:
    """What the config defines: its subscriptions (read-only) and the names of its sinks."""

    subscriptions: tuple[SubscriptionSettings, ...] = ()
    sinks: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Settings) -> Catalog:
        """The catalog of a loaded config."""
        return cls(settings.subscriptions, tuple(s.name for s in settings.sinks))

    def config_names(self) -> frozenset[str]:
        """Names of the config's subscriptions."""
        return frozenset(s.name for s in self.subscriptions)

    def problem(self, sub: SubscriptionSettings) -> str | None:
        """Why ``sub`` cannot run beside this config (None: it can)."""
        if sub.name in self.config_names():
            return f"name: {sub.name!r} is a subscription of the config file"
        if sub.sink not in self.sinks:
            return f"sink: unknown sink {sub.sink!r} (defined in the config: {sorted(self.sinks)})"
        return None


def parse_subscription(body: Any, catalog: Catalog) -> SubscriptionSettings:
    """A runtime subscription from an API body, or :class:`InvalidSubscription` naming the field.

    Raises :class:`SubscriptionClash` when the name is a config subscription's.
    """
    if not isinstance(body, dict):
        raise InvalidSubscription("body: expected a JSON object")
    try:
        sub = SubscriptionSettings.model_validate(body)
    except ValidationError as exc:
        raise InvalidSubscription(_first_error(exc)) from None
    _check_names(sub)
    why = catalog.problem(sub)
    if why is not None and sub.name in catalog.config_names():
        raise SubscriptionClash(why)
    if why is not None:
        raise InvalidSubscription(why)
    return sub


def _check_names(sub: SubscriptionSettings) -> None:
    # The config trusts its author; through the API, names become Redis keys: rules' channel names
    # only (nothing else is ever published), and bounded lengths.
    if len(sub.name) > MAX_NAME:
        raise InvalidSubscription(f"name: longer than {MAX_NAME} characters")
    for number, channel in enumerate(sub.channels):
        if not CHANNEL.fullmatch(channel) or len(channel) > MAX_NAME:
            raise InvalidSubscription(
                f"channels.{number}: {channel[:MAX_NAME]!r} is not a channel name "
                "(lowercase letters, digits, '-' and '_', as rules name them)"
            )


def _first_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def to_json(sub: SubscriptionSettings) -> str:
    """The stored form of a subscription."""
    return json.dumps(sub.model_dump(mode="json", exclude_defaults=True), ensure_ascii=False)


class SubscriptionStore:
    """Create, list and delete runtime subscriptions in Redis."""

    def __init__(self, client: aioredis.Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys

    async def add(self, sub: SubscriptionSettings) -> None:
        """Store a new subscription; :class:`SubscriptionClash` if the name is taken."""
        if not await self.client.hsetnx(self.keys.runtime_subscriptions, sub.name, to_json(sub)):
            raise SubscriptionClash(f"name: a runtime subscription {sub.name!r} exists already")
        await self.client.incr(self.keys.runtime_subscriptions_version)
        log.info("subscription_created", subscription=sub.name, sink=sub.sink)

    async def all(self) -> list[SubscriptionSettings]:
        """Every stored subscription, by name; unreadable records are logged and skipped."""
        raw = decode_fields(await self.client.hgetall(self.keys.runtime_subscriptions))
        subs = []
        for name in sorted(raw):
            try:
                subs.append(SubscriptionSettings.model_validate_json(raw[name]))
            except ValidationError as exc:
                log.error("subscription_unreadable", subscription=name, error=_first_error(exc))
        return subs

    async def remove(self, name: str) -> SubscriptionSettings:
        """Delete a subscription and its consumer groups; :class:`SubscriptionNotFound` if none."""
        raw = await self.client.hget(self.keys.runtime_subscriptions, name)
        if raw is None or not await self.client.hdel(self.keys.runtime_subscriptions, name):
            raise SubscriptionNotFound(f"no runtime subscription {name!r}")
        await self.client.incr(self.keys.runtime_subscriptions_version)
        sub = SubscriptionSettings.model_validate_json(as_text(raw))
        await self.forget_groups(sub.name, sub.channels)
        log.info("subscription_deleted", subscription=name)
        return sub

    async def forget_groups(self, name: str, channels: Iterable[str]) -> None:
        """Destroy the subscription's consumer groups, which would otherwise hold back trims."""
        for channel in channels:
            # A channel nothing was ever published on has no stream (and so no group).
            with contextlib.suppress(ResponseError):
                await self.client.xgroup_destroy(
                    self.keys.alerts(channel), subscription_group(name)
                )

    async def version(self) -> int:
        """The change counter (0 before the first change)."""
        value = await self.client.get(self.keys.runtime_subscriptions_version)
        return int(as_text(value)) if value is not None else 0

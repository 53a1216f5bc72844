"""Runs a notifier for each runtime subscription, started and stopped as the API changes them.

Every daemon process with the notifier role runs one supervisor. It polls the store's version
counter every ``delivery.subscriptions_poll`` seconds; when it moved, it re-reads the
subscriptions, starts a :class:`~monitor.alerts.notifier.Notifier` for each new one and stops
(through that notifier's own stop event, so an in-flight send finishes) each one deleted.
Processes share one consumer group per subscription, as they do for config subscriptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from monitor.alerts.attempts import sleep_or_stop
from monitor.alerts.notifier import Notifier
from monitor.alerts.sinks import Pacer, build_sink
from monitor.alerts.subscriptions import Catalog, SubscriptionStore
from monitor.config import Settings, SubscriptionSettings
from monitor.errors import MonitorError
from monitor.streams import Keys

log = structlog.get_logger(__name__)

NotifierFactory = Callable[[SubscriptionSettings], Notifier]


@dataclass
class _Running:
    subscription: SubscriptionSettings
    stop: asyncio.Event
    task: asyncio.Task[None]


@dataclass
class SubscriptionSupervisor:
    """Keeps one running notifier per usable runtime subscription."""

    settings: Settings
    client: aioredis.Redis
    keys: Keys
    consumer: str
    make_notifier: NotifierFactory | None = None
    running: dict[str, _Running] = field(default_factory=dict)
    _version: int | None = None
    _pacers: dict[str, Pacer] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = SubscriptionStore(self.client, self.keys)
        self.catalog = Catalog.of(self.settings)

    def alive(self) -> bool:
        """Whether every notifier it started is still running (for the health beat)."""
        return not any(r.task.done() for r in self.running.values())

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the store until ``stop`` is set, then stop every notifier it started."""
        try:
            while not stop.is_set():
                try:
                    await self.sync()
                except RedisError as exc:
                    log.warning("subscriptions_poll_failed", error=str(exc))
                except Exception:
                    # A bug must not stop the pick-up for good: log it and poll again.
                    log.exception("subscriptions_sync_failed")
                if await sleep_or_stop(self.settings.delivery.subscriptions_poll, stop):
                    break
        finally:
            await asyncio.gather(*(self._stop(name) for name in list(self.running)))

    async def sync(self) -> None:
        """Start and stop notifiers to match the store (a no-op while its version stands)."""
        version = await self.store.version()
        if version == self._version:
            return
        wanted = {}
        for sub in await self.store.all():
            why = self.catalog.problem(sub)
            if why is None:
                wanted[sub.name] = sub
            else:
                log.error("subscription_not_started", subscription=sub.name, error=why)
        for name, running in list(self.running.items()):
            if wanted.get(name) != running.subscription:
                await self._stop(name)
                if name not in wanted:
                    # Another process may have recreated the groups just before it stopped.
                    await self.store.forget_groups(name, running.subscription.channels)
        for name, sub in wanted.items():
            if name not in self.running:
                self._start(sub)
        self._version = version

    def _start(self, sub: SubscriptionSettings) -> None:
        try:
            notifier = (self.make_notifier or self._notifier)(sub)
        except MonitorError as exc:
            # e.g. the sink's *_env variable is unset in this process; the others may serve it.
            log.error("subscription_not_started", subscription=sub.name, error=str(exc))
            return
        stop = asyncio.Event()
        task = asyncio.create_task(notifier.run(stop), name=f"notifier-{sub.name}")
        self.running[sub.name] = _Running(sub, stop, task)
        log.info("subscription_started", subscription=sub.name, channels=list(sub.channels))

    async def _stop(self, name: str) -> None:
        running = self.running.pop(name)
        running.stop.set()
        await asyncio.gather(running.task, return_exceptions=True)
        log.info("subscription_stopped", subscription=name)

    def _notifier(self, sub: SubscriptionSettings) -> Notifier:
        sink = build_sink(
            self.settings.sink(sub.sink), self._pacers, subscription=sub.name,
            backoff_max=self.settings.delivery.backoff_max,
        )  # fmt: skip
        return Notifier(sub, sink, self.client, self.keys, self.settings.delivery,
                        consumer=self.consumer)  # fmt: skip

"""Redis state of one subscription's grouping and digests (thin I/O around pure logic).

Stories live in the hash ``story:<subscription>`` (story id → :class:`Story` JSON), digests in
``digest:<subscription>`` (alert id → alert JSON, plus ``_since``: when the period began).
A story is opened *before* its alert is sent, under WATCH/MULTI on the hash, so two notifiers
reading two reports of one story at once cannot both send an alert: one opens, one absorbs.

These stories group alerts without a ``story`` id (title similarity, per rule); alerts the
engine gave a story id are threaded by :mod:`monitor.alerts.storyflow` instead.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import redis.asyncio as aioredis
from redis.exceptions import WatchError

from monitor.alerts.alert import Alert
from monitor.alerts.grouping import Story, absorb, expired, find_story, story_words
from monitor.streams import Keys, decode_fields

_SINCE = "_since"


class StoryBook:
    """Recent stories of one subscription, to fold repeats from other outlets into one alert."""

    def __init__(self, client: aioredis.Redis, keys: Keys, subscription: str, window: float):
        self.client = client
        self.key = keys.story(subscription)
        self.window = window

    async def stories(self, now: float) -> list[Story]:
        """Open stories; expired ones are removed on the way."""
        raw = decode_fields(await self.client.hgetall(self.key))
        stories = [Story.from_json(value) for value in raw.values()]
        dead = [s.id for s in stories if expired(s, now=now, window=self.window)]
        if dead:
            await self.client.hdel(self.key, *dead)
        return [s for s in stories if s.id not in dead]

    async def absorb_or_open(self, alert: Alert, now: float) -> bool:
        """Fold ``alert`` into an open story of its rule (True), or open the story it starts
        before it is sent (False). Atomic: WATCH/MULTI on the hash, retried on conflict."""
        words = story_words(alert.entry.title)

        def decide(stories: list[Story]) -> tuple[Story | None, bool]:
            story = find_story(words, alert.rule_id, stories, now=now, window=self.window)
            if story is not None and story.id != alert.id:
                return absorb(story, alert.entry.feed), True
            if story is not None:
                return None, False  # its own story: a redelivery of the opening alert
            opened = Story(
                id=alert.id, rule_id=alert.rule_id, words=words, first_feed=alert.entry.feed,
                opened_at=now, alert_json=alert.to_json(), last_sent=now,
            )  # fmt: skip
            return opened, False

        return await self._transact(now, decide)

    async def reported(self, story_id: str, count: int, now: float) -> None:
        """Record that a follow-up reported ``count`` sources (sources added meanwhile stay)."""

        def decide(stories: list[Story]) -> tuple[Story | None, bool]:
            story = next((s for s in stories if s.id == story_id), None)
            if story is None:
                return None, False
            return replace(story, reported=max(story.reported, count), last_sent=now), True

        await self._transact(now, decide, include_expired=True)

    async def drop(self, story_id: str) -> None:
        """Forget a story whose opening alert was never delivered (dead-lettered)."""
        await self.client.hdel(self.key, story_id)

    def _expired(self, story: Story, now: float) -> bool:
        return expired(story, now=now, window=self.window)

    async def _transact(
        self,
        now: float,
        decide: Callable[[list[Story]], tuple[Story | None, bool]],
        *,
        include_expired: bool = False,
    ) -> bool:
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(self.key)
                    raw = decode_fields(await pipe.hgetall(self.key))
                    stories = [Story.from_json(value) for value in raw.values()]
                    if not include_expired:
                        stories = [s for s in stories if not self._expired(s, now)]
                    story, result = decide(stories)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if story is not None:
                        pipe.hset(self.key, story.id, story.to_json())
                    pipe.expire(self.key, int(self.window * 2) + 60)
                    await pipe.execute()
                    return result
                except WatchError:
                    continue

    async def save(self, story: Story) -> None:
        """Write one story; the hash lives as long as a story can."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, story.id, story.to_json())
            pipe.expire(self.key, int(self.window * 2) + 60)
            await pipe.execute()


def followup_alert(story: Story) -> Alert:
    """The "+N sources" alert of a story: the opening alert with the later sources attached."""
    first = Alert.from_json(story.alert_json)
    return replace(first, id=f"{story.id}.{len(story.sources)}", sources=story.sources)


class DigestBox:
    """Alerts waiting for a subscription's next digest."""

    def __init__(self, client: aioredis.Redis, keys: Keys, subscription: str, period: float):
        self.client = client
        self.key = keys.digest(subscription)
        self.period = period

    async def add(self, alert: Alert, stream: str, group: str, message_id: str, now: float) -> None:
        """Keep ``alert`` and acknowledge its stream message in one transaction."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, alert.id, alert.to_json())
            pipe.hsetnx(self.key, _SINCE, str(now))
            pipe.xack(stream, group, message_id)
            await pipe.execute()

    async def due(self, now: float) -> tuple[str, list[Alert]] | None:
        """(digest id, alerts) when the period is over and alerts wait; else ``None``."""
        raw = decode_fields(await self.client.hgetall(self.key))
        since = float(raw.pop(_SINCE, now))
        if not raw or now - since < self.period:
            return None
        ids = sorted(raw)
        digest_id = "digest-" + hashlib.sha256("\n".join(ids).encode()).hexdigest()[:24]
        alerts = sorted((Alert.from_json(raw[i]) for i in ids), key=lambda a: a.created_at)
        return digest_id, alerts

    async def clear(self, alerts: list[Alert], now: float) -> None:
        """Remove sent alerts and start the next period."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hdel(self.key, *(a.id for a in alerts))
            pipe.hset(self.key, _SINCE, str(now))
            await pipe.execute()

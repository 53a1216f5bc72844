"""Redis state of one subscription's grouping and digests (thin I/O around pure logic).

Stories live in the hash ``story:<subscription>`` (story id → :class:`Story` JSON), digests in
``digest:<subscription>`` (alert id → alert JSON, plus ``_since``: when the period began).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import redis.asyncio as aioredis

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

    async def absorb(self, alert: Alert, now: float) -> bool:
        """Fold ``alert`` into an open story of its rule; False when it opens a new story."""
        words = story_words(alert.entry.title)
        stories = await self.stories(now)
        story = find_story(words, alert.rule_id, stories, now=now, window=self.window)
        if story is None or story.id == alert.id:
            return False
        await self.save(absorb(story, alert.entry.feed))
        return True

    async def open(self, alert: Alert, now: float) -> None:
        """Record the story ``alert`` (just delivered) opens."""
        story = Story(
            id=alert.id,
            rule_id=alert.rule_id,
            words=story_words(alert.entry.title),
            first_feed=alert.entry.feed,
            opened_at=now,
            alert_json=alert.to_json(),
            last_sent=now,
        )
        await self.save(story)

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

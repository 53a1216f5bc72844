"""The daemon's story index in Redis: the same choice as :class:`StoryIndex`, made atomically.

Each treaty+development bucket is one hash (``Keys.story_bucket``). Assigning an entry WATCHes
the bucket and the entry's own key, reads the bucket, chooses with the pure
:func:`monitor.events.stories.choose`, and writes in MULTI/EXEC; when another engine changed the
bucket meanwhile, EXEC fails and the choice is made again over the new contents. So two engine
processes never open two stories for one event, and a redelivered entry keeps its story.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import redis.asyncio as aioredis
import structlog
from redis.exceptions import WatchError

from monitor.errors import StoreError
from monitor.events.model import Event
from monitor.events.stories import WINDOW, Story, bucket, choose, open_story, title_words
from monitor.streams import Keys, as_text

log = structlog.get_logger(__name__)

# Buckets and entry assignments outlive any window a redelivery or a slow outlet needs.
STORY_TTL_SECONDS = 60 * 86400
# A treaty in the news every day keeps at most this many stories (the newest by first report);
# each assignment reads the whole bucket.
MAX_STORIES_PER_BUCKET = 500
_ATTEMPTS = 20


class RedisStories:
    """Assigns story ids through Redis, safely across engine processes."""

    def __init__(
        self,
        client: aioredis.Redis,
        keys: Keys,
        window: timedelta = WINDOW,
        max_stories: int = MAX_STORIES_PER_BUCKET,
    ) -> None:
        self.client = client
        self.keys = keys
        self.window = window
        self.max_stories = max_stories

    async def assign(self, entry_id: str, event: Event, title: str, at: datetime) -> str:
        """The story id of an entry's event, opening a story when it joins none."""
        bucket_key = self.keys.story_bucket(bucket(event))
        entry_key = self.keys.story_of(entry_id)
        words = title_words(title)
        for _ in range(_ATTEMPTS):
            async with self.client.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(bucket_key, entry_key)
                    known = await pipe.get(entry_key)
                    if known is not None:
                        return as_text(known)
                    raw = await pipe.hgetall(bucket_key)
                    stories = _stories(raw.values(), bucket_key)
                    story = choose(event, words, stories, at, self.window)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if story is None:
                        story = open_story(entry_id, event, words, at)
                        pipe.hset(bucket_key, story.id, story.to_json())
                        oldest = sorted(stories, key=lambda s: s.start)
                        extra = len(stories) + 1 - self.max_stories
                        if extra > 0:
                            pipe.hdel(bucket_key, *(s.id for s in oldest[:extra]))
                    pipe.expire(bucket_key, STORY_TTL_SECONDS)
                    pipe.set(entry_key, story.id, ex=STORY_TTL_SECONDS)
                    await pipe.execute()
                    return story.id
                except WatchError:
                    log.info("story_assign_retry", entry_id=entry_id, bucket=bucket(event))
                    continue
        raise StoreError(f"stories: could not assign a story to {entry_id} (bucket kept changing)")


def _stories(values: Iterable[str | bytes], key: str) -> list[Story]:
    """The readable records of a bucket; an unreadable one is logged and left out."""
    stories: list[Story] = []
    for value in values:
        try:
            stories.append(Story.from_json(value))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("story_record_invalid", key=key, error=str(exc))
    return stories

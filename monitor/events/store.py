"""The daemon's story index in Redis: the same choice as :class:`StoryIndex`, made atomically.

Stories live in one hash per treaty and time slot (``Keys.story_bucket``, slots one window wide:
:func:`monitor.events.stories.slot_keys`), so an assignment reads only the few stories of three
slots, each hash carrying a version (field ``~v``). An assignment reads the entry's own key and
the three hashes in one round trip, chooses with the pure :func:`monitor.events.stories.choose`,
and commits with one Lua script: it keeps a story the entry already has, and opens a new story
only if no hash changed since the read (otherwise the choice is made again over the new
contents). So two engine processes never open two stories for one event, and a redelivered entry
keeps its story: two round trips per alerting entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import redis.asyncio as aioredis
import structlog

from monitor.errors import StoreError
from monitor.events.model import Event
from monitor.events.stories import (
    WINDOW,
    Story,
    bucket,
    choose,
    open_story,
    slot_keys,
    title_words,
)
from monitor.streams import Keys, as_text, decode_fields

log = structlog.get_logger(__name__)

# Buckets and entry assignments outlive any window a redelivery or a slow outlet needs.
STORY_TTL_SECONDS = 60 * 86400
VERSION = "~v"
_ATTEMPTS = 20

# KEYS: the entry's key, then its own slot's hash and the two neighbours. ARGV: story id, story
# JSON ("" to join an existing story), ttl, then the three versions read. Returns {0, story id}
# when assigned (or already assigned), {1, ""} when a hash changed since the read.
_COMMIT = """
local known = redis.call('GET', KEYS[1])
if known then return {0, known} end
if ARGV[2] ~= '' then
  for i = 1, 3 do
    local version = redis.call('HGET', KEYS[i + 1], '~v') or '0'
    if version ~= ARGV[i + 3] then return {1, ''} end
  end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('HINCRBY', KEYS[2], '~v', 1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return {0, ARGV[1]}
"""


class RedisStories:
    """Assigns story ids through Redis, safely across engine processes."""

    def __init__(self, client: aioredis.Redis, keys: Keys, window: timedelta = WINDOW) -> None:
        self.client = client
        self.keys = keys
        self.window = window
        self._commit = client.register_script(_COMMIT)

    async def assign(self, entry_id: str, event: Event, title: str, at: datetime) -> str:
        """The story id of an entry's event, opening a story when it joins none."""
        buckets = [self.keys.story_bucket(key) for key in slot_keys(event, at, self.window)]
        entry_key = self.keys.story_of(entry_id)
        words = title_words(title)
        for _ in range(_ATTEMPTS):
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.get(entry_key)
                for key in buckets:
                    pipe.hgetall(key)
                known, *contents = await pipe.execute()
            if known is not None:
                return as_text(known)
            hashes = [decode_fields(content or {}) for content in contents]
            stories = [s for key, h in zip(buckets, hashes, strict=True) for s in _stories(h, key)]
            story = choose(event, words, stories, at, self.window)
            opened = story is None
            if story is None:
                story = open_story(entry_id, event, words, at)
            status, value = await self._commit(
                keys=[entry_key, *buckets],
                args=[
                    story.id,
                    story.to_json() if opened else "",
                    STORY_TTL_SECONDS,
                    *(h.get(VERSION, "0") for h in hashes),
                ],
            )
            if int(status) == 0:
                return as_text(value)
            log.info("story_assign_retry", entry_id=entry_id, bucket=bucket(event))
        raise StoreError(f"stories: could not assign a story to {entry_id} (bucket kept changing)")


def _stories(fields: Mapping[str, str], key: str) -> list[Story]:
    """The readable records of a bucket; an unreadable one is logged and left out."""
    stories: list[Story] = []
    for name, value in fields.items():
        if name == VERSION:
            continue
        try:
            stories.append(Story.from_json(value))
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("story_record_invalid", key=key, error=str(exc))
    return stories

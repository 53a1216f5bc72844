"""The daemon's story index in Redis: the same choice as :class:`StoryIndex`, made atomically.

Stories live in one hash per treaty and time slot (``Keys.story_bucket``, slots one window wide:
:func:`monitor.events.stories.slot_keys`), so an assignment reads only the few stories of three
slots, each hash carrying a version (field ``~v``). Assigning a batch of entries reads their own
keys and their slots' hashes in one round trip, chooses in entry order with the pure
:func:`monitor.events.stories.choose`, and commits with one Lua script that writes only if no
entry got a story and no hash changed since the read (otherwise the choices are made again over
the new contents). So two engine processes never open two stories for one event, a redelivered
entry keeps its story, and a batch costs two round trips.

Follow-up sources (:mod:`monitor.events.sources`: reports that alert on nothing but name a
story's treaty and actor) only join stories: :meth:`RedisStories.join_many` reads their recorded
joins (``Keys.source_of``: a redelivered source is published as the first time) and their slots'
stories, and returns the channels the story's alerts went to (``Keys.story_channels``, written by
the engine as it publishes). A source that joins none waits (:meth:`RedisStories.wait`,
``Keys.waiting_sources``) until a story opened later takes it (:meth:`RedisStories.waiting_for`);
it waits only if no story was written to the buckets it read since (else it looks again:
:meth:`RedisStories.rejoin`), so a story another engine opens at that moment never misses it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis
import structlog

from monitor.errors import StoreError
from monitor.events.model import Event
from monitor.events.sources import follow
from monitor.events.stories import (
    WINDOW,
    Story,
    choose,
    home_keys,
    open_story,
    slot,
    slot_keys,
    title_words,
)
from monitor.feeds.entry import Entry
from monitor.streams import Keys, as_text, decode_fields

log = structlog.get_logger(__name__)

# Buckets and entry assignments outlive any window a redelivery or a slow outlet needs.
STORY_TTL_SECONDS = 60 * 86400
VERSION = "~v"
_ATTEMPTS = 20

# KEYS: the entries' keys, the hashes read, then hashes only written. ARGV: entries n, hashes read
# m, ttl, the m versions read, the n story ids, the number of story records k, then k triples
# (hash index among the hashes read and written, id, JSON).
# Returns 0 when written, 1 when an entry got a story or a hash changed since the read.
_COMMIT = """
local n, m, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 1 end
end
for j = 1, m do
  local version = redis.call('HGET', KEYS[n + j], '~v') or '0'
  if version ~= ARGV[3 + j] then return 1 end
end
for i = 1, n do
  redis.call('SET', KEYS[i], ARGV[3 + m + i], 'EX', ttl)
end
local at = 4 + m + n
for k = 0, tonumber(ARGV[at]) - 1 do
  local key = KEYS[n + tonumber(ARGV[at + 1 + 3 * k])]
  redis.call('HSET', key, ARGV[at + 2 + 3 * k], ARGV[at + 3 + 3 * k])
  redis.call('HINCRBY', key, '~v', 1)
  redis.call('EXPIRE', key, ttl)
end
return 0
"""

# KEYS: a waiting-sources hash, then the story buckets the source read. ARGV: entry id, record,
# ttl, then the versions read. The source waits only if no story was written to those buckets
# since it found none there (else 1: it looks again), so a story another engine opens at the
# same moment either sees it waiting or is seen by it.
_WAIT = """
for j = 2, #KEYS do
  local version = redis.call('HGET', KEYS[j], '~v') or '0'
  if version ~= ARGV[2 + j] then return 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 0
"""

Item = tuple[str, Event, str]  # entry id, its event, its title
# The story a source joined (or None), the channels to publish it on, and whether that was
# decided before (a redelivery: publish exactly there, record nothing).
Joined = tuple[str | None, tuple[str, ...], bool]
Waiting = tuple[Entry, Event]  # a source that joined no story yet


class RedisStories:
    """Assigns story ids through Redis, safely across engine processes."""

    def __init__(self, client: aioredis.Redis, keys: Keys, window: timedelta = WINDOW) -> None:
        self.client = client
        self.keys = keys
        self.window = window
        self._commit = client.register_script(_COMMIT)
        self._wait = client.register_script(_WAIT)

    async def assign(self, entry_id: str, event: Event, title: str, at: datetime) -> str:
        """The story id of an entry's event, opening a story when it joins none."""
        return (await self.assign_many([(entry_id, event, title)], at))[0]

    async def assign_many(
        self,
        items: Sequence[Item],
        at: datetime,
        opened_stories: list[Story] | None = None,
        channels: Sequence[tuple[str, ...]] = (),
    ) -> list[str]:
        """The story ids of several entries' events, chosen in order (a later entry may join a
        story an earlier one opened): one read and one commit, again when another engine wrote
        in between. ``opened_stories`` receives the stories this call opened, in order;
        ``channels[i]``: where the i-th entry's alerts go (kept in a story it opens)."""
        if not items:
            return []
        slots = [
            [self.keys.story_bucket(key) for key in slot_keys(event, at, self.window)]
            for _, event, _ in items
        ]
        entry_keys = list(dict.fromkeys(self.keys.story_of(entry_id) for entry_id, _, _ in items))
        bucket_keys = list(dict.fromkeys(key for keys in slots for key in keys))
        for _ in range(_ATTEMPTS):
            async with self.client.pipeline(transaction=False) as pipe:
                for key in entry_keys:
                    pipe.get(key)
                for key in bucket_keys:
                    pipe.hgetall(key)
                replies = await pipe.execute()
            known = {
                key: as_text(value)
                for key, value in zip(entry_keys, replies[: len(entry_keys)], strict=True)
                if value is not None
            }
            hashes = [decode_fields(h or {}) for h in replies[len(entry_keys) :]]
            stories = {k: _stories(h, k) for k, h in zip(bucket_keys, hashes, strict=True)}
            ids, opened = self._choose(items, slots, known, stories, at, channels)
            assigned = {
                self.keys.story_of(entry_id): story
                for (entry_id, _, _), story in zip(items, ids, strict=True)
            }
            fresh = [(key, story) for key, story in assigned.items() if key not in known]
            if not fresh:
                return ids
            # A new story goes to each of its home buckets; those not read are written without a
            # version check (their version still moves, so a reader of them retries).
            homes = [(key, story) for keys, story in opened for key in keys]
            written = bucket_keys + list(
                dict.fromkeys(key for key, _ in homes if key not in bucket_keys)
            )
            args: list[str | int] = [len(fresh), len(bucket_keys), STORY_TTL_SECONDS]
            args += [h.get(VERSION, "0") for h in hashes]
            args += [story for _, story in fresh]
            args.append(len(homes))
            for key, story in homes:
                args += [written.index(key) + 1, story.id, story.to_json()]
            keys = [key for key, _ in fresh] + written
            if int(await self._commit(keys=keys, args=args)) == 0:
                if opened_stories is not None:
                    opened_stories.extend(story for _, story in opened)
                return ids
            log.info("story_assign_retry", entries=len(items))
        raise StoreError(f"stories: could not assign {len(items)} stories (buckets kept changing)")

    async def join_many(
        self,
        items: Sequence[Item],
        at: datetime,
        hidden: Sequence[frozenset[str]] = (),
        versions: dict[str, str] | None = None,
    ) -> list[Joined]:
        """The stories follow-up sources join (``None``: none; a source never opens one) and the
        channels the story's alerts went to so far (its first report's at least): two reads.
        ``hidden[i]``: stories the i-th source may not join (opened later in its batch: the
        effects stay those of handling the entries one by one). A source decided before
        (``Keys.source_of``, written by :meth:`decide` before it is published) keeps that
        decision. ``versions`` receives the versions of the story buckets read (for
        :meth:`wait`)."""
        if not items:
            return []
        slots = [
            [self.keys.story_bucket(key) for key in slot_keys(source, at, self.window)]
            for _, source, _ in items
        ]
        bucket_keys = list(dict.fromkeys(key for keys in slots for key in keys))
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id, _, _ in items:
                pipe.get(self.keys.source_of(entry_id))
            for key in bucket_keys:
                pipe.hgetall(key)
            replies = await pipe.execute()
        hashes = [decode_fields(h or {}) for h in replies[len(items) :]]
        stories = {k: _stories(h, k) for k, h in zip(bucket_keys, hashes, strict=True)}
        if versions is not None:
            versions.update(
                (k, h.get(VERSION, "0")) for k, h in zip(bucket_keys, hashes, strict=True)
            )
        found: list[Joined | None] = []
        chosen: list[Story | None] = []
        for place, ((_, source, title), keys) in enumerate(zip(items, slots, strict=True)):
            known = replies[place]
            if known is not None:
                found.append(_decision(as_text(known)))
                chosen.append(None)
                continue
            unseen = hidden[place] if hidden else frozenset()
            candidates = [s for key in keys for s in stories[key] if s.id not in unseen]
            found.append(None)
            chosen.append(follow(source, title_words(title), candidates, at, self.window))
        async with self.client.pipeline(transaction=False) as pipe:
            for story in chosen:
                pipe.smembers(self.keys.story_channels(story.id if story else "-"))
            members = await pipe.execute()
        return [
            known
            if known is not None
            else (None, (), False)
            if story is None
            else (story.id, tuple(sorted({*story.channels, *map(as_text, channels)})), False)
            for known, story, channels in zip(found, chosen, members, strict=True)
        ]

    def decide(self, pipe: aioredis.Redis, entry_id: str, joined: Joined, source: Event) -> None:
        """Queue the record of a source's join (SET NX: its story and channels); it waits no
        more."""
        story, channels, _ = joined
        record = json.dumps({"story": story, "channels": list(channels)}, separators=(",", ":"))
        pipe.set(self.keys.source_of(entry_id), record, nx=True, ex=STORY_TTL_SECONDS)
        pipe.hdel(self._waiting_key(source, source.published or datetime.now(UTC)), entry_id)

    async def wait(
        self,
        pipe: aioredis.Redis,
        entry: Entry,
        source: Event,
        at: datetime,
        versions: Mapping[str, str] | None = None,
    ) -> int:
        """Queue a source that joined nothing: it waits for a story opened within the window
        (:meth:`waiting_for`); the number of commands queued. With ``versions`` (those
        :meth:`join_many` read), one script whose reply is 1 when a story was written to the
        source's buckets since: it did not wait, and must look again (:meth:`rejoin`)."""
        key = self._waiting_key(source, at)
        record = json.dumps({"entry": entry.to_dict(), "source": source.to_dict()},
                            ensure_ascii=False, separators=(",", ":"))  # fmt: skip
        ttl = int(3 * self.window.total_seconds())
        if versions is None:
            pipe.hset(key, entry.id, record)
            pipe.expire(key, ttl)
            return 2
        buckets = [self.keys.story_bucket(name) for name in slot_keys(source, at, self.window)]
        await self._wait(
            keys=[key, *buckets],
            args=[entry.id, record, ttl, *(versions.get(b, "0") for b in buckets)],
            client=pipe,
        )
        return 1

    async def rejoin(
        self, sources: Sequence[tuple[Entry, Event]], at: datetime
    ) -> list[tuple[Entry, Event, Joined]]:
        """Sources whose wait was refused (a story was opened in their buckets meanwhile, maybe
        by another engine that did not see them waiting): the stories they join now, to be
        recorded and published by the caller; the others wait, checked again the same way."""
        joins: list[tuple[Entry, Event, Joined]] = []
        pending = list(sources)
        for attempt in range(_ATTEMPTS):
            if not pending:
                break
            versions: dict[str, str] = {}
            items = [(entry.id, source, entry.title) for entry, source in pending]
            found = await self.join_many(items, at, versions=versions)
            waiting = [
                pair
                for pair, joined in zip(pending, found, strict=True)
                if joined[0] is None and not joined[2]
            ]
            joins += [
                (e, s, j) for (e, s), j in zip(pending, found, strict=True) if (e, s) not in waiting
            ]
            last = attempt == _ATTEMPTS - 1
            async with self.client.pipeline(transaction=False) as pipe:
                for entry, source in waiting:
                    await self.wait(pipe, entry, source, at, None if last else versions)
                replies = await pipe.execute()
            pending = (
                []
                if last
                else [pair for pair, reply in zip(waiting, replies, strict=True) if int(reply)]
            )
            if pending:
                log.info("source_wait_retry", sources=len(pending))
        return joins

    async def waiting_for(self, stories: Sequence[Story]) -> list[tuple[Story, list[Waiting]]]:
        """For each story just opened (in order), the waiting sources it takes (one read): each
        goes to the first story that it would have joined."""
        if not stories:
            return []
        keys = [
            [self.keys.waiting_sources(name) for name in _slot_names(story, self.window)]
            for story in stories
        ]
        wanted = list(dict.fromkeys(key for story_keys in keys for key in story_keys))
        async with self.client.pipeline(transaction=False) as pipe:
            for key in wanted:
                pipe.hgetall(key)
            replies = await pipe.execute()
        pool = {
            entry_id: waiting
            for reply, key in zip(replies, wanted, strict=True)
            for entry_id, raw in decode_fields(reply or {}).items()
            if (waiting := _waiting(raw, key)) is not None
        }
        taken: list[tuple[Story, list[Waiting]]] = []
        for story in stories:
            joined = [
                (entry, source)
                for entry, source in pool.values()
                if follow(source, title_words(entry.title), [story], story.start, self.window)
                is story
            ]
            for entry, _ in joined:
                del pool[entry.id]
            taken.append((story, sorted(joined, key=_arrival)))
        return taken

    def _waiting_key(self, source: Event, at: datetime) -> str:
        return self.keys.waiting_sources(slot_keys(source, at, self.window)[0])

    def _choose(
        self,
        items: Sequence[Item],
        slots: Sequence[Sequence[str]],
        known: Mapping[str, str],
        stories: dict[str, list[Story]],
        at: datetime,
        channels: Sequence[tuple[str, ...]] = (),
    ) -> tuple[list[str], list[tuple[list[str], Story]]]:
        """Each item's story id (known, joined or opened, in order) and the stories opened, each
        with the bucket keys it goes to."""
        ids: list[str] = []
        opened: list[tuple[list[str], Story]] = []
        chosen = dict(known)
        for place, ((entry_id, event, title), keys) in enumerate(zip(items, slots, strict=True)):
            entry_key = self.keys.story_of(entry_id)
            if entry_key not in chosen:
                words = title_words(title)
                candidates = [story for key in keys for story in stories[key]]
                story = choose(event, words, candidates, at, self.window)
                if story is None:
                    routed = channels[place] if place < len(channels) else ()
                    story = open_story(entry_id, event, words, at, routed)
                    homes = [self.keys.story_bucket(k) for k in home_keys(event, at, self.window)]
                    for key in homes:
                        stories.setdefault(key, []).append(story)
                    opened.append((homes, story))
                chosen[entry_key] = story.id
            ids.append(chosen[entry_key])
        return ids, opened


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


def _slot_names(story: Story, window: timedelta) -> tuple[str, str, str]:
    """The slots whose waiting sources a story can take (its own and the two beside it)."""
    name, middle = story.treaty or "-", slot(story.start, window)
    return (f"{name}@{middle}", f"{name}@{middle - 1}", f"{name}@{middle + 1}")


def _arrival(waiting: Waiting) -> tuple[float, str]:
    """The order waiting sources are published in (a hash's order is no order)."""
    entry = waiting[0]
    return (entry.published.timestamp(), entry.id)


def _waiting(raw: str, key: str) -> Waiting | None:
    """A waiting source's record; an unreadable one is logged and left out."""
    try:
        data = json.loads(raw)
        return Entry.from_dict(data["entry"]), Event.from_dict(data["source"])
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("waiting_source_invalid", key=key, error=str(exc))
        return None


def _decision(raw: str) -> Joined:
    """A recorded source decision (unreadable: joined nothing)."""
    try:
        data = json.loads(raw)
        return (data.get("story"), tuple(str(c) for c in data.get("channels", ())), True)
    except (ValueError, AttributeError, TypeError):
        return (None, (), True)

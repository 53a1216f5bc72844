"""Stream plumbing against a real Redis: trimming never drops unfinished work."""

from __future__ import annotations

from monitor.streams import ensure_group, messages_from_reply, safe_trim


async def _fill(client, stream: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(await client.xadd(stream, {"n": str(n)})) for n in range(count)]


async def test_a_stream_no_group_needs_is_trimmed_to_maxlen(redis_client, keys):
    """Without consumer groups only the newest maxlen entries stay."""
    ids = await _fill(redis_client, keys.entries, 30)
    assert await safe_trim(redis_client, keys.entries, 10) == 20
    assert [row[0] for row in await redis_client.xrange(keys.entries)] == ids[-10:]


async def test_trimming_stops_at_the_first_entry_a_group_has_not_been_given(redis_client, keys):
    """Entries a group has not read yet are kept whatever maxlen says."""
    await ensure_group(redis_client, keys.entries, "g", "0")
    ids = await _fill(redis_client, keys.entries, 30)
    reply = await redis_client.xreadgroup("g", "c", {keys.entries: ">"}, count=5)
    await redis_client.xack(keys.entries, "g", *(m.id for m in messages_from_reply(reply)))
    assert await safe_trim(redis_client, keys.entries, 10) == 5
    assert (await redis_client.xrange(keys.entries, count=1))[0][0] == ids[5]


async def test_trimming_keeps_entries_still_pending(redis_client, keys):
    """An entry read but not acknowledged is never trimmed away."""
    await ensure_group(redis_client, keys.entries, "g", "0")
    ids = await _fill(redis_client, keys.entries, 30)
    reply = await redis_client.xreadgroup("g", "c", {keys.entries: ">"}, count=30)
    messages = messages_from_reply(reply)
    await redis_client.xack(keys.entries, "g", *(m.id for m in messages if m.id != ids[3]))
    assert await safe_trim(redis_client, keys.entries, 10) == 3
    assert (await redis_client.xrange(keys.entries, count=1))[0][0] == ids[3]


async def test_one_trim_call_removes_at_most_one_step(redis_client, keys):
    """A large surplus is trimmed over several calls, each reading a bounded number."""
    await _fill(redis_client, keys.entries, 50)
    assert await safe_trim(redis_client, keys.entries, 10, step=15) == 15
    assert await redis_client.xlen(keys.entries) == 35

"""Alert history: stories folded from every copy and outlet, filtered, paged, pruned, recorded."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.events.model import Event
from monitor.history.record import Cursor, StoryRecord, fold, may_contain, wanted
from monitor.history.recorder import HistoryRecorder
from monitor.history.store import HistoryStore
from monitor.rules.match import Severity
from monitor.streams import Keys
from tests.delivery_helpers import make_alert, publish

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
NEW_START = Event(treaty="new-start", actors=("ru",), development="suspension")


def _report(
    feed: str = "tass",
    channel: str = "treaties",
    *,
    story: str = "s-new-start",
    entry_id: str | None = None,
    severity: Severity = Severity.HIGH,
    title: str = "Russia suspends New START",
    published: datetime = NOW,
    **kwargs: object,
) -> Alert:
    alert = make_alert(title, entry_id=entry_id or f"{feed}:{story}", feed=feed, channel=channel,
                       severity=severity, tags=("suspension",))  # fmt: skip
    entry = replace(alert.entry, published=published)
    return replace(alert, entry=entry, story=story, event=NEW_START, **kwargs)  # type: ignore[arg-type]


def test_copies_and_outlets_fold_into_one_story_record() -> None:
    """Channels and tags are merged, the highest severity kept, each outlet counted once."""
    record = fold(None, _report(), NOW)
    record = fold(record, _report(channel="urgent", severity=Severity.CRITICAL), NOW)
    record = fold(record, _report("reuters", title="Moscow halts arms pact"), NOW)
    record = fold(record, _report("reuters", channel="urgent"), NOW)
    assert record.channels == ("treaties", "urgent")
    assert record.severity is Severity.CRITICAL
    assert [s.feed for s in record.sources] == ["tass", "reuters"]
    assert record.labels()["treaty"] == ("new-start",)
    assert record.labels()["actor"] == ("ru",)


def test_a_due_date_from_a_later_copy_is_kept() -> None:
    """The story shows the due date even when the first copy had none."""
    record = fold(None, _report(), NOW)
    record = fold(record, _report(channel="urgent", deadline=date(2027, 2, 5)), NOW)
    assert record.first.deadline == date(2027, 2, 5)


@pytest.mark.parametrize(
    ("filters", "text", "expected"),
    [
        ({}, "", True),
        ({"treaty": "new-start"}, "", True),
        ({"treaty": "inf"}, "", False),
        ({"tag": "suspension", "channel": "treaties"}, "", True),
        ({"channel": "urgent"}, "", False),
        ({}, "NEW start", True),  # any case
        ({}, "withdraws", False),
        ({"feed": "tass"}, "russia", True),
    ],
)
def test_filters_and_search_select_stories(
    filters: dict[str, str], text: str, expected: bool
) -> None:
    """Every filter must hold and the text must appear in a title or the summary."""
    assert wanted(fold(None, _report(), NOW), filters, text) is expected


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        ("Russia suspends New START", "new start", True),
        ("Russia suspends New START", "withdraws", False),  # no parse needed to say no
        ("Россия приостановила СНВ-III", "снв", True),  # verbatim, not \\u-escaped
        ("Die Straße nach Genf", "STRASSE", True),  # ß folds to ss in the JSON too
        ('He said "no deal"', 'said "no', True),  # an escaped character: parse to be sure
        ("first line\nsecond", "line second", False),  # \\n escaped, yet no text spans it
    ],
)
def test_a_search_skips_only_records_whose_json_cannot_hold_the_text(
    title: str, text: str, expected: bool
) -> None:
    """The unparsed check says no only where the parsed search would say no too."""
    record = fold(None, _report(title=title), NOW)
    assert may_contain(record.to_json(), text) is expected
    assert wanted(record, {}, text) is expected


def test_a_record_with_unicode_escapes_is_always_parsed_to_search() -> None:
    """A record written with ``\\u`` escapes (not verbatim) is never skipped unparsed."""
    record = fold(None, _report(title="Россия"), NOW)
    escaped = json.dumps(record.to_dict())  # ensure_ascii: "\\u0420..."
    assert may_contain(escaped, "россия")
    assert wanted(StoryRecord.from_json(escaped), {}, "россия")


def test_a_cursor_round_trips_and_rejects_garbage() -> None:
    """The ``next`` cursor is opaque text that decodes to where a page ended."""
    cursor = Cursor(1733313600.5, "s:1")
    assert Cursor.decode(cursor.encode()) == cursor
    with pytest.raises(ValueError, match="cursor"):
        Cursor.decode("nonsense")


async def test_the_store_pages_newest_first_with_filters_and_no_repeats(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Pages of two cover every matching story once, newest first, whatever the ties."""
    store = HistoryStore(redis_client, keys)
    for n in range(7):
        published = NOW - timedelta(hours=n // 2)  # pairs share a publication time
        tag_channel = "urgent" if n % 3 == 0 else "treaties"
        await store.add(_report(story=f"s{n}", channel=tag_channel, published=published), NOW)
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = await store.page({}, cursor=cursor, limit=2)
        seen += [r.story for r in page.items]
        if page.next is None:
            break
        cursor = page.next
    assert sorted(seen) == [f"s{n}" for n in range(7)]
    assert len(seen) == 7
    whens = [(await store.get(s)).when for s in seen]  # type: ignore[union-attr]
    assert whens == sorted(whens, reverse=True)
    urgent = await store.page({"channel": "urgent"}, limit=50)
    assert sorted(r.story for r in urgent.items) == ["s0", "s3", "s6"]
    assert (await store.page({"treaty": "inf"})).items == ()
    with pytest.raises(ValueError, match="unknown filter"):
        await store.page({"colour": "red"})


async def test_a_search_reads_a_bounded_number_of_stories_per_page(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """With a scan limit, a page that found nothing says where to continue."""
    store = HistoryStore(redis_client, keys)
    for n in range(5):
        await store.add(_report(story=f"s{n}", published=NOW - timedelta(minutes=n)), NOW)
    page = await store.page({}, "no such words", scan_limit=3)
    assert page.items == ()
    assert page.scanned == 3
    assert page.next is not None
    rest = await store.page({}, "no such words", cursor=page.next, scan_limit=3)
    assert rest.scanned == 2
    assert rest.next is None


async def test_due_dates_pass_their_filter_beyond_the_first_limit_in_the_window(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A filtered due-date query reads on past non-matching dates; latest first on request."""
    store = HistoryStore(redis_client, keys)
    inf = Event(treaty="inf", actors=("us",), development="withdrawal")
    for n in range(5):
        alert = _report(story=f"d{n}", deadline=date(2027, 1, 1 + n))
        if n >= 3:  # the soonest three are not INF
            alert = replace(alert, event=inf)
        await store.add(alert, NOW)
    window = (date(2027, 1, 1), date(2027, 1, 31))
    assert [r.story for r in await store.due(*window, {"treaty": "inf"}, limit=2)] == ["d3", "d4"]
    assert [r.story for r in await store.due(*window, {}, limit=2)] == ["d0", "d1"]
    latest = await store.due(*window, {}, limit=2, latest_first=True)
    assert [r.story for r in latest] == ["d4", "d3"]


async def test_the_newest_story_of_each_value_is_read_in_one_go(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Each treaty gets its newest story; a treaty with none is left out."""
    store = HistoryStore(redis_client, keys)
    inf = Event(treaty="inf", actors=("us",), development="withdrawal")
    await store.add(_report(story="ns-old", published=NOW - timedelta(days=2)), NOW)
    await store.add(_report(story="ns-new", published=NOW), NOW)
    await store.add(replace(_report(story="inf-1"), event=inf), NOW)
    newest = await store.latest("treaty", ["new-start", "inf", "ctbt"])
    assert {t: r.story for t, r in newest.items()} == {"new-start": "ns-new", "inf": "inf-1"}
    assert await store.latest("treaty", []) == {}


async def test_two_recorders_folding_one_story_at_once_lose_nothing(
    redis_url: str, keys: Keys
) -> None:
    """The record is WATCHed: concurrent copies from two channels both end up in it."""
    clients = [aioredis.Redis.from_url(redis_url, decode_responses=True) for _ in range(2)]
    try:
        stores = [HistoryStore(c, keys) for c in clients]
        copies = [_report(channel=f"ch{n}", feed=f"feed{n}") for n in range(20)]
        await asyncio.gather(*(stores[n % 2].add(a, NOW) for n, a in enumerate(copies)))
        record = await stores[0].get("s-new-start")
        assert record is not None
        assert sorted(record.channels) == sorted(f"ch{n}" for n in range(20))
        assert len(record.sources) == 20
    finally:
        for client in clients:
            await client.aclose()


async def test_pruning_drops_old_stories_and_their_index_entries(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Retention counts from when a story was recorded, and leaves no index behind."""
    store = HistoryStore(redis_client, keys)
    await store.add(_report(story="old"), NOW - timedelta(days=100))
    await store.add(_report(story="new", published=datetime(2019, 2, 1, tzinfo=UTC)), NOW)
    assert await store.prune(NOW, timedelta(days=90)) == 1
    assert await store.get("old") is None
    assert await store.get("new") is not None  # a backfill recorded today stays
    assert await redis_client.zscore(keys.history_index("tag", "suspension"), "old") is None
    assert await redis_client.zscore(keys.history_index("tag", "suspension"), "new") is not None


async def test_the_recorder_reads_every_channel_stream_into_stories(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Alerts published on two channels become one story, and their messages are acknowledged."""
    for alert in (_report(), _report(channel="urgent"), _report("reuters")):
        await publish(redis_client, keys, alert)
        await redis_client.sadd(keys.channels, alert.channel)
    recorder = HistoryRecorder(redis_client, keys, consumer="c1", retention=timedelta(days=90))
    assert await recorder.step() == 3
    record = await recorder.store.get("s-new-start")
    assert record is not None
    assert sorted(record.channels) == ["treaties", "urgent"]
    assert sorted(s.feed for s in record.sources) == ["reuters", "tass"]
    pending = await redis_client.xpending(keys.alerts("treaties"), "history")
    assert pending["pending"] == 0

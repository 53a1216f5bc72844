"""Channels as Atom and JSON Feed, due dates as iCalendar, read back by feedparser and icalendar."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import feedparser
import icalendar
import pytest
import redis.asyncio as aioredis

from monitor.desk import outlets
from monitor.streams import Keys
from tests.desk_helpers import record, running_desk, story_alert

SOON = datetime.now(UTC).date() + timedelta(days=30)
PASSED = datetime.now(UTC).date() - timedelta(days=60)


async def _fetch(url: str) -> tuple[int, str, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.read()


async def _scene(client: aioredis.Redis, keys: Keys) -> None:
    evil = 'Treaty <script>alert(1)</script> & "quotes"'
    await record(
        client, keys,
        story_alert("Russia suspends New START", story="ns", channel="treaties"),
        story_alert("Moscow halts New START", story="ns", channel="urgent", feed="reuters"),
        replace(story_alert(evil, story="evil", treaty="inf", link="javascript:alert(1)",
                            channel="treaties"), deadline=SOON),
        replace(story_alert("US quits Open Skies", story="os", treaty="open-skies",
                            channel="other", tags=("withdrawal",)), deadline=PASSED),
    )  # fmt: skip


async def test_a_channel_is_a_valid_atom_feed_with_one_entry_per_story(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """feedparser reads it cleanly; titles are text, a javascript: link is left out."""
    await _scene(redis_client, keys)
    async with running_desk(redis_client, keys) as base:
        status, kind, body = await _fetch(f"{base}/feeds/treaties.atom")
        missing, _, _ = await _fetch(f"{base}/feeds/..%2Fetc.atom")
    assert status == 200
    assert kind.startswith("application/atom+xml")
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    titles = [e.title for e in parsed.entries]
    assert len(titles) == 2
    assert any("Russia · New START · suspension" in t for t in titles)
    evil = next(e for e in parsed.entries if "script" in e.title)
    assert evil.title_detail.type == "text/plain"
    assert "<script>" in evil.title  # the raw text, as text: never markup
    assert "link" not in evil or not evil.link.startswith("javascript")
    assert f"Due: {SOON.isoformat()}" in evil.summary
    assert missing == 404


async def test_a_channel_is_a_json_feed_1_1(redis_client: aioredis.Redis, keys: Keys) -> None:
    """The JSON Feed names its version, one item per story, text content only."""
    await _scene(redis_client, keys)
    async with running_desk(redis_client, keys) as base:
        status, kind, body = await _fetch(f"{base}/feeds/urgent.json")
    feed = json.loads(body)
    assert status == 200
    assert kind.startswith("application/feed+json")
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    (item,) = feed["items"]
    assert item["id"] == "urn:treaty-monitor:story:ns"
    assert "content_html" not in item


async def test_the_calendar_has_one_event_per_due_date_with_reminders(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """icalendar parses it; each due date is an all-day event with two alarms; filters apply."""
    await _scene(redis_client, keys)
    async with running_desk(redis_client, keys) as base:
        status, kind, body = await _fetch(f"{base}/calendar.ics")
        _, _, inf_only = await _fetch(f"{base}/calendar.ics?treaty=inf")
        _, _, channel_only = await _fetch(f"{base}/calendar.ics?channel=other")
    assert status == 200
    assert kind.startswith("text/calendar")
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert sorted(e.decoded("dtstart") for e in events) == [PASSED, SOON]
    soon = next(e for e in events if e.decoded("dtstart") == SOON)
    assert soon.decoded("dtend") == SOON + timedelta(days=1)
    assert str(soon["uid"]) == "due-evil@treaty-monitor"
    triggers = sorted(a.decoded("trigger") for a in soon.walk("VALARM"))
    assert triggers == [timedelta(days=-7), timedelta(days=-1)]
    assert "url" not in soon  # the javascript: link is no link
    assert [str(e["uid"]) for e in icalendar.Calendar.from_ical(inf_only).walk("VEVENT")] == [
        "due-evil@treaty-monitor"
    ]
    assert [str(e["uid"]) for e in icalendar.Calendar.from_ical(channel_only).walk("VEVENT")] == [
        "due-os@treaty-monitor"
    ]


async def test_a_full_calendar_keeps_upcoming_dates_and_drops_the_oldest_passed_ones(
    redis_client: aioredis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its size, the calendar leaves out the oldest passed due dates, never upcoming ones."""
    await _scene(redis_client, keys)
    older = PASSED - timedelta(days=30)
    await record(redis_client, keys, replace(
        story_alert("INF talks end", story="older", treaty="inf"), deadline=older
    ))  # fmt: skip
    monkeypatch.setattr(outlets, "CALENDAR_SIZE", 2)
    async with running_desk(redis_client, keys) as base:
        _, _, body = await _fetch(f"{base}/calendar.ics")
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert sorted(e.decoded("dtstart") for e in events) == [PASSED, SOON]


async def test_the_calendar_answers_not_modified_until_the_history_changes(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A calendar app's conditional GET is answered 304 until a story is recorded; then 200."""
    await _scene(redis_client, keys)
    async with running_desk(redis_client, keys) as base, aiohttp.ClientSession() as http:
        async with http.get(f"{base}/calendar.ics") as first:
            etag = first.headers["ETag"]
        async with http.get(f"{base}/calendar.ics", headers={"If-None-Match": etag}) as again:
            assert again.status == 304
        async with http.get(f"{base}/calendar.ics?treaty=inf",
                            headers={"If-None-Match": etag}) as other:  # fmt: skip
            assert other.status == 200  # another query is another calendar
        later = SOON + timedelta(days=3)
        await record(redis_client, keys, replace(
            story_alert("INF talks set", story="later", treaty="inf"), deadline=later
        ))  # fmt: skip
        async with http.get(f"{base}/calendar.ics", headers={"If-None-Match": etag}) as changed:
            assert changed.status == 200
            body = await changed.read()
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert sorted(e.decoded("dtstart") for e in events) == [PASSED, SOON, later]

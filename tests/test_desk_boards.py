"""The desk's boards and acknowledgements: treaties, deadlines, feeds, rules, handled stories."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aiohttp
import redis.asyncio as aioredis

from monitor.streams import Keys
from tests.desk_helpers import TOKEN, record, running_desk, story_alert

BEARER = {"Authorization": f"Bearer {TOKEN}"}
TODAY = datetime.now(UTC).date()


async def _page(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        assert response.status == 200, url
        return await response.text()


async def test_the_treaty_board_shows_each_treatys_latest_development_and_next_due_date(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """One row per treaty: the newest story, its actors, the nearest due date to come."""
    older = datetime(2023, 2, 1, tzinfo=UTC)
    await record(
        redis_client, keys,
        story_alert("Russia suspends New START", story="ns1", published=older),
        replace(story_alert("US answers on New START", story="ns2", actors=("us",),
                            tags=("talks",)), deadline=TODAY + timedelta(days=40)),
        replace(story_alert("New START deadline later", story="ns3",
                            published=older - timedelta(days=1)),
                deadline=TODAY + timedelta(days=90)),
        story_alert("US quits INF", story="inf", treaty="inf", tags=("withdrawal",),
                    actors=("us",), published=datetime(2019, 2, 1, tzinfo=UTC)),
    )  # fmt: skip
    async with running_desk(redis_client, keys) as base:
        html = await _page(base + "/treaties")
    assert html.index('data-treaty="new-start"') < html.index('data-treaty="inf"')
    row = html[html.index('data-treaty="new-start"') : html.index('data-treaty="inf"')]
    assert "US answers on New START" in row  # the latest development
    assert "United States" in row
    assert (TODAY + timedelta(days=40)).isoformat() in row  # the nearest due date
    assert "in 40 days" in row


async def test_deadlines_lists_upcoming_and_passed_due_dates_with_countdowns(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Upcoming soonest first; passed ones (90 days back) newest first."""
    await record(
        redis_client, keys,
        replace(story_alert("Ultimatum ends", story="a"), deadline=TODAY + timedelta(days=3)),
        replace(story_alert("Exit takes effect", story="b"), deadline=TODAY + timedelta(days=1)),
        replace(story_alert("Expired pact", story="c"), deadline=TODAY - timedelta(days=5)),
        replace(story_alert("Ancient", story="d"), deadline=TODAY - timedelta(days=400)),
    )  # fmt: skip
    async with running_desk(redis_client, keys) as base:
        html = await _page(base + "/deadlines")
    upcoming, passed = html.split("<h2>Passed")
    assert upcoming.index("Exit takes effect") < upcoming.index("Ultimatum ends")
    assert "in 1 day<" in upcoming
    assert "5 days ago" in passed
    assert "Ancient" not in html


async def test_feeds_and_rules_pages_show_what_the_daemon_recorded(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Feed health from the fetchers' records; rules with their stories of the last week."""
    await redis_client.sadd(keys.feeds, "tass")
    await redis_client.hset(keys.feed_state("tass"), mapping={
        "last_status": "error", "errors": "3", "last_error": "timeout <b>x</b>",
    })  # fmt: skip
    rules = [{"id": "inf-talks", "title": "INF talks", "severity": "high",
              "channels": ["treaties"], "tags": ["talks"], "enabled": True,
              "file": "/x/rules/talks.yaml", "line": 4}]  # fmt: skip
    await redis_client.hset(keys.rules_status, mapping={
        "version": "abc123", "loaded_at": "1733313600", "error": "", "list": json.dumps(rules),
    })  # fmt: skip
    await record(redis_client, keys, replace(
        story_alert("Talks", story="t", published=datetime.now(UTC) - timedelta(days=1))
    ))  # fmt: skip
    async with running_desk(redis_client, keys) as base:
        feeds = await _page(base + "/feeds")
        rules_html = await _page(base + "/rules")
    assert 'class="failing"' in feeds
    assert "timeout &lt;b&gt;x&lt;/b&gt;" in feeds
    assert "abc123" in rules_html
    row = rules_html[rules_html.index('data-rule="inf-talks"') :]
    assert "<td>1</td>" in row  # one story of that rule in the last 7 days
    assert "talks.yaml:4" in row


async def test_an_acknowledged_story_says_who_handled_it_on_the_page_and_in_the_api(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """POST an acknowledgement with the token; the timeline and the API show it."""
    await record(redis_client, keys, story_alert("Russia suspends New START", story="ns"))
    async with running_desk(redis_client, keys) as base, aiohttp.ClientSession() as http:
        body = {"by": "ana", "note": "briefed the minister"}
        async with http.post(f"{base}/api/v1/stories/ns/ack", json=body) as refused:
            assert refused.status == 403
        async with http.post(f"{base}/api/v1/stories/ns/ack", json=body, headers=BEARER) as r:
            assert r.status == 201
        async with http.post(f"{base}/api/v1/stories/none/ack", json=body,
                             headers=BEARER) as missing:  # fmt: skip
            assert missing.status == 404
        async with http.post(f"{base}/api/v1/stories/ns/ack", json={"by": " "},
                             headers=BEARER) as nameless:  # fmt: skip
            assert nameless.status == 400
        async with http.get(f"{base}/api/v1/stories/ns") as r:
            story = await r.json()
        html = await _page(base + "/")
    assert story["ack"]["by"] == "ana"
    assert "handled by ana at" in html
    assert "briefed the minister" in html


async def _json(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.json()


async def test_the_api_serves_events_treaties_deadlines_and_feeds_as_lists(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Each list answers {"items", "next"}; events carry the event line and the due date."""
    soon = TODAY + timedelta(days=10)
    await record(
        redis_client, keys,
        replace(story_alert("Russia suspends New START", story="ns"), deadline=soon),
        story_alert("US quits INF", story="inf", treaty="inf", tags=("withdrawal",),
                    actors=("us",), published=datetime(2019, 2, 1, tzinfo=UTC)),
    )  # fmt: skip
    await redis_client.sadd(keys.feeds, "tass")
    await redis_client.hset(keys.feed_state("tass"), mapping={"last_status": "ok"})
    async with running_desk(redis_client, keys) as base:
        _, events = await _json(f"{base}/api/v1/events?tag=suspension")
        _, one = await _json(f"{base}/api/v1/events/inf")
        _, board = await _json(f"{base}/api/v1/treaties")
        _, inf = await _json(f"{base}/api/v1/treaties/inf")
        _, due = await _json(f"{base}/api/v1/deadlines")
        bad, _ = await _json(f"{base}/api/v1/deadlines?from=yesterday")
        _, feeds = await _json(f"{base}/api/v1/feeds")
    (event,) = events["items"]  # type: ignore[misc]
    assert event["line"] == "Russia · New START · suspension"
    assert event["due"] == soon.isoformat()
    assert events["next"] is None
    assert one["line"] == "United States · INF Treaty · withdrawal"
    assert [t["id"] for t in board["items"]] == ["new-start", "inf"]  # type: ignore[union-attr]
    assert board["items"][0]["next_due"]["due"] == soon.isoformat()  # type: ignore[index]
    assert [e["story"] for e in inf["items"]] == ["inf"]  # type: ignore[union-attr]
    assert [(d["story"], d["passed"]) for d in due["items"]] == [("ns", False)]  # type: ignore[union-attr]
    assert bad == 400
    assert feeds["items"] == [{"name": "tass", "last_status": "ok", "last_success": None,
                               "errors": 0, "last_error": ""}]  # fmt: skip

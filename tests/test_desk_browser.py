"""The desk in a real browser: headless Chromium (Debian's package) driven by Playwright.

Never skipped: CI installs Chromium (.ci/run). Screenshots go to $DESK_SCREENSHOTS when set
(docs/ keeps the committed ones), else to the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import icalendar
import pytest
import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, async_playwright, expect

from monitor.alerts.notifier import Notifier
from monitor.alerts.sinks.recording import RecordingSink
from monitor.config import DeliverySettings, SubscriptionSettings
from monitor.history.recorder import HistoryRecorder
from monitor.silences.store import REFRESH_SECONDS
from monitor.streams import Keys
from tests.delivery_helpers import publish
from tests.desk_helpers import TOKEN, running_desk, story_alert

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _chromium() -> str:
    """The system browser's path; a missing browser fails the test (CI installs it)."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install -y chromium)"
    return CHROMIUM


FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    executable = _chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield launched
        finally:
            await launched.close()


def _shots(tmp_path: Path) -> Path:
    return Path(os.environ.get("DESK_SCREENSHOTS", str(tmp_path)))


async def _publish(client: aioredis.Redis, keys: Keys, *alerts: object) -> None:
    for alert in alerts:
        await publish(client, keys, alert)  # type: ignore[arg-type]
        await client.sadd(keys.channels, alert.channel)  # type: ignore[attr-defined]


async def _shot(page: Page, folder: Path, name: str) -> None:
    await page.screenshot(path=str(folder / name), full_page=True)


@pytest.mark.timeout(120)
async def test_an_analyst_watches_filters_and_silences_stories_in_the_browser(
    browser: Browser, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path
) -> None:
    """A story arrives live, the tag filter narrows, a silenced story's next report is held."""
    stop = asyncio.Event()
    recorder = HistoryRecorder(redis_client, keys, consumer="desk", retention=timedelta(days=90))
    sink = RecordingSink("rec")
    sub = SubscriptionSettings(name="desk", channels=("treaties",), sink="rec")
    notifier = Notifier(sub, sink, redis_client, keys, DeliverySettings(group_window=0),
                        consumer="n1")  # fmt: skip
    inf = story_alert("INF: Washington gives Moscow 60 days", story="inf", treaty="inf",
                      tags=("deadline",), actors=("us",))  # fmt: skip
    due = datetime.now(UTC).date() + timedelta(days=60)
    await _publish(redis_client, keys, replace(inf, deadline=due))
    tasks = [asyncio.create_task(recorder.run(stop)), asyncio.create_task(notifier.run(stop))]
    folder = _shots(tmp_path)
    try:
        async with running_desk(redis_client, keys) as base:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(base + "/")
            await expect(page.locator("article.story")).to_have_count(1, timeout=10_000)

            # A story recorded while the page is open appears at the top, without a reload.
            await _publish(redis_client, keys, story_alert(
                "Russia suspends New START participation", story="ns",
                summary="Putin said Russia suspends its participation in New START.",
            ))  # fmt: skip
            first = page.locator("article.story").first
            await expect(first).to_contain_text("New START participation", timeout=10_000)
            await expect(first).to_contain_text("Russia · New START · suspension")
            await _shot(page, folder, "desk-timeline.png")

            # The tag filter narrows the timeline to deadline stories.
            await page.fill("input[name=tag]", "deadline")
            await page.click("form.filters button")
            await expect(page.locator("article.story")).to_have_count(1)
            await expect(page.locator("article.story")).to_contain_text("60 days")

            # Logged in with the token, the analyst silences the New START story.
            await page.goto(base + "/login?next=/")
            await page.fill("input[name=token]", TOKEN)
            await page.click("form button")
            await page.wait_for_url(base + "/")
            story = page.locator('article[data-story="ns"]')
            await story.locator("button.silence-story").click()
            await expect(page.locator("table.silences")).to_contain_text("story=ns")
            await _shot(page, folder, "desk-silences.png")

            # The next report of that story is held back; another story is still delivered.
            # Notifiers re-read silences every REFRESH_SECONDS: that is the promised pick-up time.
            await asyncio.sleep(REFRESH_SECONDS + 0.5)
            await _publish(
                redis_client, keys,
                story_alert("Moscow halts New START", story="ns", feed="reuters"),
                story_alert("CTBT: Duma votes to revoke ratification", story="ctbt",
                            treaty="ctbt", tags=("ratification",)),
            )  # fmt: skip
            for _ in range(500):
                if any(a.story == "ctbt" for a in sink.alerts) and await redis_client.xlen(
                    keys.silenced
                ):
                    break
                await asyncio.sleep(0.02)
            delivered = [a.story for a in sink.alerts]
            assert "ctbt" in delivered
            assert delivered.count("ns") == 1  # the first report, before the silence
            await page.goto(base + "/")
            await expect(page.locator('article[data-story="ns"]')).to_contain_text("+1 source")

            # The analyst marks the INF story as handled.
            inf_row = page.locator('article[data-story="inf"]')
            await inf_row.locator("input[name=by]").fill("ana")
            await inf_row.locator("input[name=note]").fill("briefed the desk")
            await inf_row.locator("button.ack-story").click()
            await expect(page.locator('article[data-story="inf"] .ack')).to_contain_text(
                "handled by ana"
            )
            await _shot(page, folder, "desk-timeline-handled.png")

            # Every page renders; the boards show the stories recorded.
            for path, name, text in (
                ("/treaties", "desk-treaties.png", "New START"),
                ("/deadlines", "desk-deadlines.png", "in 60 days"),
                ("/feeds", "desk-feeds.png", "Feeds"),
                ("/rules", "desk-rules.png", "Rules"),
                ("/subscriptions", "desk-subscriptions.png", "Subscriptions"),
            ):
                await page.goto(base + path)
                await expect(page.locator("main")).to_contain_text(text)
                await _shot(page, folder, name)
            await page.goto(base + "/")

            # The calendar downloads and the channel's Atom feed opens; both parse.
            async with page.expect_download() as download_info:
                await page.click("a.calendar")
            saved = Path(await (await download_info.value).path())
            ics = await asyncio.to_thread(saved.read_bytes)
            events = icalendar.Calendar.from_ical(ics).walk("VEVENT")
            assert [str(e["summary"]) for e in events] == [
                "Due: United States · INF Treaty · deadline: INF: Washington gives Moscow 60 days"
            ]
            atom = await page.request.get(base + "/feeds/treaties.atom")
            parsed = feedparser.parse(await atom.body())
            assert parsed.version == "atom10"
            assert not parsed.bozo
            assert len(parsed.entries) == 3
            await page.close()  # ends its live stream, so the server can stop
    finally:
        stop.set()
        await asyncio.gather(*tasks)

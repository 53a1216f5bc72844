"""Two reports of Russia's Open Skies withdrawal notice, for the follow-up source tests: the
wire's notice, and a quiet outlet's reaction that alerts on no rule."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.feeds.entry import Entry

PUBLISHED = datetime(2020, 5, 22, 12, tzinfo=UTC)
NOTICE = ("reuters", "Russia formally notifies withdrawal from Open Skies Treaty",
          "Moscow delivered its formal notice of withdrawal to the depositaries on Friday; the "
          "withdrawal takes effect in six months, on 18 December 2021.")  # fmt: skip
REACTION = ("ap", "Allies scramble after Russia's Open Skies move",
            "European capitals regretted Moscow's step on the Open Skies Treaty.")  # fmt: skip


def report(
    feed: str, title: str, summary: str = "", at: datetime = PUBLISHED, guid: str = "1"
) -> Entry:
    """An English report of ``feed`` published (and fetched) at ``at``."""
    return Entry(
        id=f"{feed}:{guid}", feed=feed, feed_url=f"https://{feed}.example/feed", guid=guid,
        title=title, link=f"https://{feed}.example/{guid}", summary=summary, published=at,
        fetched_at=at, language="en",
    )  # fmt: skip

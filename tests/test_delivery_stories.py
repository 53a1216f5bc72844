"""One message per story per subscription, against a real Redis: merged channels, follow-ups."""

from __future__ import annotations

import asyncio
from datetime import date

import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.alerts.collect import StoryBook
from monitor.alerts.sinks.recording import RecordingSink
from monitor.connections import client_from_url
from monitor.rules.match import Severity
from monitor.streams import Keys
from tests.delivery_helpers import make_alert, publish
from tests.story_helpers import (
    DESK,
    STORY_DELIVERY,
    Clock,
    copy,
    drained,
    start,
    until,
)

DUE = date(2023, 3, 1)


async def _thread_outlets(client: aioredis.Redis, keys: Keys, n: int) -> bool:
    raw = await client.get(keys.thread("desk", "story-1"))
    return raw is not None and raw.count('"outlets":[') == 1 and _outlets(raw) == n


def _outlets(raw: str) -> int:
    from monitor.alerts.threads import Thread

    return len(Thread.from_json(raw).outlets)


async def test_a_story_on_two_channels_is_one_message_marked_with_the_higher_severity(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """treaties (medium, with the due date) then urgent (critical, none): one critical message
    carrying the due date and both copies' tags."""
    sink, clock = RecordingSink("rec"), Clock()
    running = start(redis_client, keys, sink, clock)
    await until(lambda: drained(redis_client, keys))
    await publish(redis_client, keys, copy("treaties", due=DUE, tags=("suspension", "deadline")))
    await until(lambda: drained(redis_client, keys))
    await publish(redis_client, keys, copy("urgent", severity=Severity.CRITICAL, tags=("urgent",)))
    await until(lambda: drained(redis_client, keys))
    assert sink.alerts == []  # held for the merge delay
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: len(sink.alerts) == 1)
    clock.advance(STORY_DELIVERY.followup_delay * 3)
    await asyncio.sleep(0.4)
    await running.stop()
    assert len(sink.alerts) == 1
    assert sink.followups == []
    message = sink.alerts[0]
    assert message.severity is Severity.CRITICAL
    assert message.channel == "urgent"
    assert message.deadline == DUE
    assert set(message.tags) == {"suspension", "deadline", "urgent"}
    assert message.story == "story-1"


async def test_later_outlets_become_one_followup_naming_them_never_a_new_alert(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """After the first message, three other outlets (one in Russian) give one "+3 sources"
    follow-up carrying the due date; a same-outlet copy on the other channel adds nothing."""
    sink, clock = RecordingSink("rec"), Clock()
    running = start(redis_client, keys, sink, clock)
    await until(lambda: drained(redis_client, keys))
    await publish(redis_client, keys, copy("treaties", due=DUE))
    await until(lambda: drained(redis_client, keys))
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: len(sink.alerts) == 1)
    for feed, title in [("reuters", "Moscow halts New START"), ("ap", "Russia pauses treaty"),
                        ("ria", "Россия приостанавливает СНВ-3")]:  # fmt: skip
        await publish(redis_client, keys, copy("treaties", feed=feed, entry_id=f"{feed}:1",
                                               title=title, due=DUE))  # fmt: skip
    await publish(redis_client, keys, copy("urgent"))  # tass again, same severity
    await until(lambda: drained(redis_client, keys))
    assert sink.followups == []  # the follow-up waits for followup_delay
    clock.advance(STORY_DELIVERY.followup_delay + 1)
    await until(lambda: len(sink.followups) == 1)
    clock.advance(STORY_DELIVERY.followup_delay * 3)
    await asyncio.sleep(0.4)
    await running.stop()
    assert len(sink.alerts) == 1
    [followup] = sink.followups
    assert followup.sources == ("reuters", "ap", "ria")
    assert followup.total_sources == 4
    assert followup.story == "story-1"
    assert followup.alert.deadline == DUE
    assert followup.id != sink.alerts[0].id


async def test_a_more_severe_copy_after_the_message_becomes_a_followup_not_an_alert(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The urgent copy read after the hold ended raises the story's severity by a follow-up."""
    sink, clock = RecordingSink("rec"), Clock()
    running = start(redis_client, keys, sink, clock)
    await until(lambda: drained(redis_client, keys))
    await publish(redis_client, keys, copy("treaties", due=DUE))
    await until(lambda: drained(redis_client, keys))
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: len(sink.alerts) == 1)
    await publish(redis_client, keys, copy("urgent", severity=Severity.CRITICAL))
    await until(lambda: drained(redis_client, keys))
    clock.advance(STORY_DELIVERY.followup_delay + 1)
    await until(lambda: len(sink.followups) == 1)
    await running.stop()
    assert len(sink.alerts) == 1
    assert sink.alerts[0].severity is Severity.MEDIUM
    assert sink.followups[0].alert.severity is Severity.CRITICAL
    assert sink.followups[0].sources == ()
    assert sink.followups[0].alert.deadline == DUE


async def test_alerts_without_a_story_id_are_delivered_as_before(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """An alert the engine gave no story goes out at once, outside any thread."""
    sink, clock = RecordingSink("rec"), Clock()
    running = start(redis_client, keys, sink, clock)
    await publish(redis_client, keys, copy("treaties", story=None))
    await until(lambda: len(sink.alerts) == 1)
    await running.stop()
    assert await redis_client.zcard(keys.threads_due("desk")) == 0


class _SharedSink(RecordingSink):
    """Records into lists shared by several notifiers' sinks, slowly."""

    def __init__(self, alerts: list[Alert], followups: list[object]) -> None:
        super().__init__("rec")
        self.alerts = alerts
        self.followups = followups  # type: ignore[assignment]

    async def send(self, alert: Alert) -> None:
        await asyncio.sleep(0.1)
        self.alerts.append(alert)


async def test_two_notifiers_racing_on_one_story_send_one_alert_then_followups(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Two notifiers of one subscription split the copies of a story between them and tick at
    the same moments: one alert in all, then follow-ups only."""
    alerts: list[Alert] = []
    followups: list[object] = []
    clock = Clock()
    delivery = STORY_DELIVERY.model_copy(update={"claim_idle": 0.05})
    runs = [start(redis_client, keys, _SharedSink(alerts, followups), clock, delivery=delivery,
                  consumer=name) for name in ("a", "b")]  # fmt: skip
    await until(lambda: drained(redis_client, keys))
    copies = [copy("treaties", due=DUE), copy("urgent", severity=Severity.HIGH)]
    copies += [copy(ch, feed=f, entry_id=f"{f}:1", due=DUE)
               for f in ("reuters", "ap", "ria") for ch in ("treaties", "urgent")]  # fmt: skip
    await asyncio.gather(*(publish(redis_client, keys, c) for c in copies))
    await until(lambda: drained(redis_client, keys))

    def advanced() -> bool:
        clock.advance(STORY_DELIVERY.followup_delay + STORY_DELIVERY.merge_delay)
        return len(alerts) == 1 and len(followups) == 1

    await until(advanced)
    for _ in range(10):
        advanced()
        await asyncio.sleep(0.05)
    for run in runs:
        await run.stop()
    assert len(alerts) == 1
    assert alerts[0].severity is Severity.HIGH
    assert len(followups) == 1


class _GateSink(RecordingSink):
    """Holds its first send until released, so another notifier acts meanwhile."""

    def __init__(self) -> None:
        super().__init__("rec")
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, alert: Alert) -> None:
        self.entered.set()
        await self.release.wait()
        self.alerts.append(alert)


async def test_two_notifiers_cannot_both_open_one_story_without_a_story_id(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Title grouping: while one notifier sends a story's first report, another reading a second
    outlet's report absorbs it (the story was opened before sending), so one alert goes out."""
    gate, other, clock = _GateSink(), RecordingSink("rec"), Clock()
    sub = DESK.model_copy(update={"channels": ("arms-control",)})
    first = start(redis_client, keys, gate, clock, sub=sub, consumer="a")
    await until(lambda: drained(redis_client, keys, sub))
    await publish(redis_client, keys, make_alert("US gives Russia 60 days on INF", entry_id="t1",
                                                 feed="tass"))  # fmt: skip
    await asyncio.wait_for(gate.entered.wait(), 10)
    second = start(redis_client, keys, other, clock, sub=sub, consumer="b")
    await publish(redis_client, keys, make_alert("U.S. gives Russia 60 days on INF",
                                                 entry_id="r1", feed="reuters"))  # fmt: skip
    stream = keys.alerts("arms-control")

    async def only_first_pending() -> bool:
        info = await redis_client.xpending(stream, "sub:desk")
        last = (await redis_client.xinfo_stream(stream))["last-generated-id"]
        groups = await redis_client.xinfo_groups(stream)
        return int(info["pending"]) == 1 and groups[0]["last-delivered-id"] == last

    await until(only_first_pending)
    gate.release.set()
    await until(lambda: drained(redis_client, keys, sub))
    await second.stop()
    await first.stop()
    assert [a.entry.id for a in gate.alerts + other.alerts] == ["t1"]


async def test_story_book_opens_a_story_once_when_two_clients_race(
    redis_url: str, keys: Keys
) -> None:
    """Two notifiers' story books deciding on two reports of one story at the same moment:
    exactly one opens it, the other absorbs (WATCH/MULTI retried on conflict)."""
    clients = [client_from_url(redis_url) for _ in range(2)]
    try:
        for round_ in range(20):
            books = [StoryBook(c, keys, f"desk{round_}", 600.0) for c in clients]
            reports = [
                make_alert("Russia suspends New START treaty", entry_id=f"a{round_}", feed="tass"),
                make_alert("Russia suspends New START treaty", entry_id=f"b{round_}", feed="ap"),
            ]
            absorbed = await asyncio.gather(
                *(book.absorb_or_open(r, 1000.0) for book, r in zip(books, reports, strict=True))
            )
            assert sorted(absorbed) == [False, True]
            [story] = await books[0].stories(1000.0)
            assert len(story.sources) == 1
    finally:
        for client in clients:
            await client.aclose()


async def test_a_dead_lettered_first_message_closes_the_thread_for_the_next_report(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A refused first message goes to the dead-letter stream with its subscription; the
    story's next report opens the thread again and is delivered as its first message."""
    from monitor.errors import PermanentDelivery

    sink, clock = RecordingSink("rec"), Clock()
    sink.fail_next(PermanentDelivery("webhook: HTTP 400"))
    running = start(redis_client, keys, sink, clock)
    await until(lambda: drained(redis_client, keys))
    await publish(redis_client, keys, copy("treaties", due=DUE))
    await until(lambda: drained(redis_client, keys))
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: redis_client.xlen(keys.dead_letters))  # type: ignore[arg-type]
    assert not await redis_client.exists(keys.thread("desk", "story-1"))
    await publish(redis_client, keys, copy("urgent", feed="ap", entry_id="ap:1"))
    await until(lambda: drained(redis_client, keys))
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: len(sink.alerts) == 1)
    await running.stop()
    [(_, fields)] = await redis_client.xrange(keys.dead_letters)
    assert fields["subscription"] == "desk"
    assert Alert.from_json(fields["alert"]).story == "story-1"
    assert sink.alerts[0].entry.feed == "ap"


async def test_a_silence_on_the_story_holds_back_its_followups_and_reminders(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A silence active when a follow-up or reminder falls due holds it back (and records it);
    the first message, sent before the silence began, went out."""
    from datetime import UTC, datetime, timedelta

    from monitor.alerts import reminders
    from monitor.silences.model import Matcher, new_silence
    from monitor.silences.store import SilenceStore

    clock = Clock()
    now = datetime.fromtimestamp(clock(), UTC)
    due = now.date() + timedelta(days=10)
    silence = new_silence(
        "s1", (Matcher("story", "=", "story-1"),), starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(days=30), created_by="desk", comment="known", now=now,
    )  # fmt: skip
    await SilenceStore(redis_client, keys).add(silence)
    sink = RecordingSink("rec")
    sub = DESK.model_copy(update={"reminders": ("7d",)})
    running = start(redis_client, keys, sink, clock, sub=sub)
    await until(lambda: drained(redis_client, keys))
    await publish(redis_client, keys, copy("treaties", due=due))
    await until(lambda: drained(redis_client, keys))
    clock.advance(STORY_DELIVERY.merge_delay + 1)
    await until(lambda: len(sink.alerts) == 1)
    await publish(redis_client, keys, copy("treaties", feed="ap", entry_id="ap:1", due=due))
    await until(lambda: drained(redis_client, keys))
    clock.advance(2 * 3600)
    await until(lambda: redis_client.exists(keys.reminders("desk")))  # type: ignore[arg-type]

    async def followup_settled() -> bool:
        raw = await redis_client.get(keys.thread("desk", "story-1"))
        return '"reported":2' in raw

    await until(followup_settled)
    clock.to(reminders.due_start(due) - 7 * 86400 + 60)
    claim = keys.reminded("desk", "story-1", "7d")
    await until(lambda: redis_client.exists(claim))  # type: ignore[arg-type]
    await asyncio.sleep(0.3)
    await running.stop()
    assert len(sink.alerts) == 1
    assert sink.followups == []
    assert await redis_client.get(claim) == "sent"


async def test_thread_copies_recorded_by_two_clients_at_once_are_all_counted(
    redis_url: str, keys: Keys
) -> None:
    """Two notifiers recording copies of one story at the same moment: one thread, every outlet
    counted once, both stream messages acknowledged (WATCH/MULTI retried on conflict)."""
    from monitor.alerts.threadbook import ThreadBook

    clients = [client_from_url(redis_url) for _ in range(2)]
    try:
        stream = keys.alerts("treaties")
        await clients[0].xgroup_create(stream, "sub:desk", id="0", mkstream=True)
        for round_ in range(20):
            books = [ThreadBook(c, keys, "desk", hold=5.0, followup_delay=60.0, keep=600.0)
                     for c in clients]  # fmt: skip
            story = f"race-{round_}"
            copies = [copy("treaties", feed=f, entry_id=f"{f}:{round_}", story=story)
                      for f in ("tass", "ap")]  # fmt: skip
            ids = [await clients[0].xadd(stream, {"n": "1"}) for _ in copies]
            await clients[0].xreadgroup("sub:desk", "c", {stream: ">"})
            await asyncio.gather(*(
                book.arrive(c, 1000.0, (stream, "sub:desk", i))
                for book, c, i in zip(books, copies, ids, strict=True)
            ))  # fmt: skip
            thread = await books[0].load(story)
            assert thread is not None
            assert sorted(thread.outlets) == ["ap", "tass"]
        assert (await clients[0].xpending(stream, "sub:desk"))["pending"] == 0
    finally:
        for client in clients:
            await client.aclose()

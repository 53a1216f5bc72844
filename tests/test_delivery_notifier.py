"""The notifier against a real Redis: acknowledgement, markers, retries, dead letters, claims."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from structlog.testing import capture_logs

from monitor.alerts.alert import Alert
from monitor.alerts.notifier import Notifier, build_notifiers
from monitor.alerts.render import Digest
from monitor.alerts.sinks.recording import RecordingSink
from monitor.config import DeliverySettings, Settings, SinkSettings, SubscriptionSettings
from monitor.errors import PermanentDelivery, RetryableDelivery
from monitor.metrics import DEAD_LETTERS, REGISTRY
from monitor.rules.match import Severity
from monitor.streams import Keys, subscription_group
from tests.delivery_helpers import free_port, make_alert, publish

FAST = DeliverySettings(
    max_attempts=3, backoff_base=0.01, backoff_max=0.05, claim_idle=0.2, group_window=0,
    followup_delay=0.2, shutdown_grace=0.3,
)  # fmt: skip


def _sub(**kwargs: object) -> SubscriptionSettings:
    values: dict[str, object] = {"name": "desk", "channels": ("arms-control",), "sink": "rec"}
    values.update(kwargs)
    return SubscriptionSettings(**values)  # type: ignore[arg-type]


class Running:
    """A notifier running in a task until :meth:`stop`."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier
        self.stop_event = asyncio.Event()
        self.task = asyncio.create_task(notifier.run(self.stop_event))

    async def stop(self) -> float:
        """Stop and return how long the notifier took to return."""
        started = time.monotonic()
        self.stop_event.set()
        await asyncio.wait_for(self.task, 10)
        return time.monotonic() - started


def _start(
    client: aioredis.Redis, keys: Keys, sink: object, *, sub: SubscriptionSettings | None = None,
    delivery: DeliverySettings = FAST, consumer: str = "c1",
) -> Running:  # fmt: skip
    notifier = Notifier(sub or _sub(), sink, client, keys, delivery, consumer=consumer)  # type: ignore[arg-type]
    return Running(notifier)


async def _until(check: Callable[[], bool | Awaitable[bool]], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def _pending(client: aioredis.Redis, keys: Keys, group: str = "sub:desk") -> int:
    info = await client.xpending(keys.alerts("arms-control"), group)
    return int(info["pending"])


async def _drained(client: aioredis.Redis, keys: Keys) -> bool:
    return await _pending(client, keys) == 0


async def test_alerts_are_delivered_marked_and_acknowledged(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Each alert reaches the sink once; its marker has a TTL; nothing stays pending; it beats."""
    sink = RecordingSink("rec")
    running = _start(redis_client, keys, sink)
    beats: list[float] = []
    running.notifier.beat = lambda: beats.append(time.monotonic())
    alerts = [make_alert(entry_id=f"e{i}") for i in range(3)]
    for alert in alerts:
        await publish(redis_client, keys, alert)
    await _until(lambda: len(sink.alerts) == 3)
    await running.stop()
    assert [a.id for a in sink.alerts] == [a.id for a in alerts]
    assert await _pending(redis_client, keys) == 0
    ttl = await redis_client.ttl(keys.delivered("desk", alerts[0].id))
    assert 6 * 86400 < ttl <= 7 * 86400
    assert sink.closed
    assert beats


async def test_subscription_filters_by_severity_tags_and_feeds(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Only alerts passing every filter are sent; the rest are acknowledged and skipped."""
    sink = RecordingSink("rec")
    sub = _sub(min_severity="high", tags=("inf",), feeds=("tass", "reuters"))
    running = _start(redis_client, keys, sink, sub=sub)
    wanted = make_alert(entry_id="ok", feed="tass")
    for alert in (
        make_alert(entry_id="low", feed="tass", severity=Severity.LOW),
        make_alert(entry_id="tag", feed="tass", tags=("start",)),
        make_alert(entry_id="feed", feed="blog"),
        wanted,
    ):
        await publish(redis_client, keys, alert)
    await _until(lambda: len(sink.alerts) == 1)
    await _until(lambda: _drained(redis_client, keys))
    await running.stop()
    assert sink.alerts[0].id == wanted.id
    assert sink.attempts == 1
    assert await _pending(redis_client, keys) == 0


async def test_an_alert_delivered_before_is_not_sent_again(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The same alert published twice (a re-evaluation) reaches the sink once."""
    sink = RecordingSink("rec")
    running = _start(redis_client, keys, sink)
    alert = make_alert()
    await publish(redis_client, keys, alert)
    await _until(lambda: len(sink.alerts) == 1)
    await publish(redis_client, keys, alert)
    await publish(redis_client, keys, make_alert(entry_id="later"))
    await _until(lambda: len(sink.alerts) == 2)
    await running.stop()
    assert [a.id for a in sink.alerts] == [alert.id, make_alert(entry_id="later").id]


async def test_retryable_failures_are_retried_until_accepted(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Two 5xx-like failures, then success: delivered once after three attempts."""
    sink = RecordingSink("rec")
    sink.fail_next(RetryableDelivery("503"), RetryableDelivery("timeout"))
    running = _start(redis_client, keys, sink)
    await publish(redis_client, keys, make_alert())
    await _until(lambda: len(sink.alerts) == 1)
    await running.stop()
    assert sink.attempts == 3


async def test_rate_limits_wait_retry_after_without_using_up_attempts(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Five 429s in a row with max_attempts=3 still end in delivery, not a dead letter."""
    sink = RecordingSink("rec")
    sink.fail_next(*(RetryableDelivery("429", retry_after=0.01) for _ in range(5)))
    running = _start(redis_client, keys, sink)
    await publish(redis_client, keys, make_alert())
    await _until(lambda: len(sink.alerts) == 1)
    await running.stop()
    assert await redis_client.xlen(keys.dead_letters) == 0


@pytest.mark.parametrize(
    ("errors", "attempts"),
    [
        ((RetryableDelivery("HTTP 503"),) * 3, 3),
        ((PermanentDelivery("HTTP 404 no_service"),), 1),
    ],
)
async def test_failed_alerts_go_to_the_dead_letter_stream_with_a_warning(
    redis_client: aioredis.Redis, keys: Keys, errors: tuple[Exception, ...], attempts: int
) -> None:
    """After max_attempts (or at once when permanent): DLQ entry, warning, metric, ack."""
    sink = RecordingSink("rec")
    sink.fail_next(*errors)  # type: ignore[arg-type]
    before = REGISTRY.get_sample_value("treaty_monitor_dead_lettered_total", {"sink": "rec"}) or 0
    alert = make_alert()
    with capture_logs() as logs:
        running = _start(redis_client, keys, sink)
        await publish(redis_client, keys, alert)
        await _until(lambda: redis_client.xlen(keys.dead_letters))  # type: ignore[arg-type]
        await running.stop()
    [(_id, fields)] = await redis_client.xrange(keys.dead_letters)
    assert Alert.from_json(fields["alert"]).id == alert.id
    assert fields["subscription"] == "desk"
    assert fields["attempts"] == str(attempts)
    assert str(errors[0]) in fields["error"]
    assert fields["channel"] == "arms-control"
    assert any(e["event"] == "alert_dead_lettered" and e["log_level"] == "warning" for e in logs)
    assert DEAD_LETTERS.labels(sink="rec")._value.get() == before + 1
    assert sink.alerts == []
    assert await _pending(redis_client, keys) == 0


async def test_a_pending_entry_whose_payload_was_trimmed_is_reported_not_sent(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """An entry deleted while pending is logged as an error and dead-lettered, never sent empty."""
    sink = RecordingSink("rec")
    stream, group = keys.alerts("arms-control"), subscription_group("desk")
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    entry_id = await publish(redis_client, keys, make_alert())
    await redis_client.xreadgroup(group, "c1", {stream: ">"})
    await redis_client.xdel(stream, entry_id)
    with capture_logs() as logs:
        running = _start(redis_client, keys, sink)
        await _until(lambda: redis_client.xlen(keys.dead_letters))  # type: ignore[arg-type]
        await running.stop()
    assert sink.attempts == 0
    assert any(e["event"] == "alert_payload_missing" and e["log_level"] == "error" for e in logs)
    labels = {"sink": "rec", "outcome": "payload_missing"}
    assert (REGISTRY.get_sample_value("treaty_monitor_deliveries_total", labels) or 0) >= 1
    [(_id, fields)] = await redis_client.xrange(keys.dead_letters)
    assert fields["alert"] == ""
    assert fields["stream_id"] == entry_id


async def test_idle_messages_of_a_crashed_consumer_are_claimed(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A message read by a consumer that died is claimed after claim_idle and delivered."""
    sink = RecordingSink("rec")
    stream, group = keys.alerts("arms-control"), subscription_group("desk")
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    alert = make_alert()
    await publish(redis_client, keys, alert)
    await redis_client.xreadgroup(group, "dead-consumer", {stream: ">"})
    running = _start(redis_client, keys, sink, consumer="survivor")
    await _until(lambda: len(sink.alerts) == 1)
    await running.stop()
    assert sink.alerts[0].id == alert.id
    assert await _pending(redis_client, keys) == 0


class _HangingSink(RecordingSink):
    async def send(self, alert: Alert) -> None:
        self.attempts += 1
        await asyncio.sleep(3600)


async def test_stop_returns_within_the_grace_and_hands_the_message_back(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A send that never finishes is abandoned after shutdown_grace; the message stays pending."""
    sink = _HangingSink("rec")
    running = _start(redis_client, keys, sink)
    await publish(redis_client, keys, make_alert())
    await _until(lambda: sink.attempts == 1)
    took = await running.stop()
    assert took < FAST.shutdown_grace + 3.0  # bounded (generous for a loaded machine)
    assert await _pending(redis_client, keys) == 1
    assert sink.closed


async def test_a_replayed_dead_letter_reaches_only_its_subscription(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """An entry carrying ``subscription`` is skipped by the channel's other subscriptions."""
    sink = RecordingSink("rec")
    running = _start(redis_client, keys, sink)
    alert = make_alert()
    fields = {"alert": alert.to_json(), "id": alert.id, "rule": alert.rule_id,
              "severity": "high", "subscription": "someone-else"}  # fmt: skip
    await redis_client.xadd(keys.alerts("arms-control"), fields)  # type: ignore[arg-type]
    await publish(redis_client, keys, make_alert(entry_id="mine"))
    await _until(lambda: len(sink.alerts) == 1)
    await running.stop()
    assert sink.alerts[0].entry.id == "mine"


async def test_same_story_from_other_outlets_becomes_one_alert_and_a_followup(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Three outlets, one story: one alert, then one "+2 sources" follow-up; other stories pass."""
    sink = RecordingSink("rec")
    delivery = FAST.model_copy(update={"group_window": 60.0})
    running = _start(redis_client, keys, sink, delivery=delivery)
    first = make_alert("US gives Russia 60 days to return to INF compliance", entry_id="t1",
                       feed="tass")  # fmt: skip
    await publish(redis_client, keys, first)
    await _until(lambda: len(sink.alerts) == 1)
    await publish(
        redis_client,
        keys,
        make_alert("U.S. gives Russia 60 days to comply with INF", entry_id="r1", feed="reuters"),
    )
    await publish(
        redis_client,
        keys,
        make_alert("US gives Russia 60 days on INF compliance", entry_id="a1", feed="ap"),
    )
    await publish(redis_client, keys, make_alert(
        "New START inspections resume in Vienna", entry_id="x1", feed="ap"))  # fmt: skip
    await _until(lambda: len(sink.alerts) == 3)
    await asyncio.sleep(0.5)
    await running.stop()
    assert [a.entry.id for a in sink.alerts] == ["t1", "x1", "t1"]
    followup = sink.alerts[2]
    assert followup.sources == ("reuters", "ap")
    assert followup.id != first.id


async def test_a_digest_subscription_sends_one_message_per_period(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Three alerts within the period arrive as one digest; a restart does not resend it."""
    sink = RecordingSink("rec")
    sub = _sub(digest=0.3)
    running = _start(redis_client, keys, sink, sub=sub)
    for i in range(3):
        await publish(redis_client, keys, make_alert(entry_id=f"d{i}"))
    await _until(lambda: len(sink.digests) == 1)
    await running.stop()
    digest: Digest = sink.digests[0]
    assert len(digest.alerts) == 3
    assert sink.alerts == []
    assert await _pending(redis_client, keys) == 0
    again = RecordingSink("rec")
    running = _start(redis_client, keys, again, sub=sub)
    await asyncio.sleep(0.6)
    await running.stop()
    assert again.digests == []


def test_build_notifiers_makes_one_per_subscription() -> None:
    """Each subscription gets its sink by name; no subscriptions, no notifiers."""
    settings = Settings(
        sinks=(SinkSettings(name="console", type="console"),
               SinkSettings(name="hook", type="webhook", url=SecretStr("http://127.0.0.1:9/"))),
        subscriptions=(SubscriptionSettings(name="a", channels=("x", "y"), sink="console"),
                       SubscriptionSettings(name="b", channels=("x",), sink="hook")),
    )  # fmt: skip
    import redis.asyncio as r

    client = r.Redis()
    notifiers = build_notifiers(settings, client, Keys("p"), consumer="me")
    assert [(n.subscription.name, n.sink.name, n.group) for n in notifiers] == [
        ("a", "console", "sub:a"), ("b", "hook", "sub:b")]  # fmt: skip
    assert sorted(notifiers[0].consumers) == ["p:alerts:x", "p:alerts:y"]
    assert build_notifiers(Settings(), client, Keys("p"), consumer="me") == []


async def test_notifier_logs_never_contain_the_webhook_secret(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A failing Slack sink is retried and dead-lettered without its URL in any log."""
    secret_url = f"http://127.0.0.1:{free_port()}/services/T9/B9/verysecrettoken"
    settings = Settings(
        sinks=(SinkSettings(name="slack", type="slack", webhook_url=SecretStr(secret_url),
                            rate_per_second=1000),),
        subscriptions=(
            SubscriptionSettings(name="desk", channels=("arms-control",), sink="slack"),
        ),
        delivery=FAST,
    )  # fmt: skip
    [notifier] = build_notifiers(settings, redis_client, keys, consumer="c1")
    with capture_logs() as logs:
        running = Running(notifier)
        await publish(redis_client, keys, make_alert())
        await _until(lambda: redis_client.xlen(keys.dead_letters))  # type: ignore[arg-type]
        await running.stop()
    assert any(e["event"] == "delivery_retry" for e in logs)
    assert "verysecrettoken" not in repr(logs)
    [(_id, fields)] = await redis_client.xrange(keys.dead_letters)
    assert "verysecrettoken" not in fields["error"]


async def test_an_alert_another_consumer_is_sending_is_left_to_it(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Claimed while its sending lease is held elsewhere: not sent until the lease lapses."""
    sink = RecordingSink("rec")
    stream, group = keys.alerts("arms-control"), subscription_group("desk")
    await redis_client.xgroup_create(stream, group, id="0", mkstream=True)
    alert = make_alert()
    await publish(redis_client, keys, alert)
    await redis_client.xreadgroup(group, "other", {stream: ">"})
    await redis_client.set(keys.sending("desk", alert.id), "other", px=1500)
    started = time.monotonic()
    running = _start(redis_client, keys, sink, consumer="c1")
    await _until(lambda: len(sink.alerts) == 1)
    waited = time.monotonic() - started
    await running.stop()
    assert waited >= 1.2
    assert sink.attempts == 1


class _SlowSink(RecordingSink):
    def __init__(self, shared: list[str]) -> None:
        super().__init__("rec")
        self.shared = shared

    async def send(self, alert: Alert) -> None:
        await asyncio.sleep(0.05)
        self.shared.append(alert.id)


async def test_two_consumers_of_one_subscription_never_send_an_alert_twice(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Slow sends and a tiny claim_idle make the consumers steal from each other; no doubles."""
    shared: list[str] = []
    delivery = FAST.model_copy(update={"claim_idle": 0.05})
    alerts = [make_alert(entry_id=f"s{i}") for i in range(30)]
    for alert in alerts:
        await publish(redis_client, keys, alert)
    first = _start(redis_client, keys, _SlowSink(shared), delivery=delivery, consumer="a")
    second = _start(redis_client, keys, _SlowSink(shared), delivery=delivery, consumer="b")
    await _until(lambda: len(set(shared)) == len(alerts), within=30)
    await asyncio.sleep(0.3)
    await first.stop()
    await second.stop()
    assert sorted(shared) == sorted(a.id for a in alerts)
    assert await _pending(redis_client, keys) == 0


class _CountingSink(RecordingSink):
    def __init__(self) -> None:
        super().__init__("rec")
        self.in_flight = 0
        self.most = 0

    async def send(self, alert: Alert) -> None:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.05)
        self.in_flight -= 1
        self.alerts.append(alert)


@pytest.mark.parametrize(("group_window", "most"), [(0.0, 4), (60.0, 1)])
async def test_concurrency_is_bounded_and_one_rules_alerts_stay_in_order(
    redis_client: aioredis.Redis, keys: Keys, group_window: float, most: int
) -> None:
    """Up to `concurrency` sends at once; with grouping on, one rule's alerts go one by one."""
    sink = _CountingSink()
    delivery = FAST.model_copy(update={"concurrency": 4, "group_window": group_window})
    titles = [" ".join(f"word{i}x{j}" for j in range(4)) for i in range(12)]  # no overlap
    alerts = [make_alert(title, entry_id=f"p{i}") for i, title in enumerate(titles)]
    for alert in alerts:
        await publish(redis_client, keys, alert)
    running = _start(redis_client, keys, sink, delivery=delivery)
    await _until(lambda: len(sink.alerts) == len(alerts))
    await running.stop()
    assert sink.most == most
    if group_window:
        assert [a.id for a in sink.alerts] == [a.id for a in alerts]

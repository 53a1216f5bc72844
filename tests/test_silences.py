"""Silences: matchers, states, the Redis store, the notifier holding alerts back, and the CLI."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from click.testing import CliRunner

from monitor.alerts.notifier import Notifier
from monitor.alerts.sinks.recording import RecordingSink
from monitor.cli import _register, cli
from monitor.config import DeliverySettings, SubscriptionSettings
from monitor.events.model import Event
from monitor.silences.model import Matcher, Silence, SilenceError, State, new_silence
from monitor.silences.store import SilenceStore
from monitor.streams import Keys
from tests.delivery_helpers import make_alert, publish

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _alert(**kwargs: object):  # type: ignore[no-untyped-def]
    alert = make_alert(tags=("suspension", "deadline"), feed="tass", channel="urgent")
    event = Event(treaty="new-start", actors=("ru",), development="suspension")
    return replace(alert, event=event, story="story-1", **kwargs)


def _silence(*matchers: str, start: datetime = NOW - HOUR, end: datetime = NOW + HOUR) -> Silence:
    parsed = tuple(Matcher.parse(m) for m in matchers)
    return Silence("s1", parsed, start, end, "ana", "noisy", created_at=start)


@pytest.mark.parametrize(
    ("matchers", "silenced"),
    [
        (("treaty=new-start",), True),
        (("treaty=inf",), False),
        (("actor=ru",), True),
        (("actor=us",), False),
        (("tag=deadline",), True),  # any of the alert's tags
        (("tag!=talks",), True),
        (("tag!=deadline",), False),
        (("feed=~ta.*",), True),
        (("feed=~ta",), False),  # a full match, not a search
        (("feed!~ria|tass",), False),
        (("channel=urgent", "rule=inf-talks"), True),
        (("channel=urgent", "rule=other"), False),  # every matcher must match
        (("story=story-1",), True),
        (("severity=high",), True),
    ],
)
def test_a_silence_holds_back_alerts_all_of_whose_matchers_match(
    matchers: tuple[str, ...], silenced: bool
) -> None:
    """Matchers read rule, tag, treaty, actor, feed, channel, story and severity off the alert."""
    assert _silence(*matchers).silences(_alert(), NOW) is silenced


@pytest.mark.parametrize(
    ("start", "end", "state"),
    [
        (NOW + HOUR, NOW + 2 * HOUR, State.PENDING),
        (NOW - HOUR, NOW + HOUR, State.ACTIVE),
        (NOW - 2 * HOUR, NOW - HOUR, State.EXPIRED),
        (NOW - HOUR, NOW, State.EXPIRED),  # the end is exclusive
    ],
)
def test_a_silence_is_pending_active_or_expired_by_time(
    start: datetime, end: datetime, state: State
) -> None:
    """Silences expire by themselves; only an active one holds alerts back."""
    silence = _silence("treaty=new-start", start=start, end=end)
    assert silence.state(NOW) is state
    assert silence.silences(_alert(), NOW) is (state is State.ACTIVE)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("treaty", "cannot read matcher"),
        ("colour=red", "unknown label"),
        ("feed=~(", "bad pattern"),
        ("=inf", "cannot read matcher"),
    ],
)
def test_a_bad_matcher_is_refused_with_the_reason(text: str, error: str) -> None:
    """Unknown labels, missing operators and broken patterns are named."""
    with pytest.raises(SilenceError, match=error):
        Matcher.parse(text)


def test_a_new_silence_must_end_in_the_future_after_it_starts() -> None:
    """A silence that is over before it is made, or ends before it starts, is refused."""
    matchers = (Matcher.parse("treaty=inf"),)
    with pytest.raises(SilenceError, match="future"):
        new_silence("x", matchers, starts_at=NOW - 2 * HOUR, ends_at=NOW - HOUR,
                    created_by="ana", comment="", now=NOW)  # fmt: skip
    with pytest.raises(SilenceError, match="after it starts"):
        new_silence("x", matchers, starts_at=NOW + 2 * HOUR, ends_at=NOW + HOUR,
                    created_by="ana", comment="", now=NOW)  # fmt: skip


def test_expiring_ends_an_active_silence_now_and_a_pending_one_before_it_starts() -> None:
    """An expired silence holds nothing back any more, and keeps its record."""
    active = _silence("treaty=new-start").expire(NOW)
    assert active.state(NOW) is State.EXPIRED
    assert active.ends_at == NOW
    pending = _silence("treaty=new-start", start=NOW + HOUR, end=NOW + 2 * HOUR).expire(NOW)
    assert pending.state(NOW + HOUR) is State.EXPIRED
    assert Silence.from_dict(json.loads(active.to_json())) == active


async def test_the_store_lists_expires_and_forgets_old_silences(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Silences are shared through Redis; expired ones are kept five days, then dropped."""
    store = SilenceStore(redis_client, keys)
    await store.add(_silence("treaty=new-start"))
    (listed,) = await store.all(NOW)
    assert listed.state(NOW) is State.ACTIVE
    expired = await store.expire("s", NOW)  # a prefix that names one silence
    assert (await store.all(NOW + HOUR))[0].state(NOW + HOUR) is State.EXPIRED
    assert expired.ends_at == NOW
    assert await store.all(NOW + timedelta(days=6)) == []
    assert await redis_client.hlen(keys.silences) == 0


async def test_the_notifier_records_a_silenced_alert_and_does_not_deliver_it(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A silenced alert is acknowledged and recorded as held back; others are delivered."""
    store = SilenceStore(redis_client, keys)
    now = datetime.now(UTC)
    await store.add(_silence("story=story-1", start=now - HOUR, end=now + HOUR))
    sink = RecordingSink("rec")
    sub = SubscriptionSettings(name="desk", channels=("urgent",), sink="rec")
    delivery = DeliverySettings(group_window=0, claim_idle=0.2)
    notifier = Notifier(sub, sink, redis_client, keys, delivery, consumer="c1")
    held = _alert()
    other = replace(_alert(), id="other-alert", story="story-2")
    await publish(redis_client, keys, held)
    await publish(redis_client, keys, other)
    stop = asyncio.Event()
    task = asyncio.create_task(notifier.run(stop))
    for _ in range(500):
        if sink.alerts and await redis_client.xlen(keys.silenced):
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert [a.id for a in sink.alerts] == ["other-alert"]
    (record,) = await store.held_back()
    assert json.loads(record["alert"])["id"] == held.id
    assert record["subscription"] == "desk"
    assert record["silence"] == "s1"
    pending = await redis_client.xpending(keys.alerts("urgent"), "sub:desk")
    assert pending["pending"] == 0


def _cli(*args: str) -> tuple[int, str, str]:
    _register()
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_silence_add_list_and_expire_from_the_command_line(
    tmp_path: Path, redis_url: str, keys: Keys
) -> None:
    """`silence add` prints an id, `list` shows it active, `expire` ends it."""
    config = tmp_path / "monitor.toml"
    config.write_text(f'[redis]\nurl = "{redis_url}"\nprefix = "{keys.prefix}"\n')
    code, out, err = _cli(
        "silence", "add", "treaty=inf", "tag!=talks", "--duration", "1h",
        "--author", "ana", "--comment", "noisy story", "-c", str(config),
    )  # fmt: skip
    assert code == 0, err
    silence_id = out.strip()
    code, out, _ = _cli("silence", "list", "--format", "jsonl", "-c", str(config))
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["id"] == silence_id
    assert row["state"] == "active"
    assert row["matchers"] == [
        {"label": "treaty", "op": "=", "value": "inf"},
        {"label": "tag", "op": "!=", "value": "talks"},
    ]
    assert _cli("silence", "expire", silence_id[:6], "-c", str(config))[0] == 0
    assert _cli("silence", "list", "--format", "jsonl", "-c", str(config))[1] == ""
    code, out, _ = _cli("silence", "list", "--all", "--format", "jsonl", "-c", str(config))
    assert json.loads(out)["state"] == "expired"


def test_silence_add_refuses_a_bad_matcher_without_a_traceback(tmp_path: Path) -> None:
    """A usage error names the matcher and exits 2."""
    code, _out, err = _cli("silence", "add", "colour=red", "--comment", "x")
    assert code == 2
    assert "unknown label 'colour'" in err
    assert "Traceback" not in err

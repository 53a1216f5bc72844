"""Story messages in every sink: the event line, the due date on every copy, follow-ups
(threaded on Slack with a bot token, In-Reply-To in email, ``type: followup`` on webhooks)."""

from __future__ import annotations

import email
import email.policy
import io
import json
from dataclasses import replace
from datetime import date

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from structlog.testing import capture_logs

from monitor.alerts.sinks import Pacer, build_sink
from monitor.alerts.sinks.console import ConsoleSink
from monitor.alerts.sinks.email import EmailSink, SmtpOptions
from monitor.alerts.sinks.slack import SlackSink
from monitor.alerts.sinks.slack_api import SlackApiSink
from monitor.alerts.sinks.webhook import WebhookSink
from monitor.alerts.threads import Followup
from monitor.config import SinkSettings
from monitor.errors import ConfigError, PermanentDelivery, RetryableDelivery
from monitor.events.model import Event
from monitor.streams import Keys
from tests.delivery_helpers import Reply, http_receiver, publish
from tests.smtp_helpers import Scripted, smtp_server
from tests.story_helpers import STORY_DELIVERY, Clock, copy, drained, start, until

DUE = date(2023, 3, 1)
TOKEN = "xoxb-1111-s3cr3t-b0t-t0ken"
TS = "1700000000.000100"


def _story() -> Followup:
    first = copy("treaties", due=DUE)
    return Followup(id=f"{first.id}.1", story="story-1", alert=first, sources=("reuters", "ria"),
                    total_sources=3, thread=TS)  # fmt: skip


def _reminder() -> Followup:
    return replace(_story(), id="x.r7d", sources=(), kind="reminder", reminder="7d")


async def test_webhook_first_message_carries_type_story_event_line_and_due_date() -> None:
    """`type: alert`, the story id, the event with its line, and the due date at top level."""
    async with http_receiver() as server:
        sink = WebhookSink("hook", SecretStr(server.url), secret=None, pacer=Pacer(0),
                           timeout=5.0, subscription="desk")  # fmt: skip
        await sink.send(copy("urgent"))  # the urgent copy's own alert has no deadline ...
        await sink.send(copy("treaties", due=DUE))
        await sink.aclose()
    first, second = (r.json() for r in server.received)
    assert (first["type"], first["story"]) == ("alert", "story-1")
    assert first["event"]["line"] == "Russia · New START · suspension"
    assert first["event"]["treaty"] == "new-start"
    assert first["due"] is None
    assert second["due"] == "2023-03-01"
    assert second["alert"]["deadline"] == "2023-03-01"


async def test_webhook_followups_and_reminders_name_the_story_sources_and_due_date() -> None:
    """`type: followup` with the new sources, `type: reminder` with its offset; both carry due."""
    async with http_receiver() as server:
        sink = WebhookSink("hook", SecretStr(server.url), secret=None, pacer=Pacer(0),
                           timeout=5.0, subscription="desk")  # fmt: skip
        await sink.send_followup(_story())
        await sink.send_followup(_reminder())
        await sink.aclose()
    followup, reminder = (r.json() for r in server.received)
    assert followup["type"] == "followup"
    assert (followup["story"], followup["sources"], followup["sources_total"]) == (
        "story-1", ["reuters", "ria"], 3)  # fmt: skip
    assert followup["due"] == "2023-03-01"
    assert followup["event"]["line"] == "Russia · New START · suspension"
    assert server.received[0].headers["X-Treaty-Monitor-Delivery"] == _story().id
    assert (reminder["type"], reminder["reminder"], reminder["due"]) == (
        "reminder", "7d", "2023-03-01")  # fmt: skip


def _api_sink(url: str) -> SlackApiSink:
    base = url.rsplit("/services/", 1)[0] + "/api"
    return SlackApiSink("slack", SecretStr(TOKEN), channel="C0123", pacer=Pacer(0), timeout=5.0,
                        api_url=base)  # fmt: skip


def _texts(body: dict[str, object]) -> str:
    """Every text of a Block Kit body's sections, one per line."""
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    return "\n".join(b["text"]["text"] for b in blocks if "text" in b)


def _ok(ts: str = TS) -> Reply:
    return Reply(200, json.dumps({"ok": True, "channel": "C0123", "ts": ts}))


async def test_slack_bot_posts_return_the_ts_and_followups_go_into_its_thread() -> None:
    """chat.postMessage with the bot token; the reply's ts threads follow-ups; reminders are
    also broadcast to the channel."""
    async with http_receiver() as server:
        server.script.extend([_ok(), _ok("1700000001.000200"), _ok("1700000002.000300")])
        sink = _api_sink(server.url)
        ts = await sink.send(copy("treaties", due=DUE))
        await sink.send_followup(replace(_story(), thread=ts))
        await sink.send_followup(replace(_reminder(), thread=ts))
        await sink.aclose()
    assert ts == TS
    first, followup, reminder = (r.json() for r in server.received)
    assert server.received[0].path == "/api/chat.postMessage"
    assert server.received[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert first["channel"] == "C0123"
    assert "thread_ts" not in first
    assert "Russia · New START · suspension" in _texts(first)
    assert (followup["thread_ts"], followup.get("reply_broadcast")) == (TS, None)
    assert "+2 sources: reuters, ria" in _texts(followup)
    assert "2023-03-01" in _texts(followup)
    assert (reminder["thread_ts"], reminder["reply_broadcast"]) == (TS, True)
    assert "due in 7 days" in _texts(reminder)


@pytest.mark.parametrize(
    ("error", "kind"),
    [("ratelimited", RetryableDelivery), ("internal_error", RetryableDelivery),
     ("channel_not_found", PermanentDelivery), ("invalid_auth", PermanentDelivery)],
)  # fmt: skip
async def test_slack_bot_errors_are_retried_or_dead_lettered_and_never_show_the_token(
    error: str, kind: type[Exception]
) -> None:
    """Slack's `ok: false` codes map to retry or dead letter; the token stays out of errors."""
    async with http_receiver() as server:
        server.script.append(Reply(200, json.dumps({"ok": False, "error": error})))
        sink = _api_sink(server.url)
        with capture_logs() as logs, pytest.raises(kind) as info:
            await sink.send(copy("treaties"))
        await sink.aclose()
    assert error in str(info.value)
    assert TOKEN not in str(info.value) + repr(logs)


def test_a_slack_sink_with_a_token_builds_the_bot_sink_and_needs_a_channel() -> None:
    """token + channel: the Web API sink; a token without a channel is refused."""
    settings = SinkSettings(name="s", type="slack", token=SecretStr(TOKEN), channel="C1")
    assert isinstance(build_sink(settings, {}, subscription="d", backoff_max=60.0), SlackApiSink)
    with pytest.raises(ValueError, match="channel"):
        SinkSettings(name="s", type="slack", token=SecretStr(TOKEN))
    unset = SinkSettings(name="s", type="slack", token_env="TM_TEST_UNSET_TOKEN", channel="C1")
    with pytest.raises(ConfigError, match="token_env names an unset variable"):
        build_sink(unset, {}, subscription="d", backoff_max=60.0)


async def test_slack_webhook_followup_is_a_short_escaped_message() -> None:
    """An incoming webhook cannot thread: a short message, feed text escaped."""
    note = replace(_story(), alert=replace(_story().alert, entry=replace(
        _story().alert.entry, title="Halt <!channel>")))  # fmt: skip
    async with http_receiver() as server:
        sink = SlackSink("slack", SecretStr(server.url), pacer=Pacer(0), timeout=5.0)
        await sink.send_followup(note)
        await sink.aclose()
    text = _texts(server.received[0].json())
    assert "&lt;!channel&gt;" in text
    assert "<!channel>" not in text
    assert "+2 sources: reuters, ria" in text


async def test_email_followup_replies_to_the_first_mail_with_event_and_due_date() -> None:
    """The follow-up mail answers the first one (In-Reply-To, References); both show the event
    line and the due date in text and HTML."""
    handler = Scripted()
    opts = SmtpOptions(host="127.0.0.1", port=0, timeout=5.0)
    with smtp_server(handler) as port:
        sink = EmailSink("mail", replace(opts, port=port), sender="tm@example.org",
                         recipients=("desk@example.org",), pacer=Pacer(0))  # fmt: skip
        first_id = await sink.send(copy("treaties", due=DUE))
        await sink.send_followup(replace(_story(), thread=first_id))
    first, followup = (email.message_from_bytes(raw, policy=email.policy.default)
                       for _, raw in handler.messages)  # fmt: skip
    assert first["Message-ID"] == first_id
    assert followup["In-Reply-To"] == first_id
    assert followup["References"] == first_id
    assert followup["Subject"].startswith("Re: [MEDIUM]")
    for msg in (first, followup):
        text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Russia · New START · suspension" in text
        assert "Russia · New START · suspension" in html
        assert "2023-03-01" in text
        assert "2023-03-01" in html
    assert "+2 sources: reuters, ria" in followup.get_body(("plain",)).get_content()  # type: ignore[union-attr]


async def test_console_shows_the_event_line_and_a_one_line_followup_with_the_due_date() -> None:
    """The alert block has an event line; a follow-up is one line naming sources and due."""
    out = io.StringIO()
    sink = ConsoleSink("console", stream=out)
    await sink.send(copy("treaties", due=DUE))
    await sink.send_followup(_story())
    block, line = out.getvalue().strip().split("\n\n")
    assert "  event:    Russia · New START · suspension" in block
    assert "  deadline: 2023-03-01" in block
    assert line == ("[MEDIUM] follow-up · +2 sources: reuters, ria · Russia · New START · "
                    "suspension · due 2023-03-01 · Russia suspends New START")  # fmt: skip


async def test_a_hostile_event_line_is_escaped_in_every_sink() -> None:
    """Display names are text: no Slack mention, no HTML, no terminal escape gets through."""
    hostile = Event(treaty="inf", actors=("xx",), development="suspension",
                    treaty_name="<b>INF</b> <!channel>", actor_names=("\x1b[31mRed",))  # fmt: skip
    alert = replace(copy("treaties"), event=hostile)
    out = io.StringIO()
    await ConsoleSink("console", stream=out).send(alert)
    assert "\x1b" not in out.getvalue()
    from monitor.alerts.render import email_parts, slack_payload

    event_block = slack_payload(alert)["blocks"][1]["text"]
    assert event_block["type"] == "plain_text"
    assert "&lt;b&gt;INF&lt;/b&gt; &lt;!channel&gt;" in event_block["text"]
    assert "&lt;b&gt;INF&lt;/b&gt;" in email_parts(alert).html


async def test_a_story_threads_under_the_first_slack_message_through_the_notifier(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The notifier keeps the ts Slack returned for the story and posts the follow-up there."""
    clock = Clock()
    async with http_receiver() as server:
        server.script.extend([_ok(), _ok("1700000009.000900")])
        running = start(redis_client, keys, _api_sink(server.url), clock)
        await until(lambda: drained(redis_client, keys))
        await publish(redis_client, keys, copy("treaties", due=DUE))
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.merge_delay + 1)
        await until(lambda: len(server.received) == 1)
        await publish(redis_client, keys, copy("urgent", feed="ap", entry_id="ap:1"))
        await until(lambda: drained(redis_client, keys))
        clock.advance(STORY_DELIVERY.followup_delay + 1)
        await until(lambda: len(server.received) == 2)
        await running.stop()
    first, followup = (r.json() for r in server.received)
    assert "thread_ts" not in first
    assert followup["thread_ts"] == TS
    assert "+1 sources: ap" in followup["text"]


async def test_a_due_date_followup_says_the_date_once_on_the_console_and_why_on_webhooks() -> None:
    """A follow-up that only brings the due date reads "due <date>" (not twice); webhooks get
    ``reason: due``."""
    note = replace(_story(), sources=(), reason="due")
    out = io.StringIO()
    await ConsoleSink("console", stream=out).send_followup(note)
    assert out.getvalue().strip() == ("[MEDIUM] follow-up · due 2023-03-01 · Russia · New START "
                                      "· suspension · Russia suspends New START")  # fmt: skip
    async with http_receiver() as server:
        sink = WebhookSink("hook", SecretStr(server.url), secret=None, pacer=Pacer(0),
                           timeout=5.0, subscription="desk")  # fmt: skip
        await sink.send_followup(note)
        await sink.aclose()
    body = server.received[0].json()
    assert (body["type"], body["reason"], body["sources"]) == ("followup", "due", [])

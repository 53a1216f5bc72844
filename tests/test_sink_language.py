"""The entry's language after the event line, in every sink that shows the event line (console,
Slack incoming webhook and bot, email text and HTML, follow-ups)."""

from __future__ import annotations

import email
import email.policy
import io
from dataclasses import replace

from pydantic import SecretStr

from monitor.alerts.alert import Alert
from monitor.alerts.sinks import Pacer
from monitor.alerts.sinks.console import ConsoleSink
from monitor.alerts.sinks.email import EmailSink, SmtpOptions
from monitor.alerts.sinks.slack import SlackSink
from monitor.alerts.threads import Followup
from tests.delivery_helpers import http_receiver
from tests.smtp_helpers import Scripted, smtp_server
from tests.story_helpers import copy

LINE = "Russia · New START · suspension"


def _in(language: str) -> Alert:
    alert = copy("treaties", title="Россия приостанавливает участие в ДСНВ")
    return replace(alert, entry=replace(alert.entry, language=language))


def _texts(body: dict[str, object]) -> str:
    blocks = body["blocks"]
    assert isinstance(blocks, list)
    return "\n".join(b["text"]["text"] for b in blocks if "text" in b)


async def test_console_shows_the_language_after_the_event_line() -> None:
    """A Russian entry's block reads "event: Russia · New START · suspension · ru"."""
    out = io.StringIO()
    await ConsoleSink("console", stream=out).send(_in("ru"))
    assert f"  event:    {LINE} · ru\n" in out.getvalue()


async def test_an_entry_of_unknown_language_shows_the_bare_event_line() -> None:
    """No language: the event line ends with the development, no dangling separator."""
    out = io.StringIO()
    await ConsoleSink("console", stream=out).send(_in(""))
    assert f"  event:    {LINE}\n" in out.getvalue()


async def test_slack_shows_the_language_after_the_event_line() -> None:
    """The Slack message's event section carries the language."""
    async with http_receiver() as server:
        sink = SlackSink("slack", SecretStr(server.url), pacer=Pacer(0), timeout=5.0)
        await sink.send(_in("fr"))
        await sink.aclose()
    assert f"{LINE} · fr" in _texts(server.received[0].json())


async def test_email_text_and_html_show_the_language_after_the_event_line() -> None:
    """Both parts of the mail, and its follow-up, carry the language."""
    handler = Scripted()
    opts = SmtpOptions(host="127.0.0.1", port=0, timeout=5.0)
    alert = _in("de")
    note = Followup(id=f"{alert.id}.1", story="story-1", alert=alert, sources=("dpa",),
                    total_sources=2)  # fmt: skip
    with smtp_server(handler) as port:
        sink = EmailSink("mail", replace(opts, port=port), sender="tm@example.org",
                         recipients=("desk@example.org",), pacer=Pacer(0))  # fmt: skip
        await sink.send(alert)
        await sink.send_followup(note)
    for _, raw in handler.messages:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert f"{LINE} · de" in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"{LINE} · de" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]

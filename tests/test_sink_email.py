"""The email sink against aiosmtpd on 127.0.0.1: reply codes, partial refusal, TLS, auth."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from pydantic import SecretStr
from structlog.testing import capture_logs

from monitor.alerts.recipients import RedisRecipients
from monitor.alerts.sinks import Pacer
from monitor.alerts.sinks.email import EmailSink, SmtpOptions
from monitor.connections import client_from_url
from monitor.errors import PermanentDelivery, RetryableDelivery
from monitor.streams import Keys
from tests.delivery_helpers import free_port, make_alert
from tests.smtp_helpers import Scripted, auth_kwargs, self_signed, smtp_server

A, B, C = "a@example.org", "b@example.org", "c@example.org"


def _sink(
    port: int, recipients: tuple[str, ...] = (A,), state: RedisRecipients | None = None,
    **options: object,
) -> EmailSink:  # fmt: skip
    opts = SmtpOptions(host="127.0.0.1", port=port, timeout=5.0, **options)  # type: ignore[arg-type]
    return EmailSink("mail", opts, sender="tm@example.org", recipients=recipients,
                     pacer=Pacer(0), state=state)  # fmt: skip


async def test_email_is_multipart_text_and_html_to_every_recipient() -> None:
    """One message, both parts, a one-line subject and a Message-ID from the alert id."""
    handler = Scripted()
    with smtp_server(handler) as port:
        alert = make_alert("INF <talks>\r\nBcc: x@evil.example")
        await _sink(port, (A, B)).send(alert)
    rcpts, raw = handler.messages[0]
    assert rcpts == [A, B]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Message-ID"] == f"<{alert.id}@treaty-monitor>"
    assert msg["Bcc"] is None
    assert msg["Subject"] == "[HIGH] INF <talks> Bcc: x@evil.example"
    types = [part.get_content_type() for part in msg.walk()]
    assert types == ["multipart/alternative", "text/plain", "text/html"]
    text, html = (part.get_content() for part in list(msg.walk())[1:])
    assert "\nTags:      inf\n" in text.replace("\r\n", "\n")
    assert "<tr><td>Tags</td><td>inf</td></tr>" in html


@pytest.mark.parametrize(
    ("stage", "reply", "kind"),
    [
        ("mail", "421 Service not available, closing channel", RetryableDelivery),
        ("rcpt", "451 Requested action aborted: local error", RetryableDelivery),
        ("rcpt", "452 Insufficient system storage", RetryableDelivery),
        ("rcpt", "550 No such user", PermanentDelivery),
        ("rcpt", "553 Mailbox name not allowed", PermanentDelivery),
        ("data", "451 Try again later", RetryableDelivery),
        ("data", "554 Transaction failed", PermanentDelivery),
        ("mail", "550 Sender rejected", PermanentDelivery),
    ],
)
async def test_smtp_reply_codes_map_to_retry_or_dead_letter(
    stage: str, reply: str, kind: type[Exception]
) -> None:
    """4xx at any stage is retried; 5xx is a dead letter."""
    handler = Scripted()
    {"mail": handler.mail, "data": handler.data, "rcpt": handler.rcpt[A]}[stage].append(reply)
    with smtp_server(handler) as port, pytest.raises(kind, match=reply[:3]):
        await _sink(port).send(make_alert())
    assert handler.messages == []


async def test_connection_dropped_during_data_is_retried() -> None:
    """A server vanishing mid-transaction is transient; the next attempt delivers."""
    handler = Scripted(drop_data=1)
    with smtp_server(handler) as port:
        sink = _sink(port)
        with pytest.raises(RetryableDelivery):
            await sink.send(make_alert())
        await sink.send(make_alert())
    assert len(handler.messages) == 1


async def test_only_recipients_with_4xx_are_retried() -> None:
    """A got it, B got 452: the retry goes to B alone, so A is not mailed twice."""
    handler = Scripted()
    handler.rcpt[B].append("452 Mailbox full, try later")
    with smtp_server(handler) as port:
        sink = _sink(port, (A, B))
        with pytest.raises(RetryableDelivery, match=B):
            await sink.send(make_alert())
        await sink.send(make_alert())
    assert [rcpts for rcpts, _ in handler.messages] == [[A], [B]]


async def test_who_is_still_owed_is_kept_in_redis_for_whichever_sink_retries(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A accepted, B 451, C 550: a fresh sink (a restart) mails B only, then dead-letters C."""
    handler = Scripted()
    handler.rcpt[B].append("451 Greylisted")
    handler.rcpt[C].append("550 No such user")
    alert = make_alert()
    key = keys.smtp_recipients("desk", alert.id)
    with smtp_server(handler) as port:
        first = _sink(port, (A, B, C), RedisRecipients(redis_client, keys, "desk", ttl=600))
        with pytest.raises(RetryableDelivery, match=B):
            await first.send(alert)
        assert 0 < await redis_client.ttl(key) <= 600
        successor = _sink(port, (A, B, C), RedisRecipients(redis_client, keys, "desk", ttl=600))
        with pytest.raises(PermanentDelivery, match=f"{C}: 550"):
            await successor.send(alert)
    assert [rcpts for rcpts, _ in handler.messages] == [[A], [B]]
    assert not await redis_client.exists(key)


async def test_without_its_retry_state_the_sink_sends_nothing_and_retries_later(
    keys: Keys,
) -> None:
    """Redis unreachable: the email is not sent (it might go to who already has it); retryable."""
    handler = Scripted()
    unreachable = client_from_url(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with smtp_server(handler) as port:
            sink = _sink(port, (A, B), RedisRecipients(unreachable, keys, "desk", ttl=600))
            with pytest.raises(RetryableDelivery, match="retry state unavailable"):
                await sink.send(make_alert())
    finally:
        await unreachable.aclose()
    assert handler.messages == []


async def test_partial_5xx_refusal_dead_letters_naming_the_refused_recipient() -> None:
    """A accepted, C refused for good (550): the error names C; A is not retried."""
    handler = Scripted()
    handler.rcpt[B].append("451 Greylisted")
    handler.rcpt[C].append("550 No such user")
    with smtp_server(handler) as port:
        sink = _sink(port, (A, B, C))
        with pytest.raises(RetryableDelivery):
            await sink.send(make_alert())
        with pytest.raises(PermanentDelivery, match=f"{C}: 550"):
            await sink.send(make_alert())
    assert [rcpts for rcpts, _ in handler.messages] == [[A], [B]]


async def test_refused_connection_is_retryable() -> None:
    """No server listening is a transient failure."""
    with pytest.raises(RetryableDelivery):
        await _sink(free_port()).send(make_alert())


async def test_starttls_and_implicit_tls_deliver(tmp_path: Path) -> None:
    """STARTTLS (required by the server) and TLS-on-connect both carry the message."""
    context = self_signed(tmp_path)
    starttls = Scripted()
    with smtp_server(starttls, tls_context=context, require_starttls=True) as port:
        await _sink(port, security="starttls", validate_certs=False).send(make_alert())
    assert len(starttls.messages) == 1
    implicit = Scripted()
    with smtp_server(implicit, ssl_context=context) as port:
        await _sink(port, security="tls", validate_certs=False).send(make_alert())
    assert len(implicit.messages) == 1


async def test_smtp_auth_logs_in_and_never_logs_the_password(tmp_path: Path) -> None:
    """The right password delivers, a wrong one dead-letters (535); neither is ever logged."""
    handler = Scripted()
    tls = {"tls_context": self_signed(tmp_path), **auth_kwargs("tm", "pa55word-xyz")}
    with smtp_server(handler, **tls) as port, capture_logs() as logs:
        good, bad = SecretStr("pa55word-xyz"), SecretStr("bad-pw-123")
        opts = {"security": "starttls", "validate_certs": False, "username": "tm"}
        await _sink(port, password=good, **opts).send(make_alert())
        with pytest.raises(PermanentDelivery, match="535") as info:
            await _sink(port, password=bad, **opts).send(make_alert())
    assert len(handler.messages) == 1
    for secret in ("pa55word-xyz", "bad-pw-123"):
        assert secret not in repr(logs)
        assert secret not in str(info.value)

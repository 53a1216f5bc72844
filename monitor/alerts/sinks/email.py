"""The email sink: multipart text + HTML over SMTP (plain, STARTTLS or TLS), per-recipient retry.

SMTP replies are sorted by class: 4xx is transient (only the recipients that got it are tried
again on the next attempt), 5xx is permanent (dead letter, naming the refused recipients). Who is
still owed a message lives in a :class:`~monitor.alerts.recipients.RecipientStore` (Redis, for
the notifier), so a restart does not mail again the recipients that already accepted.
"""

from __future__ import annotations

import email.policy
from collections.abc import Awaitable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import TypeVar

import aiosmtplib
from pydantic import SecretStr
from redis.exceptions import RedisError

from monitor.alerts.alert import Alert
from monitor.alerts.followups import email_followup_parts
from monitor.alerts.recipients import MemoryRecipients, RecipientState, RecipientStore
from monitor.alerts.render import Digest, EmailParts, email_digest_parts, email_parts
from monitor.alerts.retry import smtp_is_transient
from monitor.alerts.sinks.base import Pacer
from monitor.alerts.threads import Followup
from monitor.errors import PermanentDelivery, RetryableDelivery

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    """Where and how to connect."""

    host: str
    port: int
    security: str = "plain"  # plain | starttls | tls
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = 30.0
    validate_certs: bool = True


def message_id(key: str) -> str:
    """The Message-ID header of the mail with delivery id ``key``."""
    return f"<{key}@treaty-monitor>"


def build_message(
    parts: EmailParts, *, sender: str, to: tuple[str, ...], msg_id: str, reply_to: str = ""
) -> bytes:
    """The RFC 5322 bytes of one email (headers folded and encoded by the stdlib).

    ``reply_to``: the Message-ID this mail answers (a story's follow-up threads under its first
    mail through ``In-Reply-To`` and ``References``).
    """
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Subject"] = parts.subject
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = message_id(msg_id)
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(parts.text)
    msg.add_alternative(parts.html, subtype="html")
    return msg.as_bytes()


def _response_text(message: str) -> str:
    return " ".join(message.split())[:120]


class EmailSink:
    """Sends one email per alert (or digest) to the configured recipients."""

    def __init__(
        self, name: str, options: SmtpOptions, *, sender: str, recipients: tuple[str, ...],
        pacer: Pacer, state: RecipientStore | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.options = options
        self.sender = sender
        self.recipients = recipients
        self._pacer = pacer
        # Per message id: recipients still owed (after 4xx) and those that refused for good.
        self._state: RecipientStore = state if state is not None else MemoryRecipients()

    async def send(self, alert: Alert) -> str:
        """Email one alert; returns its Message-ID (follow-ups answer it)."""
        await self._deliver(alert.id, email_parts(alert))
        return message_id(alert.id)

    async def send_followup(self, followup: Followup) -> None:
        """Email a story's follow-up or reminder as a reply to its first mail."""
        reply_to = followup.thread if followup.thread.startswith("<") else ""
        await self._deliver(followup.id, email_followup_parts(followup), reply_to=reply_to)

    async def send_digest(self, digest: Digest) -> None:
        """Email one digest."""
        await self._deliver(digest.id, email_digest_parts(digest))

    async def aclose(self) -> None:
        """Nothing kept open between messages."""

    async def _deliver(self, key: str, parts: EmailParts, reply_to: str = "") -> None:
        state = await self._guard(self._state.load(key))
        recipients = self.recipients if state.owed is None else state.owed
        message = build_message(
            parts, sender=self.sender, to=self.recipients, msg_id=key, reply_to=reply_to
        )
        await self._pacer.wait()
        try:
            failures = await self._transmit(message, recipients)
        except PermanentDelivery:
            await self._guard(self._state.clear(key))
            raise
        why = {r: f"{code} {text}" for r, (code, text) in failures.items()}
        deferred = tuple(r for r, (code, _) in failures.items() if smtp_is_transient(code))
        refused = {**state.refused, **{r: w for r, w in why.items() if r not in deferred}}
        if deferred:
            # Written before the retry is scheduled: whoever retries (this process after a
            # restart, or another notifier) mails only these.
            await self._guard(self._state.save(key, RecipientState(deferred, refused)))
            listed = "; ".join(f"{r}: {why[r]}" for r in deferred)
            raise RetryableDelivery(f"smtp: deferred for {listed}")
        await self._guard(self._state.clear(key))
        if refused:
            listed = "; ".join(f"{r}: {why}" for r, why in refused.items())
            raise PermanentDelivery(f"smtp: refused by {listed}")

    @staticmethod
    async def _guard(step: Awaitable[T]) -> T:
        try:
            return await step
        except (RedisError, OSError) as exc:
            raise RetryableDelivery(f"smtp: retry state unavailable: {type(exc).__name__}") from exc

    async def _transmit(
        self, message: bytes, recipients: tuple[str, ...]
    ) -> dict[str, tuple[int, str]]:
        """Send once; return refused recipients → (code, text), or raise for the whole message."""
        opts = self.options
        client = aiosmtplib.SMTP(
            hostname=opts.host,
            port=opts.port,
            timeout=opts.timeout,
            use_tls=opts.security == "tls",
            start_tls=opts.security == "starttls",
            validate_certs=opts.validate_certs,
        )
        try:
            async with client:
                if opts.username:
                    password = opts.password.get_secret_value() if opts.password else ""
                    await client.login(opts.username, password)
                errors, _reply = await client.sendmail(self.sender, list(recipients), message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return {r.recipient: (r.code, _response_text(r.message)) for r in exc.recipients}
        except aiosmtplib.SMTPResponseException as exc:
            text = f"smtp: {exc.code} {_response_text(exc.message)}"
            if smtp_is_transient(exc.code):
                raise RetryableDelivery(text) from exc
            raise PermanentDelivery(text) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise RetryableDelivery(f"smtp: {type(exc).__name__}") from exc
        return {r: (resp.code, _response_text(resp.message)) for r, resp in errors.items()}

"""A scripted aiosmtpd server on 127.0.0.1 for the email sink tests."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.delivery_helpers import free_port


@dataclass
class Scripted:
    """aiosmtpd handler replying from scripts: per-recipient RCPT codes, MAIL and DATA replies."""

    rcpt: dict[str, deque[str]] = field(default_factory=lambda: defaultdict(deque))
    mail: deque[str] = field(default_factory=deque)
    data: deque[str] = field(default_factory=deque)
    drop_data: int = 0
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Reply from the MAIL script, else accept."""
        if self.mail:
            return self.mail.popleft()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Reply from this recipient's script, else accept."""
        if self.rcpt[address]:
            return self.rcpt[address].popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Drop the connection, reply from the DATA script, or keep the message."""
        if self.drop_data:
            self.drop_data -= 1
            server.transport.close()
            return "250 never seen"
        if self.data:
            return self.data.popleft()
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 Message accepted"


def _authenticator(user: str, password: str) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and (data.password.decode() == password)
        )
        return AuthResult(success=ok, handled=False)

    return check


@contextmanager
def smtp_server(handler: Scripted, **kwargs: Any) -> Iterator[int]:
    """Run aiosmtpd on 127.0.0.1 in its thread; yields the port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def self_signed(directory: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def auth_kwargs(user: str, password: str) -> dict[str, Any]:
    """Controller options requiring LOGIN/PLAIN authentication."""
    return {"authenticator": _authenticator(user, password), "auth_required": True}

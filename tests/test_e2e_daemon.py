"""The whole daemon as a subprocess: local feed → rules → Slack webhook and email; no repeats."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from tests.delivery_helpers import free_port

ITEM = """
<item><title>{title}</title><link>https://example.org/{guid}</link><guid>{guid}</guid>
<pubDate>Wed, 16 Jan 2019 18:00:00 +0000</pubDate><description>{text}</description></item>"""


@dataclass
class LocalServices:
    """A feed server and a Slack-like webhook receiver on 127.0.0.1."""

    items: list[str] = field(default_factory=list)
    slack_posts: list[dict[str, object]] = field(default_factory=list)
    port: int = 0

    def feed(self) -> bytes:
        """The current RSS document."""
        body = "".join(self.items)
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://example.org/</link>{body}</channel></rss>"
        ).encode()


class Inbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        """Accept and keep the message."""
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
async def services() -> AsyncIterator[LocalServices]:
    """Feed and Slack servers on an ephemeral port."""
    state = LocalServices()

    async def feed(_request: web.Request) -> web.Response:
        return web.Response(body=state.feed(), content_type="application/rss+xml")

    async def slack(request: web.Request) -> web.Response:
        state.slack_posts.append(await request.json())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    app.router.add_post("/slack/hook", slack)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _config(tmp_path: Path, services: LocalServices, smtp_port: int, redis_url: str | None) -> Path:
    redis_line = f'url = "{redis_url}"' if redis_url else ""
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [redis]
            {redis_line}
            prefix = "e2e{os.getpid()}"
            [http]
            listen = ""
            [fetch]
            interval = "1s"
            jitter = 0
            allow_private_networks = true
            [rules]
            dirs = ["{Path(__file__).parent / "data" / "e2e-rules"}"]
            [[feeds]]
            name = "wire"
            url = "http://127.0.0.1:{services.port}/feed.xml"
            interval = "1s"
            [[sinks]]
            name = "slack"
            type = "slack"
            webhook_url_env = "E2E_SLACK_URL"
            rate_per_second = 50
            [[sinks]]
            name = "mail"
            type = "email"
            smtp_host = "127.0.0.1"
            smtp_port = {smtp_port}
            sender = "monitor@example.org"
            recipients = ["desk@example.org"]
            [[subscriptions]]
            name = "to-slack"
            channels = ["treaties"]
            sink = "slack"
            [[subscriptions]]
            name = "to-mail"
            channels = ["treaties"]
            sink = "mail"
            """
        )
    )
    return config


def _start(config: Path, services: LocalServices, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "E2E_SLACK_URL": f"http://127.0.0.1:{services.port}/slack/hook",
        "TREATY_MONITOR_LOG__FORMAT": "json",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )


async def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    for _ in range(300):
        if process.poll() is not None:
            return process.returncode
        await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("daemon did not stop within 30 s of SIGTERM")


async def _wait_for(predicate, seconds: float = 30.0) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 10)):
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_new_item_reaches_slack_and_email_once_across_a_restart(
    tmp_path: Path, services: LocalServices, smtp: tuple[Inbox, int], redis_url: str
) -> None:
    """Published item → one Slack post and one email; after a restart nothing is sent again."""
    inbox, smtp_port = smtp
    embedded = redis_url.startswith("unix://")
    config = _config(tmp_path, services, smtp_port, None if embedded else redis_url)
    log = tmp_path / "daemon.log"
    services.items.append(
        ITEM.format(title="Museum opens treaty exhibition", guid="n1", text="Old maps.")
    )
    daemon = _start(config, services, log)
    try:
        await asyncio.sleep(3)  # the first fetch sees only the harmless item
        services.items.append(
            ITEM.format(
                title="United States serves formal notice of withdrawal from INF Treaty",
                guid="w1",
                text="The notice &lt;b&gt;takes effect&lt;/b&gt; in six months.",
            )
        )
        assert await _wait_for(lambda: services.slack_posts and inbox.messages), log.read_text()
        await asyncio.sleep(2)
    finally:
        assert await _stop(daemon) == 0, log.read_text()[-3000:]

    assert len(services.slack_posts) == 1
    assert "formal notice of withdrawal from INF Treaty" in str(services.slack_posts[0])
    assert len(inbox.messages) == 1
    assert "withdrawal from INF Treaty" in inbox.messages[0]["Subject"]

    daemon = _start(config, services, log)
    try:
        await asyncio.sleep(5)  # several fetch cycles over the same feed
    finally:
        assert await _stop(daemon) == 0, log.read_text()[-3000:]
    assert len(services.slack_posts) == 1
    assert len(inbox.messages) == 1

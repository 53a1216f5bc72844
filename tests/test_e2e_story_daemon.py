"""The whole daemon as a subprocess: four outlets (one in Russian) publish one formal withdrawal
notice; a treaties+urgent webhook subscription gets one alert with the deadline, then follow-ups.

Needs the engine to assign stories (the ``events`` branch): until it does, the first webhook
body has no story and the test skips, saying so. It turns on by itself when events land.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.delivery_helpers import HttpReceiver, http_receiver
from tests.test_delivery_e2e_story import DEADLINE, REPORTS

ITEM = """<item><title>{title}</title><link>https://{feed}.example/open-skies</link>
<guid>{feed}-open-skies</guid><pubDate>Fri, 22 May 2020 12:00:00 +0000</pubDate>
<description>{text}</description></item>"""


@pytest.fixture
async def feeds() -> AsyncIterator[int]:
    """One RSS feed per outlet on 127.0.0.1 (``/<outlet>.xml``); yields the port."""
    bodies = {
        feed: ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>'
               f"{feed}</title><link>https://{feed}.example/</link>"
               + ITEM.format(feed=feed, title=title, text=text)
               + "</channel></rss>").encode()
        for feed, _lang, title, text in REPORTS
    }  # fmt: skip

    async def serve(request: web.Request) -> web.Response:
        body = bodies.get(request.match_info["feed"])
        if body is None:
            raise web.HTTPNotFound
        return web.Response(body=body, content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/{feed}.xml", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield runner.addresses[0][1]
    await runner.cleanup()


def _config(tmp_path: Path, port: int, hook: str, repo_root: Path) -> Path:
    feeds = "".join(
        f'\n[[feeds]]\nname = "{feed}"\nurl = "http://127.0.0.1:{port}/{feed}.xml"\n'
        f'interval = "1s"\nlanguage = "{lang}"\n'
        for feed, lang, _title, _text in REPORTS
    )
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [redis]
            prefix = "story{os.getpid()}"
            [http]
            listen = ""
            [fetch]
            interval = "1s"
            jitter = 0
            allow_private_networks = true
            [rules]
            dirs = ["{repo_root / "rules"}"]
            [delivery]
            merge_delay = "2s"
            followup_delay = "2s"
            [[sinks]]
            name = "hook"
            type = "webhook"
            url = "{hook}"
            [[subscriptions]]
            name = "desk"
            channels = ["treaties", "urgent"]
            sink = "hook"
            """
        )
        + feeds
    )
    return config


def _start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "TREATY_MONITOR_LOG__FORMAT": "json"},
        )  # fmt: skip


async def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    for _ in range(300):
        if process.poll() is not None:
            return
        await asyncio.sleep(0.1)
    process.kill()
    raise AssertionError("daemon did not stop within 30 s of SIGTERM")


async def _wait(receiver: HttpReceiver, count: int, seconds: float) -> None:
    for _ in range(int(seconds * 10)):
        if len(receiver.received) >= count:
            return
        await asyncio.sleep(0.1)


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_daemon_sends_one_alert_with_the_deadline_then_followups_for_four_outlets(
    tmp_path: Path, feeds: int, repo_root: Path
) -> None:
    """Fetch → rules → engine (story) → notifier → webhook: one alert, follow-ups only."""
    log = tmp_path / "daemon.log"
    async with http_receiver() as receiver:
        config = _config(tmp_path, feeds, receiver.url, repo_root)
        daemon = _start(config, log)
        try:
            await _wait(receiver, 1, 60)
            assert receiver.received, log.read_text()[-3000:]
            if receiver.received[0].json().get("story") is None:
                pytest.skip("the engine does not assign stories yet (events branch)")
            await _wait(receiver, 2, 30)
            await asyncio.sleep(5)  # anything more would arrive now
        finally:
            await _stop(daemon)
    bodies = [r.json() for r in receiver.received]
    assert bodies[0]["type"] == "alert"
    assert {b["type"] for b in bodies[1:]} == {"followup"}
    assert bodies[0]["due"] == DEADLINE.isoformat()
    assert bodies[0]["alert"]["severity"] == "critical"
    outlets = {bodies[0]["alert"]["entry"]["feed"]}
    outlets |= {s for b in bodies[1:] for s in b["sources"]}
    assert outlets == {feed for feed, *_ in REPORTS}
    assert {b["due"] for b in bodies} == {DEADLINE.isoformat()}

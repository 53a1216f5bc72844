"""The console sink and the optional Apprise sink."""

from __future__ import annotations

import io

import pytest
from pydantic import SecretStr

from monitor.alerts.render import Digest
from monitor.alerts.sinks import Pacer, build_sink
from monitor.alerts.sinks.console import ConsoleSink
from monitor.config import SinkSettings
from monitor.errors import ConfigError, RetryableDelivery
from tests.delivery_helpers import Reply, http_receiver, make_alert


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_console_prints_plain_lines_off_a_terminal() -> None:
    """Redirected output gets no colour codes."""
    out = io.StringIO()
    await ConsoleSink("console", stream=out).send(make_alert("\x1b[31mINF\x1b[0m talks"))
    assert out.getvalue().startswith("[HIGH] inf-talks · INF talks\n")
    assert "\x1b" not in out.getvalue()


async def test_console_shows_every_tag_of_a_combined_alert() -> None:
    """One story that is several developments at once says so in its own line."""
    out = io.StringIO()
    alert = make_alert(tags=("withdrawal", "suspension", "deadline"))
    await ConsoleSink("console", stream=out).send(alert)
    assert "\n  tags:     withdrawal, suspension, deadline\n" in out.getvalue()


async def test_console_colours_only_on_a_terminal() -> None:
    """On a TTY the severity is coloured; `never` turns that off."""
    tty = _Tty()
    await ConsoleSink("console", stream=tty).send(make_alert())
    assert "\x1b[91m" in tty.getvalue()
    plain = _Tty()
    await ConsoleSink("console", colour="never", stream=plain).send(make_alert())
    assert "\x1b" not in plain.getvalue()


async def test_console_digest_lists_alerts() -> None:
    """A digest prints a heading and every alert."""
    out = io.StringIO()
    alerts = (make_alert("First", entry_id="a"), make_alert("Second", entry_id="b"))
    await ConsoleSink("console", stream=out).send_digest(Digest("d", "desk", alerts))
    assert "2 alerts" in out.getvalue()
    assert "Second" in out.getvalue()


def test_build_sink_reads_secrets_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """`webhook_url_env` names the variable holding the secret; an unset one is a config error."""
    monkeypatch.setenv("TM_TEST_SLACK", "http://127.0.0.1:9/hook")
    settings = SinkSettings(name="s", type="slack", webhook_url_env="TM_TEST_SLACK")
    assert build_sink(settings, {}, subscription="x", backoff_max=600.0).name == "s"
    monkeypatch.delenv("TM_TEST_SLACK")
    with pytest.raises(ConfigError, match="unset"):
        build_sink(settings, {}, subscription="x", backoff_max=600.0)


def test_sinks_posting_to_one_webhook_share_a_pacer() -> None:
    """Two sinks with the same webhook URL pace together (Slack's limit is per webhook)."""
    pacers: dict[str, Pacer] = {}
    url = SecretStr("http://127.0.0.1:9/hook")
    build_sink(
        SinkSettings(name="a", type="slack", webhook_url=url),
        pacers,
        subscription="x",
        backoff_max=600.0,
    )
    build_sink(
        SinkSettings(name="b", type="slack", webhook_url=url),
        pacers,
        subscription="y",
        backoff_max=600.0,
    )
    assert len(pacers) == 1
    assert next(iter(pacers.values())).interval == 1.0


# Apprise imports the stdlib's deprecated imghdr module on Python 3.11.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_apprise_sink_notifies_a_local_json_endpoint() -> None:
    """With the optional extra installed, an Apprise json:// URL reaches a local server."""
    pytest.importorskip("apprise")
    async with http_receiver() as server:
        target = server.url.replace("http://", "json://")
        sink = build_sink(SinkSettings(name="ap", type="apprise", url=SecretStr(target)), {},
                          subscription="x", backoff_max=600.0)  # fmt: skip
        await sink.send(make_alert("Apprise <b>check</b>"))
        server.script.append(Reply(500, "no"))
        with pytest.raises(RetryableDelivery):
            await sink.send(make_alert())
        await sink.aclose()
    body = server.received[0].json()
    assert "Apprise <b>check</b>" in body["title"]

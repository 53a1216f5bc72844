"""The Slack sink against a real HTTP server on 127.0.0.1 behaving like an incoming webhook."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from monitor.alerts.render import Digest
from monitor.alerts.sinks import Pacer
from monitor.alerts.sinks.slack import SlackSink
from monitor.errors import PermanentDelivery, RetryableDelivery
from tests.delivery_helpers import Reply, free_port, http_receiver, make_alert

MARKUP = "Deal *void* _now_ ~off~ `rm`"
MARKUP_TOKENS = ("*void*", "_now_", "~off~", "`rm`")


def _text_objects(node: object) -> list[dict[str, object]]:
    """Every Block Kit text object (a dict with type and text) in a payload."""
    if isinstance(node, list):
        return [obj for item in node for obj in _text_objects(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if isinstance(node.get("text"), str) and "type" in node else []
    return own + [obj for value in node.values() for obj in _text_objects(value)]


def _sink(url: str, rate: float = 0.0, timeout: float = 5.0) -> SlackSink:
    return SlackSink("slack", SecretStr(url), pacer=Pacer(rate), timeout=timeout)


async def test_slack_accepts_on_200_ok_and_posts_block_kit() -> None:
    """A 200 `ok` is success; the body is Block Kit JSON with escaped text."""
    async with http_receiver() as server:
        sink = _sink(server.url)
        await sink.send(make_alert("Talks <!channel>", tags=("talks", "violation")))
        await sink.aclose()
    body = server.received[0].json()
    assert body["blocks"][0]["type"] == "section"
    assert "&lt;!channel&gt;" in body["blocks"][0]["text"]["text"]
    fields = [f["text"] for f in body["blocks"][1]["fields"]]
    assert "Tags\ntalks, violation" in fields
    assert server.received[0].headers["Content-Type"].startswith("application/json")


@pytest.mark.parametrize(
    ("reply", "kind", "retry_after"),
    [
        (Reply(429, "rate_limited", {"Retry-After": "3"}), RetryableDelivery, 3.0),
        (Reply(429, "rate_limited"), RetryableDelivery, None),
        (Reply(400, "invalid_payload"), PermanentDelivery, None),
        (Reply(403, "action_prohibited"), PermanentDelivery, None),
        (Reply(404, "no_service"), PermanentDelivery, None),
        (Reply(410, "channel_is_archived"), PermanentDelivery, None),
        (Reply(500, "rollup_error"), RetryableDelivery, None),
        (Reply(503, "service unavailable"), RetryableDelivery, None),
        (Reply(200, "invalid_token"), PermanentDelivery, None),
        (Reply(302, "", {"Location": "https://elsewhere.example/"}), PermanentDelivery, None),
    ],
)
async def test_slack_statuses_map_to_retry_or_dead_letter(
    reply: Reply, kind: type[Exception], retry_after: float | None
) -> None:
    """Each reply Slack documents raises the right class, with Retry-After when given."""
    async with http_receiver() as server:
        server.script.append(reply)
        sink = _sink(server.url)
        with pytest.raises(kind) as info:
            await sink.send(make_alert())
        await sink.aclose()
    if isinstance(info.value, RetryableDelivery):
        assert info.value.retry_after == retry_after
    assert str(reply.status) in str(info.value) or reply.status == 200


async def test_slack_refused_connection_and_timeout_are_retryable() -> None:
    """Nobody listening, or a server too slow, is a transient failure."""
    sink = _sink(f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(RetryableDelivery, match="cannot connect"):
        await sink.send(make_alert())
    await sink.aclose()
    async with http_receiver() as server:
        server.script.append(Reply(delay=1.0))
        slow = _sink(server.url, timeout=0.2)
        with pytest.raises(RetryableDelivery, match="timed out"):
            await slow.send(make_alert())
        await slow.aclose()


async def test_slack_pacer_spaces_a_burst_without_dropping() -> None:
    """Five messages at 20/s take at least 0.2 s and all arrive."""
    async with http_receiver() as server:
        sink = _sink(server.url, rate=20.0)
        started = time.monotonic()
        for i in range(5):
            await sink.send(make_alert(entry_id=f"e{i}"))
        elapsed = time.monotonic() - started
        await sink.aclose()
    assert len(server.received) == 5
    assert elapsed >= 0.2
    # Arrival times carry transit jitter; their spread still shows the spacing.
    assert server.received[-1].at - server.received[0].at >= 0.15


async def test_slack_429_slows_the_shared_pacer() -> None:
    """After a 429 with Retry-After, the next post waits at least that long."""
    async with http_receiver() as server:
        server.script.append(Reply(429, "rate_limited", {"Retry-After": "0.3"}))
        sink = _sink(server.url, rate=100.0)
        with pytest.raises(RetryableDelivery):
            await sink.send(make_alert())
        started = time.monotonic()
        await sink.send(make_alert())
        await sink.aclose()
    assert time.monotonic() - started >= 0.25


async def test_slack_webhook_url_never_appears_in_errors_or_logs() -> None:
    """The webhook URL is a secret: not in exception text, not in any log event."""
    url = f"http://127.0.0.1:{free_port()}/services/T1/B1/supersecret"
    with capture_logs() as logs:
        sink = _sink(url)
        with pytest.raises(RetryableDelivery) as info:
            await sink.send(make_alert())
        await sink.aclose()
    assert "supersecret" not in str(info.value)
    assert "supersecret" not in repr(logs)


async def test_formatting_characters_in_feed_text_reach_slack_unformatted() -> None:
    """`*`, `_`, `~` and backticks from a feed are plain text in what Slack receives."""
    alert = make_alert(MARKUP, summary=f"Summary: {MARKUP}", tags=("*t*",), terms=("_m_",))
    async with http_receiver() as server:
        sink = _sink(server.url)
        await sink.send(alert)
        await sink.aclose()
    body = server.received[0].json()
    objects = _text_objects(body["blocks"])
    plain = [str(o["text"]) for o in objects if o["type"] == "plain_text"]
    mrkdwn = [str(o["text"]) for o in objects if o["type"] == "mrkdwn"]
    assert f"Summary: {MARKUP}" in plain
    assert "Tags\n*t*" in plain
    assert "Matched\n_m_" in plain
    for text in mrkdwn:
        assert not any(token in text for token in MARKUP_TOKENS)
    assert "Deal ∗void∗ ˍnowˍ ∼off∼ ˋrmˋ" in mrkdwn[0]
    assert body["mrkdwn"] is False
    assert not any(token in body["text"] for token in MARKUP_TOKENS)


async def test_digest_titles_with_formatting_characters_reach_slack_unformatted() -> None:
    """A digest's linked titles show feed text literally, with mentions still escaped."""
    alerts = (
        make_alert(MARKUP, entry_id="a"),
        make_alert(f"{MARKUP} <!here>", link="", entry_id="b"),
    )
    async with http_receiver() as server:
        sink = _sink(server.url)
        await sink.send_digest(Digest("d1", "desk", alerts))
        await sink.aclose()
    body = server.received[0].json()
    texts = [str(o["text"]) for o in _text_objects(body["blocks"])]
    assert len(texts) == 3
    for text in texts:
        assert not any(token in text for token in MARKUP_TOKENS)
        assert "<!here>" not in text
    assert "|Deal ∗void∗ ˍnowˍ ∼off∼ ˋrmˋ>" in texts[1]
    assert "&lt;!here&gt;" in texts[2]


async def test_slack_429_with_a_huge_retry_after_holds_the_pacer_at_most_backoff_max() -> None:
    """`Retry-After: 1e9` defers the shared pacer by delivery.backoff_max, not 10⁹ s."""
    pacer = Pacer(1.0, clock=lambda: 1000.0, max_defer=600.0)
    async with http_receiver() as server:
        server.script.append(Reply(429, "rate_limited", {"Retry-After": "1e9"}))
        sink = SlackSink("slack", SecretStr(server.url), pacer=pacer, timeout=5.0)
        with pytest.raises(RetryableDelivery) as info:
            await sink.send(make_alert())
        await sink.aclose()
    assert info.value.retry_after == 600.0
    assert pacer.delay() == 600.0


async def test_escaping_cannot_push_a_text_object_past_slacks_limits() -> None:
    """Titles, links and terms full of `&` still fit Slack's 3000/2000-character limits."""
    link = "https://example.org/?" + "a=1&" * 500
    alert = make_alert("&" * 300, link=link, summary="<" * 600, terms=("&" * 80,) * 40)
    async with http_receiver() as server:
        sink = _sink(server.url)
        await sink.send(alert)
        await sink.send_digest(Digest("d1", "desk", (alert,)))
        await sink.aclose()
    for received in server.received:
        body = received.json()
        assert len(body["text"]) <= 3000
        for block in body["blocks"]:
            for obj in _text_objects(block.get("fields", [])):
                assert len(str(obj["text"])) <= 2000
            for obj in _text_objects([block.get("text"), *block.get("elements", [])]):
                assert len(str(obj["text"])) <= 3000
    first = server.received[0].json()["blocks"][0]["text"]["text"]
    assert first.endswith("*" + "&amp;" * 300 + "*")

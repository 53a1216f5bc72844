"""The generic webhook sink: documented JSON, HMAC signature verified by a real receiver."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from monitor.alerts.render import Digest
from monitor.alerts.sinks import Pacer
from monitor.alerts.sinks.webhook import WebhookSink, signature
from monitor.errors import PermanentDelivery, RetryableDelivery
from tests.delivery_helpers import Reply, http_receiver, make_alert

SECRET = b"hmac-s3cret-value"


def _sink(url: str, secret: bytes | None = SECRET) -> WebhookSink:
    return WebhookSink(
        "hook", SecretStr(url), secret=SecretStr(secret.decode()) if secret else None,
        pacer=Pacer(0), timeout=5.0, subscription="desk",
    )  # fmt: skip


async def test_webhook_body_is_signed_with_hmac_sha256_over_the_exact_bytes() -> None:
    """The receiver recomputes the signature from the raw body and the shared secret."""
    async with http_receiver(hmac_secret=SECRET) as server:
        sink = _sink(server.url)
        alert = make_alert()
        await sink.send(alert)
        await sink.aclose()
    assert server.bad_signatures == 0
    got = server.received[0]
    assert got.headers["X-Treaty-Monitor-Delivery"] == alert.id
    want = "sha256=" + hmac.new(SECRET, got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Treaty-Monitor-Signature"] == want
    body = got.json()
    assert body["schema"] == "treaty-monitor.alert/1"
    assert body["type"] == "alert"
    assert body["alert"]["id"] == alert.id


async def test_webhook_with_the_wrong_secret_is_rejected_permanently() -> None:
    """A receiver refusing the signature (401) makes the delivery a dead letter."""
    async with http_receiver(hmac_secret=SECRET) as server:
        sink = _sink(server.url, secret=b"wrong")
        with pytest.raises(PermanentDelivery, match="401"):
            await sink.send(make_alert())
        await sink.aclose()
    assert server.bad_signatures == 1


def test_signature_is_stable_and_secret_dependent() -> None:
    """Same body and secret → same header; another secret → another header."""
    assert signature(b"k", b"{}") == signature(b"k", b"{}")
    assert signature(b"k", b"{}") != signature(b"j", b"{}")
    assert signature(b"k", b"{}").startswith("sha256=")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, PermanentDelivery), (401, PermanentDelivery), (403, PermanentDelivery),
        (404, PermanentDelivery), (410, PermanentDelivery), (422, PermanentDelivery),
        (408, RetryableDelivery), (429, RetryableDelivery), (500, RetryableDelivery),
        (502, RetryableDelivery), (503, RetryableDelivery), (504, RetryableDelivery),
    ],
)  # fmt: skip
async def test_webhook_statuses_map_to_retry_or_dead_letter(
    status: int, kind: type[Exception]
) -> None:
    """Every relevant status is classified: 408/429/5xx retry, other 4xx dead letter."""
    async with http_receiver() as server:
        server.script.append(Reply(status, "nope"))
        sink = _sink(server.url, secret=None)
        with pytest.raises(kind):
            await sink.send(make_alert())
        await sink.aclose()


async def test_webhook_digest_carries_every_alert() -> None:
    """A digest is one signed POST listing the alerts."""
    async with http_receiver(hmac_secret=SECRET) as server:
        sink = _sink(server.url)
        alerts = (make_alert(entry_id="a"), make_alert(entry_id="b"))
        await sink.send_digest(Digest("digest-1", "desk", alerts))
        await sink.aclose()
    body = server.received[0].json()
    assert body["type"] == "digest"
    assert [a["id"] for a in body["alerts"]] == [a.id for a in alerts]
    assert server.received[0].headers["X-Treaty-Monitor-Delivery"] == "digest-1"


async def test_webhook_secrets_never_reach_logs() -> None:
    """Neither the HMAC secret nor the URL's token appears in logs of a failing delivery."""
    async with http_receiver() as server:
        server.script.append(Reply(500, "boom"))
        with capture_logs() as logs:
            sink = _sink(server.url)
            with pytest.raises(RetryableDelivery) as info:
                await sink.send(make_alert())
            await sink.aclose()
    for leak in ("hmac-s3cret-value", "s3cr3tt0ken"):
        assert leak not in repr(logs)
        assert leak not in str(info.value)

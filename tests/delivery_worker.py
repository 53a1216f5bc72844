"""A notifier process for the crash tests: ``python -m tests.delivery_worker REDIS PREFIX URL``.

URL is a webhook, or ``smtp://127.0.0.1:PORT`` for an email sink to ``--recipients a,b``. With
``--die-at STAGE:ALERT_ID`` it SIGKILLs itself at that checkpoint ("sent": the sink accepted, no
marker yet; "marked": marker written, not yet acknowledged).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from pydantic import SecretStr

from monitor.alerts.notifier import Notifier
from monitor.alerts.recipients import RedisRecipients
from monitor.alerts.sinks import build_sink
from monitor.config import DeliverySettings, SinkSettings, SubscriptionSettings
from monitor.connections import client_from_url
from monitor.streams import Keys

DELIVERY = DeliverySettings(
    max_attempts=50, backoff_base=0.05, backoff_max=0.5, claim_idle=1.0, group_window=0,
    shutdown_grace=1.0,
)  # fmt: skip
SUBSCRIPTION = SubscriptionSettings(name="desk", channels=("arms-control",), sink="hook")


async def _main(args: argparse.Namespace) -> None:
    client = client_from_url(args.redis)
    keys = Keys(args.prefix)
    if args.url.startswith("smtp://"):
        host, _, port = args.url.removeprefix("smtp://").rpartition(":")
        sink_settings = SinkSettings(name="hook", type="email", smtp_host=host,
                                     smtp_port=int(port), timeout=5.0,
                                     recipients=tuple(args.recipients.split(",")))  # fmt: skip
    else:
        sink_settings = SinkSettings(name="hook", type="webhook", url=SecretStr(args.url),
                                     rate_per_second=100_000, timeout=5.0)  # fmt: skip
    recipients = RedisRecipients(client, keys, "desk", ttl=DELIVERY.delivered_ttl)
    stage, _, target = (args.die_at or "::").partition(":")

    def checkpoint(at: str, alert_id: str) -> None:
        if at == stage and alert_id == target:
            os.kill(os.getpid(), signal.SIGKILL)

    sink = build_sink(sink_settings, {}, subscription="desk", backoff_max=DELIVERY.backoff_max,
                      recipients=recipients)  # fmt: skip
    notifier = Notifier(
        SUBSCRIPTION, sink, client, keys, DELIVERY, consumer=args.consumer, checkpoint=checkpoint,
    )  # fmt: skip
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await notifier.run(stop)
    await client.aclose()


def main() -> None:
    """Parse arguments and run one notifier until SIGTERM (or a planned SIGKILL)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("redis")
    parser.add_argument("prefix")
    parser.add_argument("url")
    parser.add_argument("--consumer", default="worker")
    parser.add_argument("--die-at", default="")
    parser.add_argument("--recipients", default="")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())

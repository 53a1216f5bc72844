"""How long a subscription created through the store takes to deliver its first alert.

An embedded redis-server, a supervisor with the default poll (``delivery.subscriptions_poll``),
a webhook sink to a loopback receiver. Each round creates a subscription (at a random phase of
the poll), publishes an alert on its channel once its group exists, and times create → notifier
running and create → delivered; then deletes it and times delete → notifier stopped.

    .venv/bin/python benchmarks/subscription_pickup.py [--rounds 5] [--poll 3]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import web
from pydantic import SecretStr

from monitor.alerts.subscriptions import SubscriptionStore
from monitor.alerts.supervisor import SubscriptionSupervisor
from monitor.config import DeliverySettings, Settings, SinkSettings, SubscriptionSettings
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.streams import Keys, subscription_group
from tests.delivery_helpers import make_alert, publish


async def _until(check: object, within: float = 30.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        result = check() if callable(check) else check
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return time.monotonic()
        await asyncio.sleep(0.01)
    raise SystemExit("timed out")


async def main(rounds: int, poll: float) -> None:
    """Run the rounds and print create → running, create → delivered, delete → stopped."""
    received: list[float] = []

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        received.append(time.monotonic())
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        client = client_from_url(server.url)
        keys = Keys("bench")
        settings = Settings(
            sinks=(SinkSettings(name="hook", type="webhook", url=SecretStr(url)),),
            delivery=DeliverySettings(merge_delay=0, group_window=0, subscriptions_poll=poll),
        )
        store, stop = SubscriptionStore(client, keys), asyncio.Event()
        supervisor = SubscriptionSupervisor(settings, client, keys, consumer="bench")
        task = asyncio.create_task(supervisor.run(stop))
        running, delivered, stopped = [], [], []
        try:
            for number in range(rounds):
                name, channel = f"s{number}", f"c{number}"
                sub = SubscriptionSettings(name=name, channels=(channel,), sink="hook")
                await asyncio.sleep(random.uniform(0, poll))  # any phase of the poll cycle
                start = time.monotonic()
                await store.add(sub)
                running.append(await _until(lambda n=name: n in supervisor.running) - start)
                stream, group = keys.alerts(channel), subscription_group(name)

                async def has_group(s: str = stream, g: str = group) -> bool:
                    if not await client.exists(s):
                        return False
                    return any(x["name"] == g for x in await client.xinfo_groups(s))

                await _until(has_group)
                count = len(received)
                await publish(client, keys, make_alert(channel=channel, entry_id=f"b:{number}"))
                delivered.append(await _until(lambda c=count: len(received) > c) - start)
                await asyncio.sleep(random.uniform(0, poll))
                start = time.monotonic()
                await store.remove(name)
                stopped.append(await _until(lambda n=name: n not in supervisor.running) - start)
        finally:
            stop.set()
            await task
            await client.aclose()
            server.stop()
            await runner.cleanup()
    for label, values in (("create → running", running), ("create → delivered", delivered),
                          ("delete → stopped", stopped)):  # fmt: skip
        print(f"{label:20} median {statistics.median(values):.2f} s, max {max(values):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.poll))

"""Story threads under contention: copies of stories recorded by several notifiers at once.

Each "notifier" (its own Redis connection) records copies of the same stories through
:meth:`ThreadBook.arrive` (WATCH/MULTI, retried on conflict) and acknowledges a stream message
with each. Prints copies/s, WATCH conflicts retried, and checks that every story ends with all
its outlets counted once (nothing lost to a race).

Run: ``.venv/bin/python benchmarks/story_threads.py [--notifiers 4] [--stories 50] [--outlets 8]``
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from monitor.alerts.alert import Alert
from monitor.alerts.threadbook import ThreadBook
from monitor.connections import EmbeddedRedis, client_from_url
from monitor.feeds.entry import Entry
from monitor.rules.match import Severity
from monitor.streams import Keys

KEYS = Keys("bench")


def _copy(story: int, outlet: int, channel: str) -> Alert:
    entry = Entry(id=f"o{outlet}:{story}", feed=f"outlet{outlet}", feed_url="https://b.example/f",
                  guid=str(story), title=f"Story {story}", link="https://b.example/x")  # fmt: skip
    alert = Alert(id=f"{story}-{outlet}-{channel}", channel=channel, rule_id=channel,
                  rule_title=channel, severity=Severity.HIGH, tags=(), entry=entry,
                  spans=())  # fmt: skip
    return replace(alert, story=f"s{story}")


async def _main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            await _run(server.url, args)
        finally:
            server.stop()


async def _run(url: str, args: argparse.Namespace) -> None:
    copies = [_copy(s, o, ch) for s in range(args.stories) for o in range(args.outlets)
              for ch in ("treaties", "urgent")]  # fmt: skip
    clients = [client_from_url(url) for _ in range(args.notifiers)]
    stream = KEYS.alerts("bench")
    await clients[0].xgroup_create(stream, "sub:desk", id="0", mkstream=True)
    ids = [await clients[0].xadd(stream, {"n": str(i)}) for i in range(len(copies))]
    await clients[0].xreadgroup("sub:desk", "c", {stream: ">"}, count=len(copies))
    books = [ThreadBook(c, KEYS, "desk", hold=3.0, followup_delay=300.0, keep=3600.0)
             for c in clients]  # fmt: skip
    started = time.perf_counter()

    async def worker(n: int) -> None:
        for i in range(n, len(copies), args.notifiers):
            await books[n].arrive(copies[i], 1000.0, (stream, "sub:desk", ids[i]))

    await asyncio.gather(*(worker(n) for n in range(args.notifiers)))
    elapsed = time.perf_counter() - started
    conflicts = sum(book.conflicts for book in books)
    lost = 0
    for s in range(args.stories):
        thread = await books[0].load(f"s{s}")
        lost += args.outlets - (len(thread.outlets) if thread else 0)
    pending = (await clients[0].xpending(stream, "sub:desk"))["pending"]
    print(f"{len(copies)} copies of {args.stories} stories by {args.notifiers} notifiers: "
          f"{len(copies) / elapsed:,.0f} copies/s, {conflicts} WATCH conflicts retried, "
          f"outlets lost {lost}, messages left pending {pending}")  # fmt: skip
    for client in clients:
        await client.aclose()


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--notifiers", type=int, default=4)
    parser.add_argument("--stories", type=int, default=50)
    parser.add_argument("--outlets", type=int, default=8)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()

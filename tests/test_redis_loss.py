"""Redis loses acknowledged writes: the pipeline re-does the work, no alert is lost.

Redis with ``appendfsync everysec`` acknowledges writes up to a second before they reach the
disk; an OS crash loses that tail of the AOF. Simulated here: the daemon runs the whole pipeline
against a real redis-server (AOF on), the server is SIGKILLed, its AOF is cut back to what it
held earlier (all or half of the writes since are lost), and it is restarted under the running
daemon. Every alert must still reach the sink; duplicates are counted and printed.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from monitor.connections import EmbeddedRedis
from tests.ops_procs import MATCHING, NOT_MATCHING, Daemon, webhook_sink, write_config
from tests.ops_servers import FeedServer, Receiver, wait_for

pytestmark = pytest.mark.slow

FEEDS = 6


@pytest.fixture
async def servers() -> AsyncIterator[tuple[FeedServer, Receiver]]:
    """A feed server and a webhook receiver on 127.0.0.1."""
    feeds, receiver = FeedServer(keep=50), Receiver()
    await feeds.start()
    await receiver.start()
    yield feeds, receiver
    await feeds.stop()
    await receiver.stop()


def publish(feeds: FeedServer, names: list[str], rnd: int, per_feed: int = 3) -> list[str]:
    """``per_feed`` matching and as many non-matching items per feed; the matching tokens."""
    tokens = []
    for name in names:
        for i in range(per_feed):
            n = rnd * 100 + 2 * i
            tokens.append(feeds.add(name, n, MATCHING.format(n=n, feed=name)))
            feeds.add(name, n + 1, NOT_MATCHING.format(n=n, feed=name))
    return tokens


def crash_and_cut(server: EmbeddedRedis, aof: Path, mark: int, kept: float) -> int:
    """SIGKILL redis-server, cut its AOF back to ``mark`` plus ``kept`` of what followed, start
    it again; the number of bytes cut."""
    keeper = server.process
    assert keeper is not None
    os.kill(server.server_pid(), signal.SIGKILL)
    keeper.wait()
    size = aof.stat().st_size
    keep = mark + int((size - mark) * kept)
    os.truncate(aof, keep)
    server.start()
    return size - keep


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kept", [0.0, 0.5])
async def test_redis_losing_its_last_writes_loses_no_alert(
    tmp_path: Path, servers: tuple[FeedServer, Receiver], kept: float
) -> None:
    """AOF tail cut after a crash (all, or half, of the writes since a point): every alert still
    arrives; duplicates are only re-deliveries of alerts whose delivery record was cut."""
    feeds, receiver = servers
    server = EmbeddedRedis(tmp_path / "redis")
    await asyncio.to_thread(server.start)
    aof = tmp_path / "redis" / "appendonly.aof"
    names = [f"loss-{i}" for i in range(FEEDS)]
    config = write_config(
        tmp_path, redis_url=server.url, prefix="loss",
        feeds={name: feeds.url(name) for name in names},
        sinks=[webhook_sink("hook", receiver.url("hook", "a"))], interval=1.0, claim_idle=2.0,
    )  # fmt: skip
    daemon = Daemon("all", config, tmp_path, "daemon")
    expected: list[str] = publish(feeds, names, 0)

    def delivered() -> bool:
        return set(expected) <= set(receiver.accepted["hook/a"])

    try:
        daemon.start()
        await daemon.wait_ready(90)
        assert await wait_for(delivered, 60), daemon.log_tail()
        await asyncio.sleep(1.5)  # everything so far is on disk (everysec)
        mark = await asyncio.to_thread(os.path.getsize, aof)
        after_mark = publish(feeds, names, 1)
        expected += after_mark
        assert await wait_for(delivered, 60), daemon.log_tail()
        before = sum(receiver.accepted["hook/a"].values())
        cut = await asyncio.to_thread(crash_and_cut, server, aof, mark, kept)
        expected += publish(feeds, names, 2)
        assert await wait_for(delivered, 120), daemon.log_tail()
        await asyncio.sleep(5)  # let any re-delivery arrive before counting
        code = await daemon.astop()
    finally:
        daemon.kill()
        await asyncio.to_thread(server.stop)

    counts = receiver.accepted["hook/a"]
    duplicates = sum(n - 1 for n in counts.values())
    print(f"redis loss: cut {cut} AOF bytes (kept {kept:.0%} of the tail), {len(expected)} alerts,"
          f" {before} delivered before the crash, {duplicates} duplicates")  # fmt: skip
    assert code == 0, daemon.log_tail()
    assert set(counts) == set(expected)
    # Only alerts delivered after the mark can come again (their delivery records were cut),
    # and each at most once more.
    doubled = {token: n for token, n in counts.items() if n > 1}
    assert set(doubled) <= set(after_mark), doubled
    assert max(doubled.values(), default=2) == 2, doubled

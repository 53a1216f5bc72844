"""Rule reloads against a running daemon: how long ``/healthz`` stalls, and resident memory.

Starts ``python -m monitor run --role engine`` (embedded Redis, rule watching off), polls
``/healthz`` every 5 ms, and sends SIGHUP: first a few times with the shipped pack (compiled
again, unchanged), then with a generated rule file of ``--terms`` terms (a new version each
time), then once more after the generated file is removed. Prints the max ``/healthz`` latency
seen during each reload, and the process's resident memory after each one.

    .venv/bin/python benchmarks/reload_stall.py [--terms 50000] [--pack-reloads 3] [--reloads 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
_SYLLABLES = [c + v for c in "bcdfghjklmnprstvz" for v in "aeiou"]


def big_rule_file(terms: int, seed: int) -> str:
    """One vocabulary of ``terms`` pseudo-words and phrases (a few with word forms), one rule."""
    rnd = random.Random(seed)
    found: set[str] = set()
    while len(found) < terms:
        word = "".join(rnd.choice(_SYLLABLES) for _ in range(rnd.randint(3, 5)))
        kind = len(found) % 10
        found.add(f"{word}*" if kind == 0 else f"{word} treaty" if kind == 1 else word)
    lines = ["version: 1", "vocabularies:", "  big:"]
    lines += [f'    - "{term}"' for term in sorted(found)]
    lines += [
        "rules:",
        "  - id: big",
        "    title: Generated",
        "    severity: low",
        "    channels: [bench]",
        "    match: {any: [$big]}",
    ]
    return "\n".join(lines) + "\n"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident set size of ``pid`` in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kb) / 1024


class Probe:
    """Polls ``/healthz`` and keeps the latency of every answer with its send time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.samples: list[tuple[float, float]] = []
        self.stop = asyncio.Event()

    async def run(self) -> None:
        """Poll until stopped."""
        async with aiohttp.ClientSession() as session:
            while not self.stop.is_set():
                sent = time.monotonic()
                try:
                    async with session.get(self.url) as response:
                        await response.read()
                except aiohttp.ClientError:
                    pass
                self.samples.append((sent, time.monotonic() - sent))
                await asyncio.sleep(0.005)

    def worst(self, since: float, until: float) -> float:
        """The longest answer among requests that overlapped ``[since, until]``."""
        return max(
            (lat for sent, lat in self.samples if sent <= until and sent + lat >= since),
            default=0.0,
        )


# One of these ends every reload.
FINISHED = {"rules_reloaded", "rules_reload_unchanged", "rules_reload_recovered",
            "rules_reload_failed"}  # fmt: skip


def reloads_done(log: Path) -> int:
    """How many reloads the daemon has finished, from its JSON log."""
    count = 0
    for line in log.read_text(errors="replace").splitlines():
        try:
            event = json.loads(line).get("event")
        except ValueError:
            continue
        count += event in FINISHED
    return count


async def reload_once(
    proc: asyncio.subprocess.Process, probe: Probe, log: Path, fallback: float
) -> tuple[float, float]:
    """SIGHUP, wait until the reload is logged as finished; (worst /healthz latency, seconds)."""
    before = reloads_done(log)
    start = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    # A daemon that logs no end of reload (older versions) gets ``fallback`` seconds.
    for _ in range(int(fallback / 0.05)):
        if reloads_done(log) != before:
            break
        await asyncio.sleep(0.05)
    took = time.monotonic() - start
    await asyncio.sleep(0.2)
    return probe.worst(start, time.monotonic()), took


def tail(log: Path) -> str:
    """The end of the daemon's log."""
    return log.read_text(errors="replace")[-3000:]


async def wait_ready(url: str, proc: asyncio.subprocess.Process, log: Path) -> None:
    """Until ``/readyz`` answers 200."""
    async with aiohttp.ClientSession() as session:
        for _ in range(1200):
            if proc.returncode is not None:
                raise SystemExit(f"daemon exited during start:\n{tail(log)}")
            try:
                async with session.get(url + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit("daemon not ready")


async def main(args: argparse.Namespace) -> None:
    """Run the scenario and print the numbers."""
    work = Path(tempfile.mkdtemp(prefix="reload-stall-"))
    rules = work / "rules"
    shutil.copytree(ROOT / "rules", rules)
    config = work / "config.toml"
    config.write_text(
        f'state_dir = "{work / "state"}"\n[rules]\ndirs = ["{rules}"]\nwatch = false\n'
    )
    port = free_port()
    env = {**os.environ, "TREATY_MONITOR_HTTP__LISTEN": f"127.0.0.1:{port}"}
    log = work / "daemon.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "--role", "engine", "--config", str(config),
            "--log-format", "json", stdout=out, stderr=out, env=env, cwd=ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    probe = Probe(url + "/healthz")
    polling = asyncio.create_task(probe.run())
    try:
        await wait_ready(url, proc, log)
        await asyncio.sleep(0.5)
        print(f"started: rss {rss_mb(proc.pid):.0f} MB")
        for n in range(args.pack_reloads):
            worst, took = await reload_once(proc, probe, log, 5.0)
            print(f"shipped pack reload {n + 1}: max /healthz {worst * 1000:.0f} ms "
                  f"(reload {took:.2f} s), rss {rss_mb(proc.pid):.0f} MB")  # fmt: skip
        big = rules / "generated.yaml"
        for n in range(args.reloads):
            big.write_text(big_rule_file(args.terms, seed=n))
            worst, took = await reload_once(proc, probe, log, 60.0)
            print(f"{args.terms}-term reload {n + 1}: max /healthz {worst * 1000:.0f} ms "
                  f"(reload {took:.2f} s), rss {rss_mb(proc.pid):.0f} MB")  # fmt: skip
        big.unlink()
        worst, took = await reload_once(proc, probe, log, 60.0)
        await asyncio.sleep(1.0)
        print(f"generated file removed, reloaded: max /healthz {worst * 1000:.0f} ms, "
              f"rss {rss_mb(proc.pid):.0f} MB")  # fmt: skip
    finally:
        probe.stop.set()
        await polling
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=50_000)
    parser.add_argument("--pack-reloads", type=int, default=3)
    parser.add_argument("--reloads", type=int, default=4)
    asyncio.run(main(parser.parse_args()))

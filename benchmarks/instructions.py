"""Instructions, not seconds: match, event extraction and the engine with Redis under callgrind.

On a shared machine CPU time swings twofold between identical runs; the instructions a piece of
work executes do not (two runs agree to 0.1 %). This script runs itself under valgrind's
callgrind with instrumentation off (loading the pack costs nothing), switches it on around one
piece of work with ``callgrind_control`` and prints the instructions it took:

- ``match``: ``RuleSet.match`` over the first ``--entries`` corpus entries of
  engine_throughput.py (warm: every pattern compiled before);
- ``events``: the event of each alerting entry, the follow-up reading of each quiet one;
- ``engine``: the engine role draining the entries from the embedded Redis (this process only;
  redis-server is not counted).

Compare two commits with ``--root`` pointing at the other one's worktree (its code and pack
run; the interpreter is this one's). Needs valgrind; a minute or two per piece.

    .venv/bin/python benchmarks/instructions.py [--entries 600] [--root DIR] [match events engine]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIECES = ("match", "events", "engine")


def _control(*args: str) -> None:
    """Ask callgrind (this process runs under it) to do something, and wait until it has."""
    command = ["callgrind_control", *args, str(os.getpid())]
    answer = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while answer.poll() is None:
        time.sleep(0.005)  # callgrind serves the request while this process runs


def _measured(work: object) -> None:
    """Instrument ``work()`` alone: zero before, dump after."""
    _control("-i", "on")
    _control("-z")
    work()  # type: ignore[operator]
    _control("-d")
    _control("-i", "off")


def _inside(piece: str, count: int, root: Path) -> None:
    """The side running under callgrind: load ``root``'s code and pack, warm, measure ``piece``."""
    sys.path.insert(0, str(root))
    from benchmarks.engine_throughput import corpus_entries
    from monitor.events.actors import load_actors
    from monitor.events.extract import extractor_for
    from monitor.rules.loader import load_rule_set

    rule_set = load_rule_set([root / "rules"])
    entries = corpus_entries(count)
    read = [(entry, rule_set.match(entry)) for entry in entries]
    if piece == "match":
        _measured(lambda: [rule_set.match(entry) for entry in entries])
    elif piece == "events":
        extractor = extractor_for(rule_set, load_actors())
        for entry, matches in read[:50]:
            extractor.event(entry, matches) if matches else extractor.source(entry)
        _measured(
            lambda: [
                extractor.event(entry, matches) if matches else extractor.source(entry)
                for entry, matches in read
            ]
        )
    else:
        asyncio.run(_engine(rule_set, entries))


async def _engine(rule_set: object, entries: list) -> None:  # type: ignore[type-arg]
    """Fill the stream, then drain it with one engine, instrumented."""
    from monitor.connections import EmbeddedRedis, client_from_url
    from monitor.engine import Engine
    from monitor.logs import configure_logging
    from monitor.observe import stream_groups
    from monitor.streams import ENGINE_GROUP, Keys

    configure_logging("console", "warning")
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp))
        server.start()
        try:
            client = client_from_url(server.url)
            for name, batch, measure in (("warm", entries[:100], False), ("bench", entries, True)):
                keys = Keys(name)
                async with client.pipeline(transaction=False) as pipe:
                    for entry in batch:
                        fields = {"entry": entry.to_json(), "feed": entry.feed, "id": entry.id}
                        pipe.xadd(keys.entries, fields)
                    await pipe.execute()
                engine = Engine(client, keys, lambda: rule_set, consumer="bench")  # type: ignore[arg-type,return-value]
                stop = asyncio.Event()
                if measure:
                    _control("-i", "on")
                    _control("-z")
                task = asyncio.create_task(engine.run(stop))
                while True:
                    await asyncio.sleep(0.05)
                    groups = await stream_groups(client, keys.entries)
                    if any(
                        g.group == ENGINE_GROUP and g.lag == 0 and g.pending == 0 for g in groups
                    ):
                        break
                stop.set()
                await task
                if measure:
                    _control("-d")
                    _control("-i", "off")
                await client.flushdb()
            await client.aclose()
        finally:
            server.stop()


def _run(piece: str, count: int, root: Path) -> int | None:
    """Instructions of one piece (a child process under callgrind), or None when it failed."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", "--instr-atstart=no", "--vgdb=yes",
            f"--callgrind-out-file={out}", sys.executable, str(Path(__file__).resolve()),
            "--inside", piece, "--entries", str(count), "--root", str(root),
        ]  # fmt: skip
        subprocess.run(command, capture_output=True, check=False, cwd=root)
        dumped = Path(f"{out}.1")
        if not dumped.exists():
            return None
        for line in dumped.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("summary:"):
                return int(line.split()[1])
    return None


def main() -> None:
    """Print instructions per piece and per entry."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pieces", nargs="*", help=f"of {', '.join(PIECES)} (default: all)")
    parser.add_argument("--entries", type=int, default=600)
    parser.add_argument("--root", type=Path, default=ROOT, help="the worktree to measure")
    parser.add_argument("--inside", choices=PIECES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.pieces) - set(PIECES):
        parser.error(f"unknown pieces: {', '.join(sorted(unknown))}")
    if args.inside:
        _inside(args.inside, args.entries, args.root.resolve())
        return
    for piece in args.pieces or PIECES:
        total = _run(piece, args.entries, args.root.resolve())
        if total is None:
            print(f"{piece:>7}: failed (is valgrind installed?)", flush=True)
            continue
        per_entry = total / args.entries / 1e6
        print(f"{piece:>7}: {total / 1e6:9,.1f} M instructions, {per_entry:6.2f} M per entry "
              f"({args.entries} entries, {args.root.resolve()})", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()

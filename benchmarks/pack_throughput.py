"""The shipped pack at the speed of the scan: ``match`` against its anchors, in one run.

Prints, for the shipped rules:

1. ``RuleSet.match`` µs/entry and entries/s on one core (CPU time), and its straightforward
   reference path (``match(reference=True)``), for the labelled corpus items
   (title + summary, ~230 chars), the same items with ~3 KB of treaty-dense article text, and with
   ~3 KB of mixed-language text (English, Russian, French, German, Spanish);
2. anchors on the same entries: one hyperscan scan of every pack term's full pattern with
   start-of-match (SOM) per entry, and the naive loop running one Python ``re`` per term;
3. ``treaty-monitor match`` (a subprocess, start-up included) over a file of 2,000 treaty-dense
   3 KB entries against feedparser's parse of the same file;
4. the engine with Redis (embedded server): entries/s from the entries stream to alerts.

Load on a shared machine moves absolute numbers; compare the ratios to the anchors.

    .venv/bin/python benchmarks/pack_throughput.py [--seconds 1.5] [--engine-entries 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import hyperscan  # noqa: E402

from monitor.feeds.entry import Entry  # noqa: E402
from monitor.rules.engine import RuleSet  # noqa: E402
from monitor.rules.evaluate import LabelledItem, parse_labels  # noqa: E402
from monitor.rules.loader import load_rule_set  # noqa: E402

SPLITS = ("dev", "heldout", "fresh", "fresh2", "fresh3", "fresh4", "fresh5")
TEXT_CHARS = 3000
_SOM_FLAGS = (
    hyperscan.HS_FLAG_UTF8
    | hyperscan.HS_FLAG_UCP
    | hyperscan.HS_FLAG_CASELESS
    | hyperscan.HS_FLAG_SOM_LEFTMOST
)


def corpus() -> list[LabelledItem]:
    """Every labelled item of the scored splits."""
    items: list[LabelledItem] = []
    for split in SPLITS:
        path = ROOT / "tests" / "corpus" / f"{split}.jsonl"
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                items += parse_labels(handle, split)
    return items


def padded(items: Sequence[LabelledItem], pool: Sequence[LabelledItem]) -> list[Entry]:
    """Each item's entry with ~3 KB of article text made of other items' titles and summaries."""
    entries = []
    for n, item in enumerate(items):
        parts: list[str] = []
        size = 0
        k = n
        while size < TEXT_CHARS:
            other = pool[(k * 7919) % len(pool)]
            k += 1
            text = f"{other.title}. {other.summary}"
            parts.append(text)
            size += len(text) + 1
        entries.append(dataclasses.replace(item.to_entry(), content=" ".join(parts)))
    return entries


def per_entry(
    function: Callable[[Entry], object], entries: Sequence[Entry], seconds: float
) -> float:
    """CPU µs per entry of ``function``, over whole rounds for at least ``seconds``."""
    rounds = 0
    started = time.process_time()
    while True:
        for entry in entries:
            function(entry)
        rounds += 1
        elapsed = time.process_time() - started
        if elapsed >= seconds:
            return elapsed / (rounds * len(entries)) * 1e6


def term_pattern(term: object) -> str:
    """The full pattern of a term as its exact matcher runs it."""
    return str(term.finder.pattern)  # type: ignore[attr-defined]


def som_database(rule_set: RuleSet) -> tuple[hyperscan.Database, int, float]:
    """Every term's full pattern in one SOM database; (database, patterns taken, compile s)."""
    patterns = []
    for term in rule_set.terms:
        expression = term_pattern(term).removeprefix("(?i)").encode("utf-8")
        try:
            single = hyperscan.Database()
            single.compile(expressions=[expression], ids=[0], elements=1, flags=[_SOM_FLAGS])
        except hyperscan.error:
            continue
        patterns.append(expression)
    started = time.perf_counter()
    database = hyperscan.Database()
    database.compile(
        expressions=patterns,
        ids=list(range(len(patterns))),
        elements=len(patterns),
        flags=[_SOM_FLAGS] * len(patterns),
    )
    return database, len(patterns), time.perf_counter() - started


def som_scan(database: hyperscan.Database) -> Callable[[Entry], object]:
    """One SOM scan of the joined, folded fields collecting every (pattern, start, end)."""

    def scan(entry: Entry) -> object:
        found: list[tuple[int, int, int]] = []
        text = "\n\x00\n".join((entry.title, entry.summary, entry.content)).casefold()
        database.scan(
            text.encode("utf-8"),
            match_event_handler=lambda p, s, e, _f, _c: found.append((p, s, e)),
        )
        return found

    return scan


def naive(rule_set: RuleSet) -> Callable[[Entry], object]:
    """One Python ``re`` per term over the joined fields (every term, every entry)."""
    patterns = []
    for term in rule_set.terms:
        try:
            patterns.append(re.compile(term_pattern(term).removeprefix("(?i)"), re.IGNORECASE))
        except re.error:
            continue

    def scan(entry: Entry) -> object:
        text = "\n\x00\n".join((entry.title, entry.summary, entry.content))
        return [m.span() for p in patterns for m in p.finditer(text)]

    return scan


def feed_file(entries: Sequence[Entry], path: Path) -> None:
    """An RSS 2.0 file with the entries (summary as description, text as content:encoded)."""
    items = []
    for n, entry in enumerate(entries):
        items.append(
            f"<item><title>{escape(entry.title)}</title><link>https://example.org/{n}</link>"
            f"<guid>bench-{n}</guid><pubDate>{format_datetime(entry.published)}</pubDate>"
            f"<description>{escape(entry.summary)}</description>"
            f"<content:encoded>{escape(entry.content)}</content:encoded></item>"
        )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<title>bench</title><link>https://example.org/</link>{''.join(items)}"
        "</channel></rss>\n",
        encoding="utf-8",
    )


def cli_against_feedparser(entries: Sequence[Entry], cache_home: str) -> None:
    """Wall seconds of ``treaty-monitor match`` on the file against feedparser's parse of it."""
    import feedparser

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "dense.xml")
        feed_file(entries, path)
        config = Path(tmp, "config.toml")
        config.write_text(f"[fetch]\nmax_items = {len(entries)}\n", encoding="utf-8")
        raw = path.read_bytes()
        started = time.perf_counter()
        parsed = feedparser.parse(raw)
        parse_s = time.perf_counter() - started
        command = [
            str(ROOT / ".venv" / "bin" / "treaty-monitor"),
            "match",
            str(path),
            "--format",
            "jsonl",
            "--config",
            str(config),
        ]
        env = {**os.environ, "XDG_CACHE_HOME": cache_home}
        for label in ("first run", "second run"):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, env=env, check=False)
            match_s = time.perf_counter() - started
            lines = done.stdout.count(b"\n")
            print(
                f"  treaty-monitor match ({label}): {match_s:6.2f} s for {lines} entries "
                f"(exit {done.returncode}); feedparser.parse: {parse_s:5.2f} s for "
                f"{len(parsed.entries)} entries; ratio {match_s / parse_s:4.1f}x",
                flush=True,
            )


def engine_with_redis(count: int) -> None:
    """The engine role against the embedded Redis (see engine_throughput.py)."""
    from benchmarks.engine_throughput import corpus_entries, run_once
    from monitor.connections import EmbeddedRedis, client_from_url
    from monitor.logs import configure_logging

    configure_logging("console", "warning")

    async def run() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedRedis(Path(tmp))
            server.start()
            try:
                client = client_from_url(server.url)
                await run_once(client, corpus_entries(count), "engine + Redis")
                await client.aclose()
            finally:
                server.stop()

    asyncio.run(run())


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--naive-sample", type=int, default=40)
    parser.add_argument("--cli-entries", type=int, default=2000)
    parser.add_argument("--engine-entries", type=int, default=3000)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min), "
          f"{os.cpu_count()} cores")  # fmt: skip
    with tempfile.TemporaryDirectory() as cache_home:
        os.environ["XDG_CACHE_HOME"] = cache_home
        started = time.perf_counter()
        rule_set = load_rule_set([ROOT / "rules"])
        print(f"pack: {len(rule_set.rules)} rules, {len(rule_set.terms)} terms, loaded in "
              f"{time.perf_counter() - started:.2f} s")  # fmt: skip
        items = corpus()
        english = [i for i in items if i.lang == "en"]
        short = [i.to_entry() for i in items]
        dense = padded(items, english)
        mixed = padded(items, items)
        gc.collect()
        gc.freeze()
        database, taken, compile_s = som_database(rule_set)
        print(f"SOM anchor: {taken} of {len(rule_set.terms)} term patterns, compiled in "
              f"{compile_s:.1f} s")  # fmt: skip
        scan, slow = som_scan(database), naive(rule_set)

        def reference(entry: Entry) -> object:
            return rule_set.match(entry, reference=True)

        print(f"{'input':>28} | {'match µs':>9} | {'entries/s':>9} | {'reference µs':>12} | "
              f"{'SOM µs':>7} | {'naive re µs':>11} | match/SOM")  # fmt: skip
        for label, entries in (
            (f"title+summary ({len(short)})", short),
            ("+3 KB treaty-dense", dense),
            ("+3 KB mixed languages", mixed),
        ):
            for entry in entries:  # warm: lazily compiled patterns are compiled once, not timed
                rule_set.match(entry)
            match_us = per_entry(rule_set.match, entries, args.seconds)
            reference_us = per_entry(reference, entries, args.seconds / 2)
            som_us = per_entry(scan, entries, args.seconds / 3)
            naive_us = per_entry(slow, entries[: args.naive_sample], 0.0)
            print(f"{label:>28} | {match_us:>9.1f} | {1e6 / match_us:>9,.0f} | "
                  f"{reference_us:>12.1f} | {som_us:>7.1f} | "
                  f"{naive_us:>11,.0f} | {match_us / som_us:>5.1f}x", flush=True)  # fmt: skip
        if args.cli_entries:
            dense_file = [dense[n % len(dense)] for n in range(args.cli_entries)]
            cli_against_feedparser(dense_file, cache_home)
    if args.engine_entries:
        engine_with_redis(args.engine_entries)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""How fast the shipped treaty pack loads and matches: prints load time and entries/s on one core.

Runs the labelled corpus items (title + summary, ~300 characters) and the same items padded to
~3 KB of article text through the pack. Run: ``.venv/bin/python benchmarks/pack_throughput.py``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from monitor.rules.evaluate import parse_labels
from monitor.rules.loader import load_rule_set

ROOT = Path(__file__).resolve().parent.parent
FILLER = (
    "Officials spoke to reporters after the meeting and declined to give further details about "
    "the schedule, the budget or the people involved in the preparations. "
)


def main() -> None:
    """Print load time and matching throughput of the pack."""
    started = time.perf_counter()
    rule_set = load_rule_set([ROOT / "rules"])
    loaded = time.perf_counter() - started
    items = []
    for split in ("dev", "heldout", "fresh"):
        with (ROOT / "tests" / "corpus" / f"{split}.jsonl").open(encoding="utf-8") as handle:
            items += parse_labels(handle, split)
    short = [item.to_entry() for item in items]
    long = [dataclasses.replace(e, content=FILLER * 20) for e in short]
    size = f"{len(rule_set.rules)} rules, {len(rule_set.terms)} terms"
    print(f"pack: {size}, loaded in {loaded:.2f} s")
    for name, entries in (("title+summary", short), ("with 3 KB content", long)):
        rounds, matched = 0, 0
        started = time.perf_counter()
        while time.perf_counter() - started < 3.0:
            matched = sum(bool(rule_set.match(e)) for e in entries)
            rounds += 1
        elapsed = time.perf_counter() - started
        rate = rounds * len(entries) / elapsed
        print(f"{name:>18}: {rate:>9,.0f} entries/s  ({len(entries)} entries, {matched} alert)")


if __name__ == "__main__":
    main()

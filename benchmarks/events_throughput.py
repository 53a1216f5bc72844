"""How fast events are extracted: alerting entries/s, short and with ~3 KB of article text.

Extraction runs once per alerting entry in the engine (after matching, which is timed beside it
for scale). Run: ``.venv/bin/python benchmarks/events_throughput.py``.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from monitor.events.actors import load_actors
from monitor.events.extract import extractor_for
from monitor.events.score import entry_of, parse_truth
from monitor.rules.loader import load_rule_set

ROOT = Path(__file__).resolve().parent.parent
FILLER = (
    "Officials spoke to reporters after the meeting and declined to give further details about "
    "the schedule, the budget or the people involved in the preparations. "
)


def _rate(
    work: Sequence[tuple[Any, ...]], call: Callable[..., object], seconds: float = 2.0
) -> float:
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for item in work:
            call(*item)
        done += len(work)
    return done / (time.perf_counter() - started)


def main() -> None:
    """Print extraction and matching rates over the alerting entries of the grouping corpus."""
    rule_set = load_rule_set([ROOT / "rules"])
    started = time.perf_counter()
    extractor = extractor_for(rule_set, load_actors())
    print(f"actor vocabulary loaded in {time.perf_counter() - started:.2f} s")
    path = ROOT / "tests" / "data" / "grouping" / "fresh1.jsonl"
    with path.open(encoding="utf-8") as handle:
        entries = [entry_of(data) for _, data in parse_truth(handle, str(path))]
    for name, batch in (
        ("title+summary", entries),
        ("with 3 KB content", [dataclasses.replace(e, content=FILLER * 20) for e in entries]),
    ):
        alerting = [(e, m) for e in batch if (m := rule_set.match(e))]
        extract = _rate(alerting, extractor.event)
        match = _rate([(e,) for e, _ in alerting], rule_set.match)
        print(f"{name}: extract {extract:,.0f} entries/s, match {match:,.0f} entries/s")


if __name__ == "__main__":
    main()

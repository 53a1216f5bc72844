"""Story grouping on a labelled corpus of true events: B-cubed, messages per event, merges.

Run: ``.venv/bin/python benchmarks/grouping_scores.py [CORPUS.jsonl ...] [--rules DIR] [-v]``
(default: every corpus under tests/data/grouping/). ``-v`` lists each true event's entries with
the event and story they got. See docs/events.md for the corpus format and the measured numbers.
"""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import Any

from monitor.events.replay import Grouper
from monitor.events.score import Truth, entry_of, parse_truth, predict, score
from monitor.events.stories import WINDOW
from monitor.rules.engine import RuleSet
from monitor.rules.loader import load_rule_set

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    """Print the scores of each corpus."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("corpora", nargs="*", type=Path)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--window", type=float, default=WINDOW.total_seconds() / 86400,
                        help="story window in days (default: the daemon's)")  # fmt: skip
    args = parser.parse_args()
    rule_set = load_rule_set([args.rules])
    corpora = args.corpora or sorted((ROOT / "tests" / "data" / "grouping").glob("*.jsonl"))
    for path in corpora:
        with path.open(encoding="utf-8") as handle:
            rows = parse_truth(handle, str(path))
        window = timedelta(days=args.window)
        predicted = predict([data for _, data in rows], rule_set, window)
        result = score([truth for truth, _ in rows], predicted)
        print(f"== {path.name}: {len(rows)} entries, window {args.window:g} days")
        for line in result.lines():
            print(line)
        if args.verbose:
            _details(rows, rule_set)


def _details(rows: list[tuple[Truth, dict[str, Any]]], rule_set: RuleSet) -> None:
    grouper = Grouper(rule_set)
    shown = []
    for truth, data in sorted(rows, key=lambda r: entry_of(r[1]).published):
        entry = entry_of(data)
        event, story = grouper.add(entry, rule_set.match(entry))
        line = event.line() if event else "-"
        shown.append((truth.event or "~", str(entry.published)[:16], (story or "-")[:8], line,
                      entry.title[:70]))  # fmt: skip
    for row in sorted(shown):
        print("  " + " | ".join(row))


if __name__ == "__main__":
    main()

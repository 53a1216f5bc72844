"""Time to compile the shipped rule set, in a fresh process and again in the same one.

A fresh process pays for loading the morphology dictionaries its lemma terms need (pymorphy3,
simplemma's tables) and for every expansion; a second compile in the same process (a hot reload)
finds the expansions cached. The hyperscan database is built each time (no on-disk cache), and a
first match makes sure nothing is left for later. ``cached`` is a fresh process with a warm cache
directory (what the CLI and the daemon use): the scan and the expansions are read from disk.

    .venv/bin/python benchmarks/rules_compile.py [--runs 3] [--rules rules]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_CHILD = """
import json, sys, time
started = time.perf_counter()
from monitor.rules.loader import load_rule_set
from tests.rules_helpers import entry
imported = time.perf_counter()
rules = [__import__("pathlib").Path(sys.argv[1])]
cache = __import__("pathlib").Path(sys.argv[2]) if len(sys.argv) > 2 else None
rule_set = load_rule_set(rules, cache_dir=cache)
rule_set.match(entry(title="Russia withdraws from the INF Treaty"))
first = time.perf_counter()
rule_set = load_rule_set(rules)
rule_set.match(entry(title="Russia withdraws from the INF Treaty"))
second = time.perf_counter()
print(json.dumps({"import": imported - started, "first": first - imported,
                  "again": second - first, "terms": len(rule_set.terms)}))
"""


def _child(rules: str, *cache: str) -> dict[str, float]:
    output = subprocess.run(
        [sys.executable, "-c", _CHILD, rules, *cache],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result: dict[str, float] = json.loads(output)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rules", default=str(ROOT / "rules"))
    args = parser.parse_args()
    results = [_child(args.rules) for _ in range(args.runs)]
    with tempfile.TemporaryDirectory() as cache:
        _child(args.rules, cache)  # warms the cache directory
        for result, warm in zip(
            results, [_child(args.rules, cache) for _ in range(args.runs)], strict=True
        ):
            result["cached"] = warm["first"]
    for key in ("import", "first", "again", "cached"):
        values = [r[key] for r in results]
        print(
            f"{key:7s} median {statistics.median(values):6.2f} s  "
            f"(runs: {', '.join(f'{v:.2f}' for v in values)})"
        )
    print(f"terms   {results[0]['terms']}")


if __name__ == "__main__":
    main()

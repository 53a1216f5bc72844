"""Benchmark: the start-up time of ``treaty-monitor --help``: ``python benchmarks/cli_startup.py``.

Runs the command many times in fresh interpreters (like hyperfine: warm-up runs, then timed ones)
and prints min / median / max wall time next to a bare ``python -c pass``, then the slowest
imports from ``python -X importtime``. Target: under 0.3 s on 2 shared cores. Command modules
(and Redis, aiohttp, hyperscan, feedparser, rich, pydantic) load only when their command runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.3


def timed(argv: list[str], runs: int, warmup: int = 2) -> list[float]:
    """Wall seconds of ``runs`` executions of ``argv`` after ``warmup`` untimed ones."""
    for _ in range(warmup):
        subprocess.run(argv, capture_output=True, check=True)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        seconds.append(time.perf_counter() - start)
    return seconds


def slowest_imports(argv: list[str], top: int = 8) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest top-level imports of one run."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, check=True
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    """Time the commands and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("treaty-monitor")
    entry = [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "treaty-monitor --help": [*entry, "--help"],
        "python -m monitor --help": [sys.executable, "-m", "monitor", "--help"],
        "treaty-monitor rules --help": [*entry, "rules", "--help"],
    }
    load = os.getloadavg()[0]
    header = f"{'command':<30} {'min':>7} {'median':>7} {'max':>7}"
    print(f"{header}  ({args.runs} runs, 1-min load average {load:.1f})")
    medians = {}
    for name, argv in cases.items():
        seconds = timed(argv, args.runs)
        medians[name] = statistics.median(seconds)
        print(f"{name:<30} {min(seconds):>7.3f} {medians[name]:>7.3f} {max(seconds):>7.3f}")
    verdict = "ok" if medians["treaty-monitor --help"] < TARGET_SECONDS else "SLOWER THAN TARGET"
    print(f"--help median vs target {TARGET_SECONDS} s: {verdict}")
    print("slowest imports of --help (cumulative ms):")
    for micros, module in slowest_imports(["-m", "monitor", "--help"]):
        print(f"  {micros / 1000:>7.1f}  {module}")


if __name__ == "__main__":
    main()

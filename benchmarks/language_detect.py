"""Benchmark: entry-language detection: ``python benchmarks/language_detect.py``.

Reads the labelled corpora (``tests/corpus/*.jsonl``: ``lang``, ``title``, ``summary``) and
prints, for the project's detector in its two modes (``fetch.language_detection``: fast, accurate)
and for each of its two halves alone (CLD2; lingua restricted to the same languages, in its low- and
high-accuracy modes), accuracy on the title alone and on title + summary, and CPU µs per entry
(process time, so other load on the machine's two shared cores counts less). Also the RSS that
importing the detector adds, and what the loaded models add after the run. The engine targets
10,000 entries/s; detection runs in the parse workers, only on entries the feed gave no language.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CORPORA = sorted((Path(__file__).resolve().parents[1] / "tests" / "corpus").glob("*.jsonl"))


def rss_mb() -> float:
    """Resident set size of this process, in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def labelled() -> list[tuple[str, str, str]]:
    """(lang, title, title + summary) of every labelled item."""
    from monitor.feeds.language import detection_text

    items = []
    for path in CORPORA:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                text = detection_text(data["title"], data.get("summary", ""))
                items.append((data["lang"], data["title"], text))
    return items


def measure(detect: Callable[[str], str], texts: list[tuple[str, str]]) -> tuple[int, float]:
    """(right, CPU µs per text) after one untimed pass that loads whatever loads lazily."""
    for _, text in texts:
        detect(text)
    start = time.process_time()
    right = sum(detect(text) == lang for lang, text in texts)
    return right, (time.process_time() - start) / len(texts) * 1e6


def cld2(text: str) -> str:
    """CLD2's answer when it calls it reliable, else ""."""
    import pycld2

    reliable, _, details = pycld2.detect(text, isPlainText=True)
    return str(details[0][1]) if reliable else ""


def main() -> None:
    """Print the table."""
    before = rss_mb()
    from monitor.feeds.language import Detector

    detector = Detector()  # fetch.language_detection = "fast", the default
    imported = rss_mb()
    items = labelled()
    langs = sorted({lang for lang, _, _ in items})
    print(f"{len(items)} labelled items ({', '.join(langs)}) from {len(CORPORA)} corpora")
    print(f"import + build: +{imported - before:.1f} MB RSS")
    titles = [(lang, title) for lang, title, _ in items]
    texts = [(lang, text) for lang, _, text in items]
    print(f"{'':44} {'title':>7} {'µs':>6}   {'title+summary':>13} {'µs':>6}")

    def row(name: str, detect: Callable[[str], str]) -> None:
        (right_t, micros_t), (right_s, micros_s) = measure(detect, titles), measure(detect, texts)
        print(
            f"{name:44} {right_t / len(items):>7.2%} {micros_t:>6.1f}"
            f"   {right_s / len(items):>13.2%} {micros_s:>6.1f}"
        )

    row("fast: CLD2 if >= 100 chars, else lingua low", detector)
    print(f"  after the fast detector's runs (models loaded): +{rss_mb() - before:.1f} MB RSS")
    row("CLD2 alone (unsure or other language: '')", cld2)
    row("lingua low-accuracy alone (12 languages)", Detector(short_text=sys.maxsize))
    row("accurate: CLD2 if >= 100 chars, else lingua", Detector(accurate=True))
    print(f"  after the accurate detector's runs: +{rss_mb() - before:.1f} MB RSS")
    row(
        "lingua high-accuracy alone (12 languages)", Detector(short_text=sys.maxsize, accurate=True)
    )


if __name__ == "__main__":
    main()

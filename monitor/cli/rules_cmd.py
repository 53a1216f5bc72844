"""``treaty-monitor rules check|test|backtest``: feedback for the people who write rules."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from monitor.cli.common import config_option, echo_json, format_option, redis_of, settings_from
from monitor.cli.help import HelpGroup
from monitor.config import Settings
from monitor.durations import parse_duration
from monitor.errors import RuleError
from monitor.feeds.language import detector_for
from monitor.rules.backtest import Backtest, replay
from monitor.rules.engine import Rule, RuleSet
from monitor.rules.examples import ExampleResult, run_examples
from monitor.rules.hscache import user_cache_dir
from monitor.rules.loader import RuleSetError, load_rule_set, rule_files, shipped_rules_dir
from monitor.streams import Keys

# Feed text must not drive the terminal: C0/C1 controls (escape sequences), bidi overrides.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Feed text made safe for a terminal."""
    return _CONTROL.sub(" ", text)


dirs_argument = click.argument(
    "dirs", nargs=-1, type=click.Path(path_type=Path), metavar="[DIR|FILE]..."
)
rules_option = click.option(
    "--rules",
    "rule_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Rule directory or file (repeatable; default: the shipped pack).",
)


def resolve_dirs(paths: Sequence[Path]) -> list[Path]:
    """The directories given, or the shipped pack when none.

    A file stands for its directory: the files of a directory share their vocabularies, so one
    file cannot be checked without its siblings.
    """
    if not paths:
        return [shipped_rules_dir()]
    return list(dict.fromkeys(path.parent if path.is_file() else path for path in paths))


def error_dict(error: RuleError) -> dict[str, Any]:
    """A rule error as JSON: file, line, column (0 when unknown) and message."""
    return {
        "file": error.file,
        "line": error.line,
        "column": error.column,
        "message": error.message,
    }


def load_or_exit(paths: Sequence[Path], fmt: str = "table") -> RuleSet:
    """Load the rule set, or print every error (``file:line:col: message``, or JSON) and exit 1.

    Every file of the directories involved is validated; when files are named, the set keeps
    only their rules (and every rule of any directory named).
    """
    try:
        return load_rule_set(
            resolve_dirs(paths), keep=_named_only(paths), cache_dir=user_cache_dir()
        )
    except RuleSetError as exc:
        if fmt == "table":
            for error in exc.errors:
                click.echo(error.location_message(), err=False)
        else:
            echo_json({"ok": False, "errors": [error_dict(e) for e in exc.errors]}, fmt)
        click.echo(f"{len(exc.errors)} error(s)", err=True)
        sys.exit(1)


def _named_only(paths: Sequence[Path]) -> Callable[[Rule], bool] | None:
    """When files are named: keep their rules and those of any directory named."""
    files = {path.resolve() for path in paths if path.is_file()}
    if not files:
        return None
    dirs = {path.resolve() for path in paths if path.is_dir()}

    def keep(rule: Rule) -> bool:
        where = Path(rule.file).resolve()
        return where in files or where.parent in dirs

    return keep


@click.group("rules", cls=HelpGroup)
def rules() -> None:
    """Check, test, backtest and evaluate rule files."""


@rules.command("check")
@dirs_argument
@format_option()
def check(dirs: tuple[Path, ...], fmt: str) -> None:
    """Validate rule files (default: the shipped pack): exit 0, or print file:line:col errors."""
    rule_set = load_or_exit(dirs, fmt)
    files, _ = rule_files(resolve_dirs(dirs))
    enabled = sum(r.enabled for r in rule_set.rules)
    if fmt != "table":
        summary = {
            "ok": True, "rules": len(rule_set.rules), "enabled": enabled,
            "terms": len(rule_set.terms), "channels": sorted(rule_set.channels),
            "files": len(files), "version": rule_set.version, "errors": [],
        }  # fmt: skip
        echo_json(summary, fmt)
        return
    click.echo(
        f"ok: {len(rule_set.rules)} rules ({enabled} enabled), {len(rule_set.terms)} terms, "
        f"{len(rule_set.channels)} channels in {len(files)} file(s); version {rule_set.version}"
    )


@rules.command("test")
@dirs_argument
@format_option()
def test(dirs: tuple[Path, ...], fmt: str) -> None:
    """Run every rule's examples (match / no_match); exit 1 on any failure.

    Given a FILE, only the examples of that file's rules run.
    """
    rule_set = load_or_exit(dirs, fmt)
    results = run_examples(rule_set)
    failures = [r for r in results if not r.passed]
    if fmt != "table":
        _json_results(results, fmt)
        sys.exit(1 if failures else 0)
    for result in failures:
        click.echo(_describe_failure(result))
    tested = len({r.rule.id for r in results})
    if failures:
        click.echo(f"FAILED: {len(failures)} of {len(results)} examples ({tested} rules)")
        sys.exit(1)
    untested = sum(1 for r in rule_set.rules if r.enabled) - tested
    note = f"; {untested} enabled rule(s) have no examples" if untested else ""
    click.echo(f"ok: {len(results)} examples of {tested} rules passed{note}")


def _result_dict(result: ExampleResult) -> dict[str, Any]:
    example = result.example
    return {
        "rule": result.rule.id,
        "file": result.rule.file,
        "line": example.line or result.rule.line,
        "expected": "match" if result.expected else "no_match",
        "passed": result.passed,
        "title": example.title,
        "summary": example.summary,
        "spans": [s.to_dict() for s in result.spans],
    }


def _json_results(results: list[ExampleResult], fmt: str) -> None:
    """``--format json``: one document with counts; ``jsonl``: one object per example."""
    records = [_result_dict(r) for r in results]
    if fmt == "jsonl":
        for record in records:
            echo_json(record, fmt)
        return
    failed = sum(not r["passed"] for r in records)
    echo_json({"ok": not failed, "examples": len(records), "failed": failed,
               "results": records}, fmt)  # fmt: skip


def _describe_failure(result: ExampleResult) -> str:
    rule = result.rule
    want = "should match" if result.expected else "should not match"
    example = result.example
    text = example.title + (f" | {example.summary}" if example.summary else "")
    lines = [f"{rule.file}:{example.line or rule.line}: {rule.id}: {want}: {text!r}"]
    if result.spans:
        label = "matched by" if result.matched else "terms found (not enough to match)"
        found = ", ".join(
            f"{s.field}[{s.start}:{s.end}] {s.text!r} ({s.term})" for s in result.spans
        )
        lines.append(f"    {label}: {found}")
    else:
        lines.append("    none of the rule's terms occur in the example")
    return "\n".join(lines)


@rules.command("backtest")
@dirs_argument
@click.option("--since", default="7d", show_default=True, help="How far back: 30m, 12h, 7d.")
@click.option("--samples", default=3, show_default=True, type=click.IntRange(0, 100))
@click.option("--limit", default=0, type=click.IntRange(0), help="Stop after N entries (0: all).")
@format_option()
@config_option
def backtest(
    dirs: tuple[Path, ...],
    since: str,
    samples: int,
    limit: int,
    fmt: str,
    config_path: Path | None,
) -> None:
    """Replay the stored entries through the rules and report what would have alerted."""
    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    rule_set = load_or_exit(dirs, fmt)
    settings = settings_from(config_path)
    since_ms = int((time.time() - seconds) * 1000)
    result = asyncio.run(_replay(settings, rule_set, since_ms, samples, limit))
    if fmt == "table":
        _report(result, since)
    else:
        _json_report(result, since, fmt)


async def _replay(
    settings: Settings, rule_set: RuleSet, since_ms: int, samples: int, limit: int
) -> Backtest:
    stream = Keys(settings.redis.prefix).entries
    async with redis_of(settings) as client:
        return await replay(
            client,
            stream,
            since_ms,
            Backtest(rule_set, samples, detect=detector_for(settings.fetch.language_detection)),
            limit,
        )


def _rule_tallies(result: Backtest) -> list[dict[str, Any]]:
    rows = []
    for rule in result.rule_set.rules:
        tally = result.tallies.get(rule.id)
        samples = [{"title": t, "link": link} for t, link in (tally.samples if tally else ())]
        rows.append({"rule": rule.id, "count": tally.count if tally else 0,
                     "severity": rule.severity.label, "samples": samples})  # fmt: skip
    return rows


def _json_report(result: Backtest, since: str, fmt: str) -> None:
    """``--format json``: one document; ``jsonl``: one object per rule."""
    rows = _rule_tallies(result)
    if fmt == "jsonl":
        for row in rows:
            echo_json(row, fmt)
        return
    echo_json(
        {
            "since": since, "entries": result.entries, "matched": result.matched,
            "unreadable": result.unreadable, "rules": rows,
            "channels": dict(sorted(result.channels.items())), "throttled": result.throttled,
        },
        fmt,
    )  # fmt: skip


def _report(result: Backtest, since: str) -> None:
    click.echo(
        f"backtest over the last {since}: {result.entries} entries, {result.matched} matched a "
        f"rule (nothing was sent)"
        + (f"; {result.unreadable} unreadable entries skipped" if result.unreadable else "")
    )
    width = max((len(r.id) for r in result.rule_set.rules), default=4)
    for rule in result.rule_set.rules:
        tally = result.tallies.get(rule.id)
        count = tally.count if tally else 0
        click.echo(f"  {rule.id:<{width}}  {count:>6}  {rule.severity.label}")
        for title, link in tally.samples if tally else ():
            shown = printable(title) + (f" <{printable(link)}>" if link else "")
            click.echo(f"  {'':<{width}}          - {shown}")
    if result.channels or result.throttled:
        sent = ", ".join(f"{c} {n}" for c, n in sorted(result.channels.items())) or "none"
        held = (
            f"; {result.throttled} repeats held back by realert windows" if result.throttled else ""
        )
        click.echo(f"alerts per channel: {sent}{held}")
    if result.stories:
        click.echo(f"stories: {result.stories} (alerting entries grouped by event, docs/events.md)")
    if result.sources:
        click.echo(
            f"follow-up sources: {result.sources} (entries alerting on nothing, joining a story)"
        )


def register(cli: click.Group) -> None:
    """Add the ``rules`` group to the CLI (``rules evaluate`` is added to it elsewhere)."""
    cli.add_command(rules)

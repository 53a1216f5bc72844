"""``treaty-monitor rules check|test|backtest``: feedback for the people who write rules."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from monitor.cli.common import config_option, redis_of, settings_from
from monitor.config import Settings, parse_duration
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


def load_or_exit(paths: Sequence[Path]) -> RuleSet:
    """Load the rule set, or print every error as ``file:line:col: message`` and exit 1.

    Every file of the directories involved is validated; when files are named, the set keeps
    only their rules (and every rule of any directory named).
    """
    try:
        return load_rule_set(
            resolve_dirs(paths), keep=_named_only(paths), cache_dir=user_cache_dir()
        )
    except RuleSetError as exc:
        for error in exc.errors:
            click.echo(error.location_message(), err=False)
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


@click.group("rules")
def rules() -> None:
    """Check, test and backtest rule files."""


@rules.command("check")
@dirs_argument
def check(dirs: tuple[Path, ...]) -> None:
    """Validate rule files (default: the shipped pack): exit 0, or print file:line:col errors."""
    rule_set = load_or_exit(dirs)
    files, _ = rule_files(resolve_dirs(dirs))
    enabled = sum(r.enabled for r in rule_set.rules)
    click.echo(
        f"ok: {len(rule_set.rules)} rules ({enabled} enabled), {len(rule_set.terms)} terms, "
        f"{len(rule_set.channels)} channels in {len(files)} file(s); version {rule_set.version}"
    )


@rules.command("test")
@dirs_argument
def test(dirs: tuple[Path, ...]) -> None:
    """Run every rule's examples (match / no_match); exit 1 on any failure.

    Given a FILE, only the examples of that file's rules run.
    """
    rule_set = load_or_exit(dirs)
    results = run_examples(rule_set)
    failures = [r for r in results if not r.passed]
    for result in failures:
        click.echo(_describe_failure(result))
    tested = len({r.rule.id for r in results})
    if failures:
        click.echo(f"FAILED: {len(failures)} of {len(results)} examples ({tested} rules)")
        sys.exit(1)
    untested = sum(1 for r in rule_set.rules if r.enabled) - tested
    note = f"; {untested} enabled rule(s) have no examples" if untested else ""
    click.echo(f"ok: {len(results)} examples of {tested} rules passed{note}")


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
@config_option
def backtest(
    dirs: tuple[Path, ...], since: str, samples: int, limit: int, config_path: Path | None
) -> None:
    """Replay the stored entries through the rules and report what would have alerted."""
    try:
        seconds = parse_duration(since)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from None
    rule_set = load_or_exit(dirs)
    settings = settings_from(config_path)
    since_ms = int((time.time() - seconds) * 1000)
    result = asyncio.run(_replay(settings, rule_set, since_ms, samples, limit))
    _report(result, since)


async def _replay(
    settings: Settings, rule_set: RuleSet, since_ms: int, samples: int, limit: int
) -> Backtest:
    stream = Keys(settings.redis.prefix).entries
    async with redis_of(settings) as client:
        return await replay(client, stream, since_ms, Backtest(rule_set, samples), limit)


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


def register(cli: click.Group) -> None:
    """Add the ``rules`` group to the CLI (``rules evaluate`` is added to it elsewhere)."""
    cli.add_command(rules)

"""``treaty-monitor rules evaluate``: precision and recall of a rule set on labelled items."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from monitor.cli.common import config_option, settings_from
from monitor.cli.rules_cmd import load_or_exit, rules_option
from monitor.feeds.entry import Entry
from monitor.feeds.language import detector_for
from monitor.feeds.oneshot import read_entries
from monitor.rules.engine import RuleSet
from monitor.rules.evaluate import TAGS, LabelError, Outcome, Report, Score, evaluate, parse_labels


@click.command("evaluate")
@click.option(
    "--labels",
    "labels_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON lines of labelled items (id, lang, title, summary, published, tags, deadline); "
    "items without lang are scored under their detected language.",
)
@rules_option
@click.option("--list/--no-list", "show_list", default=True, help="List misses and false alarms.")
@click.argument("feeds", nargs=-1, metavar="[FEED]...")
@config_option
def evaluate_command(
    labels_path: Path,
    rule_dirs: tuple[Path, ...],
    show_list: bool,
    feeds: tuple[str, ...],
    config_path: Path | None,
) -> None:
    """Score the rules on labelled items: precision, recall and F1, overall, per tag, per language.

    FEED arguments (paths or URLs) are extra, unlabelled input: what fires on them is listed.
    """
    rule_set = load_or_exit(rule_dirs)
    try:
        with labels_path.open(encoding="utf-8") as handle:
            items = parse_labels(handle, str(labels_path))
    except UnicodeDecodeError as exc:
        raise LabelError(f"{labels_path}: not UTF-8 text ({exc.reason})") from None
    if not items:
        raise LabelError(f"{labels_path}: no labelled items")
    detect = detector_for(settings_from(config_path).fetch.language_detection)
    report = evaluate(rule_set.match, items, detect)
    negatives = sum(1 for o in report.outcomes if not o.item.tags)
    click.echo(
        f"{len(rule_set.rules)} rules; {len(items)} labelled items from {labels_path} "
        f"({negatives} untagged)"
    )
    _print_scores(report)
    if show_list:
        _print_lists(report)
    if feeds:
        _print_feeds(rule_set, feeds, config_path)


def _row(name: str, score: Score) -> str:
    return (
        f"  {name:<22} {score.precision:>9.3f} {score.recall:>7.3f} {score.f1:>7.3f}"
        f" {score.tp:>5} {score.fp:>4} {score.fn:>4}"
    )


def _print_scores(report: Report) -> None:
    click.echo(f"  {'':<22} {'precision':>9} {'recall':>7} {'F1':>7} {'tp':>5} {'fp':>4} {'fn':>4}")
    click.echo(_row("alerts at all", report.alerts))
    for tag in TAGS:
        click.echo(_row(tag, report.tag(tag)))
    click.echo(f"  {'tag average (macro F1)':<22} {'':>9} {'':>7} {report.tag_f1:>7.3f}")
    click.echo(f"  {'language':<10} {'items':>5} {'alerts F1':>10} {'tag F1':>7}")
    parts = [(lang, report.only(lang)) for lang in report.languages]
    if len(parts) > 1 and "en" in report.languages:
        parts.append(("not en", report.except_lang("en")))
    for name, part in parts:
        click.echo(
            f"  {name:<10} {len(part.outcomes):>5} {part.alerts.f1:>10.3f} {part.tag_f1:>7.3f}"
        )
    right, checked = report.language_agreement
    if checked:
        click.echo(f"  language detected right: {right} of {checked}")
    right, checked = report.deadline_dates
    if checked:
        click.echo(f"  deadline dates: {right} of {checked} labelled due dates reproduced")


def _describe(outcome: Outcome) -> str:
    item = outcome.item
    return f"    {item.id} [{outcome.language}] {item.title}"


def _print_lists(report: Report) -> None:
    click.echo(f"misses ({len(report.misses)}):")
    for outcome in report.misses:
        wanted = ", ".join(sorted(outcome.item.tags))
        click.echo(f"{_describe(outcome)}  (expected: {wanted})")
    click.echo(f"false alarms ({len(report.false_alarms)}):")
    for outcome in report.false_alarms:
        click.echo(f"{_describe(outcome)}  (rules: {', '.join(outcome.rule_ids)})")
    click.echo(f"wrong tags ({len(report.tag_errors)}):")
    for outcome in report.tag_errors:
        notes = []
        if outcome.missing:
            notes.append("missing " + ", ".join(sorted(outcome.missing)))
        if outcome.extra:
            notes.append("extra " + ", ".join(sorted(outcome.extra)))
        click.echo(f"{_describe(outcome)}  ({'; '.join(notes)})")
    dated = [
        o
        for o in report.outcomes
        if o.item.deadline and "deadline" in o.tags and o.deadline != o.item.deadline
    ]
    if dated:
        click.echo(f"wrong due dates ({len(dated)}):")
        for outcome in dated:
            due, got = outcome.item.deadline, outcome.deadline
            click.echo(f"{_describe(outcome)}  (expected {due}, got {got})")


def _print_feeds(rule_set: RuleSet, feeds: tuple[str, ...], config_path: Path | None) -> None:
    settings = settings_from(config_path)
    entries: list[Entry] = []
    for source in feeds:
        entries.extend(asyncio.run(read_entries(source, settings.fetch)))
    alerted = [(e, rule_set.match(e)) for e in entries]
    alerted = [(e, m) for e, m in alerted if m]
    click.echo(f"unlabelled feed entries: {len(entries)}, {len(alerted)} alerted:")
    for entry, matches in alerted:
        tags = sorted({t for m in matches for t in m.tags})
        rules = ", ".join(m.rule_id for m in matches)
        click.echo(f"    {entry.title}  ({rules}; {', '.join(tags)})")


def register(cli: click.Group) -> None:
    """Add ``rules evaluate`` to the ``rules`` group that ``rules_cmd`` created."""
    group = cli.commands.get("rules")
    if not isinstance(group, click.Group):
        raise RuntimeError("rules_cmd must register the 'rules' group before evaluate_cmd")
    group.add_command(evaluate_command)

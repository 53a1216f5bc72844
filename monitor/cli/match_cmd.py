"""``treaty-monitor match``: which rules match the entries of a feed, with the matched spans."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.cli.common import config_option, format_option, settings_from
from monitor.cli.rules_cmd import load_or_exit, printable, rules_option
from monitor.events.model import Event
from monitor.events.replay import Grouper
from monitor.events.stories import by_publication
from monitor.feeds.entry import Entry
from monitor.feeds.oneshot import read_entries
from monitor.rules.match import Match, Span

_CONTEXT = 40


def entry_record(
    entry: Entry, matches: list[Match], event: Event | None = None, story: str | None = None
) -> dict[str, Any]:
    """The JSON object ``--format jsonl`` prints for one entry, matched or not.

    An entry that alerts carries its ``event`` and ``story``; one that alerts on nothing but joins
    a story as a follow-up source (docs/events.md) carries the ``story`` and ``"source": true``;
    any other carries neither.
    """
    deadlines = sorted(m.deadline for m in matches if m.deadline is not None)
    record: dict[str, Any] = {
        "entry_id": entry.guid or entry.link,
        "title": entry.title,
        "link": entry.link,
        "feed": entry.feed,
        "language": entry.language,
        "published": entry.published.isoformat(),
        "rules": [m.rule_id for m in matches],
        "tags": list(dict.fromkeys(t for m in matches for t in m.tags)),
        "channels": list(dict.fromkeys(c for m in matches for c in m.channels)),
        "severity": max(m.severity for m in matches).label if matches else None,
        "spans": [{"rule": m.rule_id, **s.to_dict()} for m in matches for s in m.spans],
        "deadline": deadlines[0].isoformat() if deadlines else None,
    }
    if event is not None and story is not None:
        record["event"] = event.to_dict()
        record["story"] = story
    elif story is not None:
        record["story"] = story
        record["source"] = True
    return record


def highlighted(text: str, spans: list[Span]) -> Text:
    """``text`` as rich Text with the spans emphasised (feed text is never parsed as markup)."""
    result = Text()
    cursor = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < cursor:
            continue
        result.append(printable(text[cursor : span.start]))
        result.append(printable(text[span.start : span.end]), style="bold black on yellow")
        cursor = span.end
    result.append(printable(text[cursor:]))
    return result


def excerpts(length: int, spans: list[Span], context: int = _CONTEXT) -> list[tuple[int, int]]:
    """Windows of ``context`` characters around the spans, overlapping windows merged into one."""
    windows: list[tuple[int, int]] = []
    for span in sorted(spans, key=lambda s: s.start):
        start, end = max(0, span.start - context), min(length, span.end + context)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    return windows


def _snippets(entry: Entry, spans: list[Span]) -> Text:
    """Matched text outside the title: each field once, spans close together in one excerpt."""
    result = Text()
    for name in dict.fromkeys(s.field for s in spans if s.field != "title"):
        text = entry.field_text(name)
        mine = [s for s in spans if s.field == name]
        for start, end in excerpts(len(text), mine):
            local = [
                Span(s.field, s.start - start, s.end - start, s.text, s.term)
                for s in mine
                if start <= s.start and s.end <= end
            ]
            if result:
                result.append("\n")
            result.append(f"{name}: …" if start else f"{name}: ", style="dim")
            result.append_text(highlighted(text[start:end], local))
            if end < len(text):
                result.append("…")
    return result


Result = tuple[Entry, list[Match], Event | None, str | None]


def _table(results: list[Result]) -> Table:
    table = Table(show_lines=True, expand=True)
    table.add_column("entry", ratio=3)
    table.add_column("rules", ratio=2)
    table.add_column("matched text", ratio=3)
    for entry, matches, event, story in results:
        unique = {(s.field, s.start, s.end): s for m in matches for s in m.spans}
        spans = [unique[k] for k in sorted(unique, key=lambda k: (k[0] != "title", k))]
        cell = highlighted(entry.title, [s for s in spans if s.field == "title"])
        if entry.link:
            cell.append("\n" + printable(entry.link), style="dim")
        if entry.language:
            cell.append(f"\nlanguage {entry.language}", style="dim")
        rules = Text()
        for match in matches:
            if rules:
                rules.append("\n")
            rules.append(f"{match.rule_id} ", style="bold")
            rules.append(f"({match.severity.label})")
            if match.deadline:
                rules.append(f" due {match.deadline.isoformat()}")
        if event is not None:
            rules.append("\n" + printable(event.line()), style="italic")
            rules.append(f"\nstory {story}", style="dim")
        elif story is not None:
            rules.append(f"follow-up source of story {story}", style="dim")
        table.add_row(cell, rules or Text("—", style="dim"), _snippets(entry, spans))
    return table


@click.command("match")
@click.argument("feeds", nargs=-1, required=True, metavar="FEED...")
@rules_option
@format_option()
@config_option
def match(
    feeds: tuple[str, ...], rule_dirs: tuple[Path, ...], fmt: str, config_path: Path | None
) -> None:
    """Print, for each entry of each FEED (a path or URL), the rules that match it.

    Entries are shown in order of publication, each alerting one with its event and story (the
    daemon's grouping, docs/events.md).
    """
    rule_set = load_or_exit(rule_dirs)
    settings = settings_from(config_path)
    entries: list[Entry] = []
    for source in feeds:
        entries.extend(asyncio.run(read_entries(source, settings.fetch)))
    grouper = Grouper(rule_set)
    results: list[Result] = []
    for entry in by_publication(entries, lambda e: e.published):
        matches = rule_set.match(entry)
        results.append((entry, matches, *grouper.add(entry, matches)))
    # A follow-up source that waited gets the story opened after it.
    results = [
        (entry, matches, event, story or grouper.story_of(entry))
        for entry, matches, event, story in results
    ]
    if fmt == "json":
        records = [entry_record(*result) for result in results]
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if fmt == "jsonl":
        for result in results:
            click.echo(json.dumps(entry_record(*result), ensure_ascii=False))
        return
    console = Console(highlight=False)
    console.print(_table(results))
    matched = sum(1 for _, m, _, _ in results if m)
    console.print(f"{len(results)} entries, {matched} matched", markup=False)


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI."""
    cli.add_command(match)

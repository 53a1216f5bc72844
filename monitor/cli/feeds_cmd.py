"""``treaty-monitor feeds``: every configured feed's health, from Redis.

``feeds`` is also the group of ``discover``, ``import`` and ``export`` (``feeds_io_cmd``).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import click

from monitor.cli.common import (
    config_option,
    format_option,
    log_format_option,
    redis_of,
    settings_from,
)
from monitor.cli.help import HelpGroup
from monitor.config import Settings
from monitor.feeds.store import FeedState, FeedStore
from monitor.streams import Keys

_COLUMNS = ("FEED", "STATUS", "HTTP", "ERRORS", "LAST SUCCESS", "NEXT", "ENTRIES", "PROBLEM")


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI."""
    from monitor.cli.feeds_io_cmd import register as register_subcommands

    register_subcommands(feeds)
    cli.add_command(feeds)


list_format_option = format_option()  # table|json|jsonl, shared with feeds_io_cmd


@click.group(invoke_without_command=True, cls=HelpGroup)
@config_option
@log_format_option
@list_format_option
@click.pass_context
def feeds(ctx: click.Context, config_path: Path | None, log_format: str | None, fmt: str) -> None:
    """Feed health; find feeds, import and export OPML.

    Without a subcommand: the health of every configured feed (status, errors, last success,
    next poll), read from Redis.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(config_path=config_path, log_format=log_format)
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_from(config_path, log_format)
    rows = asyncio.run(_load(settings))
    now = time.time()
    if fmt == "table":
        click.echo(render_table(rows, now))
    else:
        echo_list([_row_dict(r, now) for r in rows], fmt)


def echo_list(rows: list[dict[str, Any]], fmt: str, columns: tuple[str, ...] = ()) -> None:
    """Print ``rows`` as a table (the given columns), a JSON array, or one JSON object a line."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt == "jsonl":
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        lines = [tuple(c.upper() for c in columns)]
        lines += [tuple(str(row.get(c, "")) for c in columns) for row in rows]
        widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
        for line in lines:
            click.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def parent_settings(
    ctx: click.Context, config_path: Path | None, log_format: str | None
) -> Settings:
    """The settings, from this command's options or else the ``feeds`` group's."""
    group = ctx.find_object(dict) or {}
    return settings_from(
        config_path or group.get("config_path"), log_format or group.get("log_format")
    )


async def _load(settings: Settings) -> list[tuple[str, bool, FeedState]]:
    async with redis_of(settings) as client:
        store = FeedStore(client, Keys(settings.redis.prefix))
        names = [f.name for f in settings.feeds]
        states = await store.states(names) if names else []
    return [(f.name, f.enabled, s) for f, s in zip(settings.feeds, states, strict=True)]


def _row_dict(row: tuple[str, bool, FeedState], now: float) -> dict[str, Any]:
    name, enabled, state = row
    data = {"feed": name, "enabled": enabled, **state.to_dict()}
    data["status"] = _status(enabled, state)
    data["next_due_in"] = round(state.next_due - now, 1) if state.next_due else None
    return data


def _status(enabled: bool, state: FeedState) -> str:
    if not enabled:
        return "disabled"
    return state.status or "never"


def _ago(now: float, then: float) -> str:
    return "never" if not then else f"{_span(now - then)} ago"


def _within(now: float, then: float) -> str:
    if not then:
        return "-"
    return "due" if then <= now else f"in {_span(then - now)}"


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{seconds:.0f}s"


def render_table(rows: list[tuple[str, bool, FeedState]], now: float) -> str:
    """A plain-text table of feed health, one line per feed."""
    lines = [_COLUMNS]
    for name, enabled, state in rows:
        problem = f"{state.error_kind}: {state.last_error}" if state.error_kind else ""
        lines.append(
            (
                name,
                _status(enabled, state),
                str(state.http_status or "-"),
                str(state.consecutive_errors),
                _ago(now, state.last_success),
                _within(now, state.next_due),
                str(state.entries_seen),
                problem[:80],
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(_COLUMNS) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + "  " + line[-1]
        for line in lines
    ).rstrip()

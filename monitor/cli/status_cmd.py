"""``treaty-monitor status``: how the pipeline is doing, read from Redis."""

from __future__ import annotations

import asyncio
import json
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import redis.asyncio as aioredis
from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor import observe
from monitor.cli.common import config_option, format_option, human_time, redis_of, settings_from
from monitor.streams import Keys

# An instance whose heartbeat is older than this is shown as stale.
STALE_INSTANCE = 120.0


@dataclass(frozen=True, slots=True)
class StatusReport:
    """Everything ``status`` shows, read at one moment."""

    now: float
    instances: tuple[observe.Instance, ...]
    rules: observe.RulesStatus
    feeds: tuple[observe.FeedHealth, ...]
    lags: tuple[observe.GroupLag, ...]
    dead_letters: int
    last_alerts: dict[str, list[dict[str, Any]]]


async def gather(
    client: aioredis.Redis, keys: Keys, now: float, per_channel: int = 3
) -> StatusReport:
    """Read the whole report from Redis."""
    return StatusReport(
        now=now,
        instances=tuple(await observe.instances(client, keys)),
        rules=await observe.rules_status(client, keys),
        feeds=tuple(await observe.feeds(client, keys)),
        lags=tuple(await observe.all_lags(client, keys)),
        dead_letters=await observe.dead_letter_count(client, keys),
        last_alerts=await observe.last_alerts(client, keys, per_channel),
    )


def running(report: StatusReport) -> list[observe.Instance]:
    """The instances whose heartbeat is fresh: the daemons that are running now."""
    return [
        i
        for i in report.instances
        if (age := i.age(report.now)) is not None and age <= STALE_INSTANCE
    ]


def report_dict(report: StatusReport) -> dict[str, Any]:
    """The JSON form of the report (``--format json``): stable keys, unix-second times."""
    return {
        "at": report.now,
        "daemon_running": bool(running(report)),
        "instances": [
            {
                "name": i.name,
                "role": i.role,
                "pid": i.pid,
                "host": i.host,
                "at": i.at,
                "age_seconds": i.age(report.now),
                **_engine_fields(i),
            }
            for i in report.instances
        ],
        "rules": {
            "version": report.rules.version,
            "loaded_at": report.rules.loaded_at,
            "error": report.rules.error or None,
            "ok": report.rules.ok,
        },
        "feeds": [
            {
                "name": f.name,
                "last_success": f.last_success,
                "staleness_seconds": f.staleness(report.now),
                "last_status": f.last_status,
                "errors": f.errors,
                "last_error": f.last_error or None,
                "state": dict(f.fields),
            }
            for f in report.feeds
        ],
        "streams": [
            {
                "stream": g.stream,
                "group": g.group,
                "lag": g.lag,
                "lag_capped": g.lag_capped,
                "pending": g.pending,
                "consumers": g.consumers,
            }
            for g in report.lags
        ],
        "dead_letters": report.dead_letters,
        "last_alerts": report.last_alerts,
    }


def _engine_fields(instance: observe.Instance) -> dict[str, Any]:
    """Engine worker processes, and the daemons that run them, in the JSON report."""
    if instance.worker is not None:
        return {"parent": instance.parent, "worker": instance.worker,
                "evaluated": instance.evaluated}  # fmt: skip
    if instance.engine_workers is not None:
        return {"engine_workers": instance.engine_workers}
    return {}


def _engine_cell(instance: observe.Instance) -> str:
    """What the instances table says about engine workers."""
    if instance.worker is not None:
        return f"worker {instance.worker}: {instance.evaluated or 0:,} entries"
    if instance.engine_workers is not None:
        return f"{instance.engine_workers} workers"
    return ""


def plain(value: object, width: int = 80) -> str:
    """Feed-derived text made safe for a terminal: no control characters, one line, capped."""
    text = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(value)
    )
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def ago(seconds: float | None) -> str:
    """``42s``, ``5m``, ``3h``, ``2d`` (``never`` for ``None``)."""
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _feed_order(report: StatusReport) -> list[observe.FeedHealth]:
    """Failing feeds first, then the stalest."""
    return sorted(
        report.feeds,
        key=lambda f: (-f.errors, -(f.staleness(report.now) or float("inf")), f.name),
    )


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    return table


def _instances(report: StatusReport) -> Table | Text:
    if not running(report):
        last = max((i.at for i in report.instances if i.at), default=None)
        seen = f" (last heartbeat {human_time(last, report.now)})" if last else ""
        return Text(f"No daemon is running{seen}.", style="red")
    table = _table("Instances", "instance", "role", "host", "pid", "heartbeat", "engine")
    for inst in report.instances:
        age = inst.age(report.now)
        stale = age is None or age > STALE_INSTANCE
        table.add_row(
            Text(plain(inst.name, 40)),
            Text(plain(inst.role, 12)),
            Text(plain(inst.host, 30)),
            Text(str(inst.pid or "")),
            Text(human_time(inst.at, report.now) + (" (stale)" if stale else ""),
                 style="red" if stale else ""),
            Text(_engine_cell(inst)),
        )  # fmt: skip
    return table


def _rules(report: StatusReport) -> Text:
    rules = report.rules
    line = Text("Rules: ")
    line.append(plain(rules.version or "(none loaded)", 40), style="bold")
    if rules.loaded_at is not None:
        line.append(f", loaded {human_time(rules.loaded_at, report.now)}")
    if rules.error:
        line.append(f", last reload failed: {plain(rules.error, 200)}", style="red")
    return line


def _feeds(report: StatusReport, limit: int) -> Table:
    ordered = _feed_order(report)
    table = _table(f"Feeds ({len(ordered)})", "feed", "last success", "status", "errors", "error")
    for feed in ordered[:limit]:
        table.add_row(
            Text(plain(feed.name, 40)),
            Text(human_time(feed.last_success, report.now)),
            Text(plain(feed.last_status, 12)),
            Text(str(feed.errors), style="red" if feed.errors else ""),
            Text(plain(feed.last_error, 60)),
        )
    if len(ordered) > limit:
        table.caption = f"… {len(ordered) - limit} more (use --feeds N or --format json)"
    return table


def _streams(report: StatusReport) -> Table:
    table = _table("Streams", "stream", "group", "lag", "pending", "consumers")
    for group in report.lags:
        lag = f"≥{group.lag}" if group.lag_capped else str(group.lag)
        table.add_row(
            Text(plain(group.stream)), Text(plain(group.group)), Text(lag),
            Text(str(group.pending)), Text(str(group.consumers)),
        )  # fmt: skip
    return table


def _alerts(report: StatusReport) -> Table:
    table = _table("Last alerts", "channel", "created", "severity", "rule", "title")
    for channel, items in report.last_alerts.items():
        for alert in items:
            entry = alert.get("entry")
            title = entry.get("title", "") if isinstance(entry, dict) else ""
            table.add_row(
                Text(plain(channel, 30)),
                Text(_when(alert.get("created_at"), report.now)),
                Text(plain(alert.get("severity", ""), 10)),
                Text(plain(alert.get("rule_id", ""), 30)),
                Text(plain(title, 70)),
            )
    return table


def _when(value: object, now: float) -> str:
    """An alert's ``created_at`` (ISO 8601 or unix seconds) as a human timestamp."""
    at = observe.parse_time(value)
    return human_time(at, now) if at is not None else plain(value or "", 25)


def render(report: StatusReport, console: Console, feed_limit: int = 30) -> None:
    """Print the report as tables; every value is rendered as plain text, never as markup."""
    console.print(_instances(report))
    console.print(_rules(report))
    console.print(_feeds(report, feed_limit))
    console.print(_streams(report))
    style = "red" if report.dead_letters else ""
    console.print(Text(f"Dead letters: {report.dead_letters}", style=style))
    console.print(_alerts(report))


async def _status(config_path: Path | None, fmt: str, per_channel: int, feed_limit: int) -> None:
    settings = settings_from(config_path)
    keys = Keys(prefix=settings.redis.prefix)
    async with redis_of(settings) as client:
        report = await gather(client, keys, time.time(), per_channel)
    if fmt == "json":
        click.echo(json.dumps(report_dict(report), indent=2, ensure_ascii=False))
    elif fmt == "jsonl":
        click.echo(json.dumps(report_dict(report), ensure_ascii=False))
    else:
        render(report, Console(highlight=False), feed_limit)


def register(cli: click.Group) -> None:
    """Add ``status`` to the CLI."""

    @cli.command("status")
    @config_option
    @format_option()
    @click.option("--alerts", "per_channel", default=3, show_default=True,
                  type=click.IntRange(0, 100), help="Last alerts shown per channel.")  # fmt: skip
    @click.option("--feeds", "feed_limit", default=30, show_default=True,
                  type=click.IntRange(0), help="Feeds in the table (failing first).")  # fmt: skip
    def status(config_path: Path | None, fmt: str, per_channel: int, feed_limit: int) -> None:
        """Show feeds' health, stream lag, dead letters, last alerts and the rule-set version."""
        asyncio.run(_status(config_path, fmt, per_channel, feed_limit))

"""``treaty-monitor subscribe``: tail channel streams live with plain XREAD (no consumer group)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from typing import Any

import click
import redis.asyncio as aioredis

from monitor.alerts.alert import Alert
from monitor.alerts.render import console_text
from monitor.cli.common import (
    config_option,
    format_option,
    log_format_option,
    redis_of,
    settings_from,
)
from monitor.config import Settings
from monitor.logs import colour_wanted
from monitor.streams import Keys, decode_fields

_STREAM_ID = re.compile(r"^(\$|0|\d+(-\d+)?)$")
_CHANNEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


def _check_since(_ctx: click.Context, _param: click.Parameter, value: str) -> str:
    if not _STREAM_ID.match(value):
        raise click.BadParameter("expected a stream id such as 0, $ or 1700000000000-0")
    return value


def _check_channels(
    _ctx: click.Context, _param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    for channel in value:
        if not _CHANNEL.match(channel):
            raise click.BadParameter(f"invalid channel name {channel!r}")
    return value


async def _start_positions(
    client: aioredis.Redis, streams: list[str], since: str
) -> dict[str, str]:
    """Resolve ``$`` to each stream's last id now, so nothing is missed between reads."""
    if since != "$":
        return dict.fromkeys(streams, since)
    positions = {}
    for stream in streams:
        last: Any = await client.xrevrange(stream, count=1)
        positions[stream] = str(last[0][0]) if last else "0-0"
    return positions


def _emit(stream_id: str, fields: dict[str, str], fmt: str, colour: bool) -> bool:
    if "source" in fields:
        return False  # a story's follow-up source, not an alert (docs/events.md)
    try:
        alert = Alert.from_json(fields.get("alert", ""))
    except (ValueError, KeyError, TypeError):
        click.echo(f"warning: entry {stream_id} holds no readable alert", err=True)
        return False
    if fmt == "jsonl":
        line = json.dumps({"stream_id": stream_id, **alert.to_dict()}, ensure_ascii=False)
    else:
        line = console_text(alert, colour=colour) + "\n"
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return True


async def tail(
    settings: Settings, channels: tuple[str, ...], *, since: str, fmt: str, count: int
) -> None:
    """Print alerts of ``channels`` as they arrive; stop after ``count`` when it is positive."""
    keys = Keys(settings.redis.prefix)
    colour = colour_wanted(sys.stdout)
    async with redis_of(settings) as client:
        positions = await _start_positions(client, [keys.alerts(c) for c in channels], since)
        shown = 0
        while count <= 0 or shown < count:
            reply: Any = await client.xread(positions, count=100, block=1000)  # type: ignore[arg-type]
            for stream, entries in reply or ():
                for entry_id, fields in entries:
                    positions[str(stream)] = str(entry_id)
                    if _emit(str(entry_id), decode_fields(fields or {}), fmt, colour):
                        shown += 1
                        if 0 < count <= shown:
                            return


def register(cli: click.Group) -> None:
    """Add ``subscribe`` to the CLI."""

    @cli.command()
    @click.argument("channels", nargs=-1, required=True, callback=_check_channels)
    @click.option(
        "--since",
        default="$",
        show_default=True,
        callback=_check_since,
        help="Start after this stream id: 0 replays the whole stream, $ only new.",
    )
    # A stream has no end, so no single JSON document: table (readable blocks) or jsonl.
    @format_option("table", "jsonl")
    @click.option(
        "--count",
        type=click.IntRange(min=0),
        default=0,
        help="Exit after this many alerts (0: run until Ctrl-C).",
    )
    @config_option
    @log_format_option
    def subscribe(
        channels: tuple[str, ...], since: str, fmt: str, count: int,
        config_path: Any, log_format: str | None,
    ) -> None:  # fmt: skip
        """Print the alerts of CHANNEL... live as they arrive (XREAD; no consumer group)."""
        settings = settings_from(config_path, log_format)
        asyncio.run(tail(settings, channels, since=since, fmt=fmt, count=count))

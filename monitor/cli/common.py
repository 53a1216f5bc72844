"""Options and helpers shared by the commands.

Import-light on purpose (click only): heavy modules are imported inside the functions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from monitor.config import Settings

F = TypeVar("F", bound=Callable[..., Any])

# Output formats, the same names on every command: a table (or readable text) for people, one
# JSON document, or JSON lines (one object per item, for streams and `jq -c`).
FORMATS = ("table", "json", "jsonl")
_FORMAT_HELP = {
    "table": "table for people",
    "json": "one JSON document",
    "jsonl": "one JSON object per line",
}

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML config file (default: $TREATY_MONITOR_CONFIG, else built-in defaults).",
)
log_format_option = click.option(
    "--log-format",
    type=click.Choice(["auto", "console", "json"]),
    default=None,
    help="Log format: console on a terminal, JSON lines otherwise (default: from config).",
)


class _FormatChoice(click.Choice[str]):
    """``table|json|jsonl`` (or the subset a command supports); ``text`` is an old name of table."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return super().convert("table" if value == "text" else value, param, ctx)


def format_option(*formats: str) -> Callable[[F], F]:
    """The ``--format`` option every command shares (default ``table``); ``formats`` narrows it."""
    chosen = formats or FORMATS
    unknown = set(chosen) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown output formats {sorted(unknown)}")
    return click.option(
        "--format",
        "fmt",
        type=_FormatChoice(chosen),
        default="table",
        show_default=True,
        help="Output: " + "; ".join(f"{f}: {_FORMAT_HELP[f]}" for f in chosen) + ".",
    )


def echo_json(value: Any, fmt: str) -> None:
    """One JSON document: indented for ``json``, on one line for ``jsonl``."""
    import json

    indent = 2 if fmt == "json" else None
    click.echo(json.dumps(value, indent=indent, ensure_ascii=False))


def settings_from(
    config_path: Path | None,
    log_format: str | None = None,
    *,
    daemon: bool = False,
    **overrides: Any,
) -> Settings:
    """Load the settings and configure logging from them (CLI flags win).

    One-shot commands log warnings and errors only (unless ``log.level`` is debug): their output
    is the answer, not the embedded Redis starting and stopping.
    """
    from monitor.config import load_settings
    from monitor.logs import configure_logging

    settings = load_settings(config_path, **overrides)
    level = settings.log.level
    if not daemon and level == "info":
        level = "warning"
    configure_logging(log_format or settings.log.format, level)  # type: ignore[arg-type]
    return settings


def redis_of(settings: Settings) -> AbstractAsyncContextManager[aioredis.Redis]:
    """The configured Redis (the running daemon's embedded one, or a new one if none runs)."""
    from monitor.connections import open_redis

    return open_redis(settings.redis, settings.resolve(settings.state_dir))


def relative(seconds: float) -> str:
    """``just now``, ``42 s ago``, ``3 min ago``, ``5 h ago``, ``2 days ago``, ``in 3 min``."""
    future, span = seconds < 0, abs(seconds)
    if span < 1:
        return "just now"
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if span >= size:
            count = int(span // size)
            text = f"{count} {'day' if unit == 'days' and count == 1 else unit}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"  # pragma: no cover - the loop always returns for span >= 1


def human_time(at: float | None, now: float | None = None) -> str:
    """``2026-12-04 16:58:03 UTC (3 min ago)``; ``never`` for no time."""
    if not at:
        return "never"
    now = time.time() if now is None else now
    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{stamp} ({relative(now - at)})"

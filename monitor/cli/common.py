"""Options and helpers shared by the commands."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import click
import redis.asyncio as aioredis

from monitor.config import Settings, load_settings
from monitor.connections import open_redis
from monitor.logs import configure_logging

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
    settings = load_settings(config_path, **overrides)
    level = settings.log.level
    if not daemon and level == "info":
        level = "warning"
    configure_logging(log_format or settings.log.format, level)  # type: ignore[arg-type]
    return settings


def redis_of(settings: Settings) -> AbstractAsyncContextManager[aioredis.Redis]:
    """The configured Redis (the running daemon's embedded one, or a new one if none runs)."""
    return open_redis(settings.redis, settings.resolve(settings.state_dir))

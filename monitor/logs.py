"""structlog setup: human-readable on a terminal, JSON lines otherwise, for every logger.

Records of the standard library's loggers (apscheduler, asyncio, aiohttp) go through the same
processors via ``structlog.stdlib.ProcessorFormatter``, so a non-terminal stream carries one JSON
object per line whoever logged it. On a terminal at info level, the per-item events
(:data:`CHATTER`) are left out: the console shows alerts and the daemon's once-a-minute activity
line, not three log lines around each alert. JSON logs keep them.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, Literal, TextIO

import structlog

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
# Per-entry and per-alert events: counted in the activity line on a terminal, logged in JSON.
CHATTER = frozenset(
    {
        "feed_entries_new",
        "alert_published",
        "alert_delivered",
        "alert_grouped",
        "alert_throttled",
        "digest_delivered",
        "followup_delivered",
        "alert_silenced",
    }
)
# Third-party loggers that narrate every job run or request at info level.
_NOISY = ("apscheduler", "aiohttp.access")
_HANDLER = "treaty-monitor"


def colour_wanted(
    stream: TextIO, setting: str = "auto", env: Mapping[str, str] | None = None
) -> bool:
    """Colour ``stream``? ``always``/``never`` as set; ``auto``: on a TTY, unless NO_COLOR.

    NO_COLOR (https://no-color.org) turns colour off when set to anything but the empty string.
    """
    if setting in ("always", "never"):
        return setting == "always"
    environ: Mapping[str, str] = os.environ if env is None else env
    if environ.get("NO_COLOR", ""):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


class DropChatter:
    """Processor: drop per-item events below warning (used for terminal output at info)."""

    def __init__(self, events: frozenset[str] = CHATTER) -> None:
        self.events = events

    def __call__(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if event_dict.get("event") in self.events and method in ("debug", "info"):
            raise structlog.DropEvent
        return event_dict


def configure_logging(
    fmt: Literal["auto", "console", "json"] = "auto", level: str = "info"
) -> None:
    """Configure structlog and the standard library's root logger once; logs go to stderr."""
    stream = sys.stderr
    if fmt == "auto":
        fmt = "console" if stream.isatty() else "json"
    threshold = _LEVELS.get(level, logging.ERROR)
    renderer: structlog.typing.Processor
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=colour_wanted(stream))
    else:
        renderer = structlog.processors.JSONRenderer()
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if fmt == "console" and threshold > logging.DEBUG:
        shared.append(DropChatter())
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        # One write per record, newline included: the daemon and its engine worker processes
        # share stderr, and print()'s separate newline let their lines run together.
        logger_factory=structlog.WriteLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
    _route_stdlib(stream, renderer, shared, threshold)


def _route_stdlib(
    stream: TextIO,
    renderer: structlog.typing.Processor,
    shared: list[structlog.typing.Processor],
    threshold: int,
) -> None:
    """Send the standard library's log records through structlog's renderer."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.set_name(_HANDLER)
    root = logging.getLogger()
    # Replace only our own handler: others (a test runner's capture) stay.
    root.handlers[:] = [h for h in root.handlers if h.get_name() != _HANDLER]
    root.addHandler(handler)
    root.setLevel(threshold)
    for name in _NOISY:
        logging.getLogger(name).setLevel(max(threshold, logging.WARNING))

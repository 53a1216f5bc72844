"""Logging: one format for every logger, NO_COLOR, a quiet terminal, the activity line."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import sys

import pytest
from structlog.testing import capture_logs

from monitor import metrics
from monitor.activity import report_activity, since, snapshot
from monitor.alerts.sinks.console import ConsoleSink
from monitor.logs import colour_wanted
from tests.delivery_helpers import make_alert


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "setting", "no_color", "expected"),
    [
        (True, "auto", "", True),
        (True, "auto", "1", False),
        (False, "auto", "", False),
        (True, "never", "", False),
        (False, "always", "1", True),  # asked for explicitly: NO_COLOR yields to the setting
        (True, "auto", "0", False),  # any non-empty value counts
    ],
)
def test_colour_follows_the_terminal_the_setting_and_no_color(
    tty: bool, setting: str, no_color: str, expected: bool
) -> None:
    """Colour only on a TTY, never with NO_COLOR set, always/never as configured."""
    stream = _Tty() if tty else io.StringIO()
    assert colour_wanted(stream, setting, {"NO_COLOR": no_color}) is expected


async def test_the_console_sink_honours_no_color_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A terminal with NO_COLOR set gets alert blocks without escape codes."""
    monkeypatch.setenv("NO_COLOR", "1")
    out = _Tty()
    await ConsoleSink("console", stream=out).send(make_alert("INF talks"))
    assert "INF talks" in out.getvalue()
    assert "\x1b[" not in out.getvalue()


_STDLIB_LOGS = """
import logging
from monitor.logs import configure_logging
configure_logging({fmt!r}, "info")
logging.getLogger("asyncio").error("Task was destroyed but it is pending: %s", "t1")
logging.getLogger("aiohttp.client").warning("connection reset by %s", "peer")
logging.getLogger("apscheduler.executors.default").info("Running job %s", "poll")
import structlog
structlog.get_logger("monitor.engine").info("alert_published", alert_id="a1")
structlog.get_logger("monitor.service").info("daemon_activity", alerts_published=1)
"""


def _stderr_of(fmt: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _STDLIB_LOGS.format(fmt=fmt)],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )
    return result.stderr.splitlines()


def test_standard_library_records_become_one_json_object_per_line() -> None:
    """asyncio and aiohttp records are JSON with level and logger; apscheduler's chatter is not."""
    rows = [json.loads(line) for line in _stderr_of("json")]
    by_event = {row["event"]: row for row in rows}
    destroyed = by_event["Task was destroyed but it is pending: t1"]
    assert destroyed["level"] == "error"
    assert destroyed["logger"] == "asyncio"
    assert by_event["connection reset by peer"]["level"] == "warning"
    assert "Running job poll" not in by_event
    assert "alert_published" in by_event  # JSON logs keep per-alert events


def test_a_console_at_info_drops_per_alert_events_and_keeps_the_rest() -> None:
    """On a terminal the alert blocks speak; per-alert log lines are left out."""
    text = "\n".join(_stderr_of("console"))
    assert "alert_published" not in text
    assert "daemon_activity" in text
    assert "Task was destroyed but it is pending: t1" in text
    assert "\x1b[" not in text


def test_activity_counts_what_happened_between_two_snapshots() -> None:
    """Fetches, new entries and deliveries since the last line, not since start."""
    before = snapshot()
    metrics.FETCHES.labels("activity-feed", "ok").inc(3)
    metrics.ENTRIES_NEW.labels("activity-feed").inc(2)
    metrics.DELIVERIES.labels(sink="activity-sink", outcome="delivered").inc()
    metrics.DELIVERIES.labels(sink="activity-sink", outcome="retry").inc(4)
    done = since(before, snapshot())
    assert done["feeds_polled"] == 3
    assert done["entries_new"] == 2
    assert done["alerts_delivered"] == 1
    assert done["delivery_retries"] == 4
    assert since(snapshot(), snapshot())["feeds_polled"] == 0


async def test_the_daemon_reports_its_activity_every_period_until_stopped() -> None:
    """One daemon_activity event per period, with what the period saw."""
    stop = asyncio.Event()
    with capture_logs() as logs:
        task = asyncio.create_task(report_activity(stop, every=0.05))
        await asyncio.sleep(0.02)
        metrics.ENTRIES_NEW.labels("activity-feed-2").inc(5)
        for _ in range(1000):  # bounded: at most ~10 s
            if any(e.get("entries_new") for e in logs):
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)
    lines = [e for e in logs if e["event"] == "daemon_activity"]
    assert any(e["entries_new"] == 5 for e in lines)
    assert all(e["log_level"] == "info" for e in lines)

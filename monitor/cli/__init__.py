"""The ``treaty-monitor`` command line. Each command group lives in its own module.

A command's module (and with it Redis, aiohttp, hyperscan, feedparser, rich, pydantic) is imported
only when that command runs, so ``treaty-monitor --help`` starts fast.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any, NoReturn

import click

from monitor import __version__
from monitor.cli.help import HelpGroup
from monitor.errors import ConfigError, MonitorError, RuleError

# name → (modules whose register() adds it, in order; the summary the top-level --help shows,
# which is the first sentence of the command's own help: a test keeps them equal).
COMMANDS: dict[str, tuple[tuple[str, ...], str]] = {
    "config": (("config_cmd",), "Check the config file and the rules together."),
    "dlq": (("dlq_cmd",), "Inspect, replay or drop alerts that could not be delivered."),
    "feeds": (("feeds_cmd",), "Feed health; find feeds, import and export OPML."),
    "match": (
        ("match_cmd",),
        "Print, for each entry of each FEED (a path or URL), the rules that match it.",
    ),
    "rules": (("rules_cmd", "evaluate_cmd"), "Check, test, backtest and evaluate rule files."),
    "run": (("run_cmd",), "Run the daemon: fetch feeds, match rules, deliver alerts."),
    "silence": (
        ("silence_cmd",),
        "Hold back alerts matching rule/tag/treaty/actor/feed/channel/story for a while.",
    ),
    "status": (
        ("status_cmd",),
        "Show feeds' health, stream lag, dead letters, last alerts and the rule-set version.",
    ),
    "subscribe": (
        ("subscribe_cmd",),
        "Print the alerts of CHANNEL... live as they arrive (XREAD; no consumer group).",
    ),
}


class LazyGroup(HelpGroup):
    """The root group: loads a command's module the first time the command is looked up."""

    group_class = HelpGroup

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command name, without importing any command module."""
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command, its module imported (and registered) on first use."""
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            for module in COMMANDS[cmd_name][0]:
                importlib.import_module(f"monitor.cli.{module}").register(self)
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a reader that went away ends it quietly (click would exit 1)."""
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _quiet_broken_pipe()

    def summary(self, ctx: click.Context, cmd_name: str) -> str:
        """The one-line help of a command, from the table (nothing is imported)."""
        if cmd_name in COMMANDS:
            return COMMANDS[cmd_name][1]
        return super().summary(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="treaty-monitor")
def cli() -> None:
    """Watch RSS/Atom feeds and alert on treaty developments."""


def _register() -> None:
    """Load every command now (tests that inspect the commands call this)."""
    ctx = click.Context(cli)
    for name in COMMANDS:
        cli.get_command(ctx, name)


def _quiet_broken_pipe() -> NoReturn:
    """The reader went away (``| head``): no traceback, and none when Python flushes at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (an embedding caller's stream): nothing to flush
        pass
    sys.exit(141)  # what a shell reports for a process ended by SIGPIPE (128 + 13)


def main() -> None:
    """Entry point: run the CLI, turning known errors into one line and an exit code."""
    try:
        code = cli.main(standalone_mode=False)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except RuleError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()
    sys.exit(code if isinstance(code, int) else 0)

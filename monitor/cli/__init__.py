"""The ``treaty-monitor`` command line. Each command group lives in its own module."""

from __future__ import annotations

import sys

import click

from monitor import __version__
from monitor.errors import ConfigError, MonitorError, RuleError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="treaty-monitor")
def cli() -> None:
    """Watch RSS/Atom feeds and alert on treaty developments."""


def _register() -> None:
    from monitor.cli import (
        dlq_cmd,
        evaluate_cmd,
        feeds_cmd,
        match_cmd,
        rules_cmd,
        run_cmd,
        silence_cmd,
        status_cmd,
        subscribe_cmd,
    )

    modules = (run_cmd, match_cmd, rules_cmd, evaluate_cmd, subscribe_cmd, feeds_cmd, dlq_cmd)
    for module in (*modules, silence_cmd, status_cmd):
        module.register(cli)


def main() -> None:
    """Entry point: run the CLI, turning known errors into one line and an exit code."""
    _register()
    try:
        code = cli.main(standalone_mode=False)
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
    sys.exit(code if isinstance(code, int) else 0)

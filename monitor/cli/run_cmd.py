"""``treaty-monitor run``: the daemon."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import click

from monitor import early_stop
from monitor.cli.common import config_option, log_format_option, settings_from
from monitor.service import ROLES


@click.command("run")
@config_option
@log_format_option
@click.option(
    "--role",
    "role",
    type=click.Choice([*ROLES, "all"]),
    multiple=True,
    default=("all",),
    show_default=True,
    help="Which stages this process runs; repeat for several. Any number of processes of each "
    "role may share one Redis.",
)
def run(config_path: Path | None, log_format: str | None, role: tuple[str, ...]) -> None:
    """Run the daemon: fetch feeds, match rules, deliver alerts. Ctrl-C or SIGTERM stops it."""
    # A stop asked for while starting (imports, rules, Redis) is remembered and honoured once the
    # loop runs (the CLI's main() already caught signals before importing the commands).
    early_stop.catch()
    from monitor.service import run_daemon

    settings = settings_from(config_path, log_format, daemon=True)
    if log_format:
        # Engine worker processes configure their logging from the settings they are given.
        log = settings.log.model_copy(update={"format": log_format})
        settings = settings.model_copy(update={"log": log})
    roles = frozenset(ROLES) if "all" in role else frozenset(role)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if early_stop.requested():
            stop.set()
        await run_daemon(settings, roles, stop)
        # Stopped cleanly: a repeated signal while the loop and the worker pools are torn down
        # must not turn that into a death by signal.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)

    asyncio.run(main())


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI."""
    cli.add_command(run)

"""Help output that lists each subcommand's whole summary (click cuts it to fit one line)."""

from __future__ import annotations

import click


class HelpGroup(click.Group):
    """A group whose ``--help`` wraps command summaries instead of cutting them with "..."."""

    group_class: type[click.Group] | type[type] | None = (
        type  # groups made with @group.group() are HelpGroups too
    )

    def summary(self, ctx: click.Context, cmd_name: str) -> str:
        """The command's ``short_help``, else the first sentence of its help, uncut."""
        command = self.get_command(ctx, cmd_name)
        return command.get_short_help_str(limit=10_000) if command else ""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """One row per visible command: name and its whole summary (wrapped, never cut)."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is not None and command.hidden:
                continue
            rows.append((name, self.summary(ctx, name)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

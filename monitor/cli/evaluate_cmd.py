"""``treaty-monitor rules evaluate``: precision and recall of a rule set on labelled items."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add this module's commands to the CLI (after ``rules_cmd`` created the ``rules`` group)."""

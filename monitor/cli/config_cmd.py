"""``treaty-monitor config check``: the config file and the rules it names, validated together."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from monitor.cli.common import config_option, echo_json, format_option
from monitor.cli.help import HelpGroup
from monitor.config import CONFIG_ENV, Settings, load_settings
from monitor.configcheck import Problem, cross_check, published_channels
from monitor.errors import ConfigError
from monitor.rules.engine import RuleSet
from monitor.rules.loader import RuleSetError, load_rule_set


def _config_file(config_path: Path | None) -> Path | None:
    if config_path is None and (env_path := os.environ.get(CONFIG_ENV)):
        return Path(env_path)
    return config_path


def _rules(settings: Settings) -> tuple[RuleSet | None, list[Problem]]:
    dirs = settings.rules_dirs()
    try:
        rule_set = load_rule_set(dirs, allow_empty=True)
    except RuleSetError as exc:
        return None, [Problem("error", "", e.location_message()) for e in exc.errors]
    if not rule_set.rules:
        where = ", ".join(str(d) for d in dirs)
        return rule_set, [Problem("warning", where, "no rules: the daemon would run with 0 rules")]
    return rule_set, []


def check_all(config_path: Path | None) -> tuple[dict[str, Any], list[Problem]]:
    """Validate the config, its rules and the two together; a summary and the problems found."""
    path = _config_file(config_path)
    label = str(path) if path else "(defaults)"
    summary: dict[str, Any] = {"config": label}
    try:
        settings = load_settings(path)
    except ConfigError as exc:
        return summary, [Problem("error", "", str(exc))]
    rule_set, problems = _rules(settings)
    summary["rules"] = {"dirs": [str(d) for d in settings.rules_dirs()]}
    if rule_set is None:
        return summary, problems
    channels = published_channels(rule_set.rules)
    summary["rules"].update(
        count=len(rule_set.rules), version=rule_set.version, channels=sorted(channels)
    )
    summary.update(feeds=len(settings.feeds), subscriptions=len(settings.subscriptions))
    source = path.read_text(encoding="utf-8").splitlines() if path else []
    problems += cross_check(settings, channels, label=label, source=source)
    return summary, problems


def _print_table(summary: dict[str, Any], problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(problem.line())
    errors = sum(p.level == "error" for p in problems)
    warnings = len(problems) - errors
    rules = summary.get("rules", {})
    if "count" in rules:
        what = (
            f"{summary['config']}: {summary['feeds']} feed(s), {summary['subscriptions']} "
            f"subscription(s); {rules['count']} rule(s) publishing to "
            f"{', '.join(rules['channels']) or 'no channel'}"
        )
    else:
        what = summary["config"]
    verdict = "FAILED" if errors else "ok"
    click.echo(f"{verdict}: {what}; {errors} error(s), {warnings} warning(s)")


@click.group("config", cls=HelpGroup)
def config() -> None:
    """Check the config file and the rules together."""


@config.command("check")
@config_option
@format_option()
def check(config_path: Path | None, fmt: str) -> None:
    """Validate the config and its rules together; exit 1 on any error.

    Errors: an invalid config or rule file, a subscription to a channel no rule publishes.
    Warnings: a sink no subscription uses, a rule directory without rules.
    """
    summary, problems = check_all(config_path)
    ok = not any(p.level == "error" for p in problems)
    if fmt == "table":
        _print_table(summary, problems)
    else:
        found = [{"level": p.level, "where": p.where, "message": p.message} for p in problems]
        echo_json({"ok": ok, **summary, "problems": found}, fmt)
    if not ok:
        sys.exit(1)


def register(cli: click.Group) -> None:
    """Add the ``config`` group to the CLI."""
    cli.add_command(config)

"""``treaty-monitor silence add|list|expire``: hold back alerts by matchers for a while."""

from __future__ import annotations

import asyncio
import getpass
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import click

from monitor.cli.common import (
    config_option,
    format_option,
    log_format_option,
    redis_of,
    settings_from,
)
from monitor.config import parse_duration

T = TypeVar("T")


def _run(config_path: Any, log_format: str | None, work: Callable[[Any], Awaitable[T]]) -> T:
    from monitor.silences.store import SilenceStore
    from monitor.streams import Keys

    settings = settings_from(config_path, log_format)

    async def run() -> T:
        async with redis_of(settings) as client:
            return await work(SilenceStore(client, Keys(settings.redis.prefix)))

    return asyncio.run(run())


def _when(text: str | None, now: datetime) -> datetime:
    if text is None:
        return now
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _row(silence: Any, now: datetime) -> str:
    matchers = " ".join(str(m) for m in silence.matchers)
    ends = silence.ends_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{silence.id}  {silence.state(now).value:<8} until {ends}  {matchers}\n"
        f"    by {silence.created_by}: {silence.comment}"
    )


def register(cli: click.Group) -> None:
    """Add the ``silence`` group to the CLI."""

    @cli.group()
    def silence() -> None:
        """Hold back alerts matching rule/tag/treaty/actor/feed/channel/story for a while."""

    @silence.command("add")
    @click.argument("matchers", nargs=-1, required=True)
    @click.option("--duration", default="2h", show_default=True, help="How long, e.g. 2h, 1d.")
    @click.option("--start", default=None, help="ISO 8601 start (default: now).")
    @click.option("--until", "until", default=None, help="ISO 8601 end (instead of --duration).")
    @click.option("--author", default=None, help="Who silences (default: your login name).")
    @click.option("--comment", required=True, help="Why.")
    @config_option
    @log_format_option
    def add_cmd(
        matchers: tuple[str, ...],
        duration: str,
        start: str | None,
        until: str | None,
        author: str | None,
        comment: str,
        config_path: Any,
        log_format: str | None,
    ) -> None:
        """Add a silence from matchers such as treaty=inf tag=talks feed!=tass story=ID.

        Operators: = != =~ !~ (the last two: a full RE2 match). Prints the new silence's id.
        """
        from monitor.silences.model import Matcher, SilenceError, new_silence

        now = datetime.now(UTC)
        try:
            parsed = tuple(Matcher.parse(m) for m in matchers)
            begins = _when(start, now)
            ends = (
                _when(until, now) if until else begins + timedelta(seconds=parse_duration(duration))
            )
            made = new_silence(
                secrets.token_hex(8), parsed, starts_at=begins, ends_at=ends,
                created_by=author or getpass.getuser(), comment=comment, now=now,
            )  # fmt: skip
        except (SilenceError, ValueError) as exc:
            raise click.UsageError(str(exc)) from None
        _run(config_path, log_format, lambda store: store.add(made))
        click.echo(made.id)

    @silence.command("list")
    @click.option("--all", "all_", is_flag=True, help="Include expired silences.")
    @format_option()
    @config_option
    @log_format_option
    def list_cmd(all_: bool, fmt: str, config_path: Any, log_format: str | None) -> None:
        """List active and pending silences (``--all``: expired ones too)."""
        from monitor.silences.model import State

        now = datetime.now(UTC)
        found = _run(config_path, log_format, lambda store: store.all(now))
        _print([s for s in found if all_ or s.state(now) is not State.EXPIRED], fmt, now)

    @silence.command("expire")
    @click.argument("ids", nargs=-1, required=True)
    @config_option
    @log_format_option
    def expire_cmd(ids: tuple[str, ...], config_path: Any, log_format: str | None) -> None:
        """End silences now (an id prefix is enough when it names one)."""
        from monitor.silences.store import SilenceNotFound

        now = datetime.now(UTC)

        async def expire_all(store: Any) -> list[str]:
            return [(await store.expire(wanted, now)).id for wanted in ids]

        try:
            done = _run(config_path, log_format, expire_all)
        except SilenceNotFound as exc:
            raise click.ClickException(str(exc)) from None
        for silence_id in done:
            click.echo(f"expired {silence_id}")


def _print(shown: list[Any], fmt: str, now: datetime) -> None:
    if fmt == "json":
        click.echo(json.dumps([_with_state(s, now) for s in shown], ensure_ascii=False))
    elif fmt == "jsonl":
        for s in shown:
            click.echo(json.dumps(_with_state(s, now), ensure_ascii=False))
    else:
        for s in shown:
            click.echo(_row(s, now))
        click.echo(f"{len(shown)} silence(s)", err=True)


def _with_state(silence: Any, now: datetime) -> dict[str, Any]:
    return {**silence.to_dict(), "state": silence.state(now).value}

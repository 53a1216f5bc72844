"""``treaty-monitor dlq list|replay|drop``: the dead-letter stream, for people."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import redis.asyncio as aioredis

from monitor.alerts.deadletter import DeadLetter, drop, drop_all, list_dead_letters, replay
from monitor.alerts.textsafe import one_line
from monitor.cli.common import (
    config_option,
    format_option,
    log_format_option,
    redis_of,
    settings_from,
)
from monitor.streams import Keys

T = TypeVar("T")


def _with_redis(
    config_path: Any, log_format: str | None, work: Callable[[aioredis.Redis, Keys], Awaitable[T]]
) -> T:
    settings = settings_from(config_path, log_format)

    async def run() -> T:
        async with redis_of(settings) as client:
            return await work(client, Keys(settings.redis.prefix))

    return asyncio.run(run())


def _describe(letter: DeadLetter) -> str:
    try:
        data = json.loads(letter.alert) if letter.alert else {}
        title = one_line(str(data.get("entry", {}).get("title", "")), 120)
        rule = one_line(str(data.get("rule_id", "")), 60)
    except (ValueError, AttributeError):
        title, rule = "(unreadable alert)", ""
    head = (
        f"{letter.id}  {one_line(letter.subscription)} → {one_line(letter.sink)}  "
        f"attempts={letter.attempts}  {letter.failed_at}"
    )
    what = f"[{rule}] {title}" if letter.alert else "(payload missing)"
    return f"{head}\n    {what}\n    error: {one_line(letter.error, 300)}"


def _targets(ids: tuple[str, ...], all_: bool) -> tuple[str, ...]:
    if bool(ids) == all_:
        raise click.UsageError("give dead-letter IDs or --all (not both)")
    return ids


async def _replay_all(
    client: aioredis.Redis, keys: Keys, wanted: tuple[str, ...]
) -> tuple[int, list[str]]:
    """Replay ``wanted`` (all when empty); returns (replayed, ids without a payload)."""
    done, skipped = 0, []
    for letter in await list_dead_letters(client, keys, ids=wanted, limit=100_000):
        if await replay(client, keys, letter) is None:
            skipped.append(letter.id)
        else:
            done += 1
    return done, skipped


async def _drop(client: aioredis.Redis, keys: Keys, wanted: tuple[str, ...]) -> int:
    return await (drop(client, keys, wanted) if wanted else drop_all(client, keys))


def register(cli: click.Group) -> None:
    """Add the ``dlq`` group to the CLI."""

    @cli.group()
    def dlq() -> None:
        """Inspect, replay or drop alerts that could not be delivered."""

    @dlq.command("list")
    @format_option()
    @click.option("--limit", type=click.IntRange(min=1), default=1000, show_default=True)
    @config_option
    @log_format_option
    def list_cmd(fmt: str, limit: int, config_path: Any, log_format: str | None) -> None:
        """List dead letters, oldest first."""
        letters = _with_redis(config_path, log_format,
                              lambda c, k: list_dead_letters(c, k, limit=limit))  # fmt: skip
        if fmt == "json":
            click.echo(json.dumps([x.to_dict() for x in letters], indent=2, ensure_ascii=False))
        for letter in letters if fmt != "json" else ():
            if fmt == "jsonl":
                click.echo(json.dumps(letter.to_dict(), ensure_ascii=False))
            else:
                click.echo(_describe(letter))
        if fmt == "table":
            click.echo(f"{len(letters)} dead letter(s)", err=True)

    @dlq.command("replay")
    @click.argument("ids", nargs=-1)
    @click.option("--all", "all_", is_flag=True, help="Replay every dead letter.")
    @config_option
    @log_format_option
    def replay_cmd(
        ids: tuple[str, ...], all_: bool, config_path: Any, log_format: str | None
    ) -> None:
        """Put dead letters back on their channel, for their subscription only."""
        wanted = _targets(ids, all_)

        done, skipped = _with_redis(config_path, log_format, lambda c, k: _replay_all(c, k, wanted))
        click.echo(f"replayed {done} dead letter(s)")
        if skipped:
            click.echo(f"not replayable (no alert payload): {' '.join(skipped)}", err=True)
        missing = len(wanted) - done - len(skipped)
        if missing > 0:
            raise click.ClickException(f"{missing} id(s) not found in the dead-letter stream")

    @dlq.command("drop")
    @click.argument("ids", nargs=-1)
    @click.option("--all", "all_", is_flag=True, help="Drop every dead letter.")
    @config_option
    @log_format_option
    def drop_cmd(
        ids: tuple[str, ...], all_: bool, config_path: Any, log_format: str | None
    ) -> None:
        """Delete dead letters for good."""
        wanted = _targets(ids, all_)
        count = _with_redis(config_path, log_format, lambda c, k: _drop(c, k, wanted))
        click.echo(f"dropped {count} dead letter(s)")

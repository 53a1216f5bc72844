"""``treaty-monitor feeds discover|import|export``: find feeds, and move feed lists as OPML.

Heavy modules are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from monitor.cli.common import config_option, log_format_option
from monitor.cli.feeds_cmd import echo_list, list_format_option, parent_settings

MAX_OPML_BYTES = 10_000_000


def register(group: click.Group) -> None:
    """Add the subcommands to the ``feeds`` group."""
    for command in (discover, import_opml, export_opml):
        group.add_command(command)


@click.command()
@click.argument("url")
@config_option
@log_format_option
@list_format_option
@click.pass_context
def discover(
    ctx: click.Context, url: str, config_path: Path | None, log_format: str | None, fmt: str
) -> None:
    """List the feeds a web page links to.

    Reads the page's <link rel="alternate"> RSS/Atom links, resolved against the page URL; a
    URL that is a feed lists itself. Fetched under the same limits and address policy as feeds.
    """
    from monitor.feeds.oneshot import discover as find_feeds

    settings = parent_settings(ctx, config_path, log_format)
    links = asyncio.run(find_feeds(url, settings.fetch))
    rows = [{"url": link.url, "type": link.kind, "title": link.title} for link in links]
    echo_list(rows, fmt, ("url", "type", "title"))


@click.command("import")
@click.argument("opml_file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
@log_format_option
@click.option(
    "--write",
    is_flag=True,
    help="Append the new [[feeds]] to the config file (-c) instead of printing them.",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Also import feeds on private addresses (localhost, 10.x, ...); left out by default.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["toml", "json", "jsonl"]),
    default="toml",
    show_default=True,
    help="Output format of the new feeds (without --write).",
)
@click.pass_context
def import_opml(
    ctx: click.Context,
    opml_file: Path,
    config_path: Path | None,
    log_format: str | None,
    write: bool,
    allow_private: bool,
    fmt: str,
) -> None:
    """Turn an OPML file into [[feeds]] config.

    Prints the [[feeds]] tables, or appends them to the config file with --write. Feeds the
    config (-c) already has are left out, and names are made unique against it.
    Folders and categories become tags. Only http(s) feeds are imported.
    """
    import tomli_w

    from monitor.feeds.opml import feed_tables, read_opml

    config = config_path or (ctx.find_object(dict) or {}).get("config_path")
    settings = parent_settings(ctx, config, log_format)
    feed_list = read_opml(_read_capped(opml_file), str(opml_file))
    configured = {settings.feed_url(f): f.name for f in settings.feeds}
    configured.update({f.url: f.name for f in settings.feeds})
    tables, left_out = feed_tables(
        feed_list.feeds,
        str(opml_file),
        taken_names={f.name for f in settings.feeds},
        taken_urls=configured,
        allow_private=allow_private,
    )
    for note in (*feed_list.skipped, *left_out):
        click.echo(f"skipped: {note}", err=True)
    text = f"\n# Imported from {opml_file.name}\n" + tomli_w.dumps({"feeds": tables})
    if write:
        target = config or _env_config()
        if not tables:
            click.echo(f"no new feeds for {target}", err=True)
            return
        _append_checked(target, text)
        click.echo(f"added {len(tables)} feeds to {target}", err=True)
    elif fmt == "toml":
        click.echo(text.lstrip("\n"), nl=False)
    else:
        echo_list(tables, fmt)


@click.command("export")
@config_option
@log_format_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["opml", "json", "jsonl"]),
    default="opml",
    show_default=True,
    help="Output format.",
)
@click.pass_context
def export_opml(
    ctx: click.Context, config_path: Path | None, log_format: str | None, fmt: str
) -> None:
    """Print the configured feeds as OPML.

    OPML 2.0 for another reader or for `feeds import`; tags become categories.
    """
    from monitor.feeds.opml import write_opml

    settings = parent_settings(ctx, config_path, log_format)
    rows: list[dict[str, Any]] = []
    for feed in settings.feeds:
        row: dict[str, Any] = {"name": feed.name, "url": settings.feed_url(feed)}
        row.update(tags=list(feed.tags), language=feed.language, interval=feed.interval)
        rows.append({**row, "enabled": feed.enabled})
    if fmt == "opml":
        click.echo(write_opml(rows, title="treaty-monitor feeds").decode(), nl=False)
    else:
        echo_list(rows, fmt)


def _read_capped(path: Path) -> bytes:
    from monitor.errors import FeedListError

    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_OPML_BYTES + 1)
    except OSError as exc:
        raise FeedListError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > MAX_OPML_BYTES:
        raise FeedListError(f"{path}: larger than {MAX_OPML_BYTES} bytes")
    return data


def _env_config() -> Path:
    from monitor.config import CONFIG_ENV

    if value := os.environ.get(CONFIG_ENV):
        return Path(value)
    raise click.UsageError("--write needs the config file to append to (-c FILE)")


def _append_checked(config: Path, addition: str) -> None:
    """Append to ``config`` only if the result still loads; the file is replaced atomically."""
    import shutil

    from monitor.config import load_settings
    from monitor.errors import ConfigError

    text = config.read_text(encoding="utf-8")
    if text and not text.endswith("\n"):
        text += "\n"
    draft = config.with_name(f".{config.name}.import")
    draft.write_text(text + addition, encoding="utf-8")
    try:
        shutil.copymode(config, draft)
        load_settings(draft)
    except ConfigError as exc:
        draft.unlink(missing_ok=True)
        detail = str(exc).replace(str(draft), str(config))
        message = f"{config}: not changed, the imported feeds would not load:\n{detail}"
        raise ConfigError(message) from None
    except BaseException:
        draft.unlink(missing_ok=True)
        raise
    os.replace(draft, config)

"""Put the desk on the daemon's aiohttp application: routes, templates, static files, guard."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
import redis.asyncio as aioredis
from aiohttp import web

from monitor.alerts.subscriptions import Catalog, SubscriptionStore
from monitor.desk import api, api_boards, boards, outlets, pages, subscriptions
from monitor.desk.context import DeskContext
from monitor.desk.security import Guard, is_loopback, middleware
from monitor.errors import ConfigError
from monitor.history.store import HistoryStore
from monitor.silences.store import SilenceStore
from monitor.streams import Keys

_HERE = Path(__file__).parent


def guard_for(host: str, token_env: str | None, environ: dict[str, str] | None = None) -> Guard:
    """The guard for a listen host; a non-loopback host without a token is a config error."""
    env = dict(os.environ) if environ is None else environ
    token = env.get(token_env, "").strip() if token_env else ""
    if not is_loopback(host) and not token:
        where = f"${token_env} is empty" if token_env else "http.token_env is not set"
        raise ConfigError(
            f"http.listen: {host} is not loopback, so the desk needs a token ({where})"
        )
    return Guard(token or None, loopback=is_loopback(host))


def install(
    app: web.Application,
    client: aioredis.Redis,
    keys: Keys,
    guard: Guard,
    *,
    catalog: Catalog | None = None,
) -> None:
    """Add the desk's pages, API and static files to ``app``.

    ``catalog``: the config's subscriptions and sinks, which runtime subscriptions must respect.
    """
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    ctx = DeskContext(client, keys, guard, HistoryStore(client, keys), SilenceStore(client, keys),
                      templates)  # fmt: skip
    app.middlewares.append(middleware(guard))
    app.add_routes(api.routes(ctx))
    app.add_routes(api_boards.routes(ctx))
    app.add_routes(pages.routes(ctx))
    subs, catalog = SubscriptionStore(client, keys), catalog or Catalog()
    app.add_routes(subscriptions.routes(subs, catalog))
    app.add_routes(subscriptions.page_routes(subs, catalog, lambda template, request, **values: (
        pages.render(ctx, template, request, **values)
    )))  # fmt: skip
    app.add_routes(outlets.routes(ctx))
    app.add_routes(boards.routes(ctx, lambda template, request, **values: pages.render(
        ctx, template, request, **values
    )))  # fmt: skip
    app.router.add_static("/static", _HERE / "static", show_index=False)

"""Runtime subscriptions: validation, the Redis store, the API, and pick-up without a restart."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr

from monitor.alerts.subscriptions import (
    Catalog,
    InvalidSubscription,
    SubscriptionClash,
    SubscriptionNotFound,
    SubscriptionStore,
    parse_subscription,
)
from monitor.alerts.supervisor import SubscriptionSupervisor
from monitor.config import (
    DeliverySettings,
    HttpSettings,
    RedisSettings,
    RulesSettings,
    Settings,
    SinkSettings,
    SubscriptionSettings,
)
from monitor.desk.app import install
from monitor.desk.openapi import document
from monitor.desk.security import Guard
from monitor.desk.subscriptions import routes
from monitor.service import run_daemon
from monitor.streams import Keys, subscription_group
from tests.delivery_helpers import HttpReceiver, free_port, http_receiver, make_alert, publish
from tests.desk_helpers import TOKEN
from tests.story_helpers import until

BEARER = {"Authorization": f"Bearer {TOKEN}"}
CONFIG_SUB = SubscriptionSettings(name="ops", channels=("arms-control",), sink="console")
CATALOG = Catalog((CONFIG_SUB,), ("console", "hook"))
FAST = DeliverySettings(
    max_attempts=3, backoff_base=0.01, backoff_max=0.05, claim_idle=0.2, group_window=0,
    followup_delay=0.2, shutdown_grace=0.3, merge_delay=0, subscriptions_poll=0.05,
)  # fmt: skip


def _body(**changes: Any) -> dict[str, Any]:
    return {"name": "analysts", "channels": ["arms-control"], "sink": "hook", **changes}


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (_body(channels=[]), "channels:"),
        ({"name": "analysts", "channels": ["x"]}, "sink:"),
        (_body(sink="slack-prod"), "sink: unknown sink 'slack-prod'"),
        (_body(webhook_url="https://hooks.example/secret"), "webhook_url: Extra inputs"),
        (_body(name="Not A Name"), "name:"),
        (_body(reminders=["soon"]), "reminders:"),
        (_body(min_severity="loud"), "min_severity:"),
        (_body(channels=["arms-control", "alerts:*"]), "channels.1: 'alerts:\\*' is not a channel"),
        (_body(name="n" * 101), "name: longer than 100"),
        (["analysts"], "body: expected a JSON object"),
    ],
)
def test_an_invalid_runtime_subscription_is_refused_naming_the_field(body: Any, named: str) -> None:
    """Validation is the config's model plus config-only sinks; the message names the field."""
    with pytest.raises(InvalidSubscription, match=named.replace("'", ".")):
        parse_subscription(body, CATALOG)


def test_a_runtime_subscription_may_not_take_a_config_subscriptions_name() -> None:
    """A name the config file uses is a clash, not a validation error."""
    with pytest.raises(SubscriptionClash, match="config file"):
        parse_subscription(_body(name="ops"), CATALOG)


async def test_the_store_adds_lists_and_removes_and_bumps_its_version(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Each change moves the version; a duplicate name clashes; removing twice is not found."""
    store = SubscriptionStore(redis_client, keys)
    sub = parse_subscription(_body(tags=["inf"], digest="1h"), CATALOG)
    assert await store.version() == 0
    await store.add(sub)
    assert await store.all() == [sub]
    with pytest.raises(SubscriptionClash):
        await store.add(sub)
    assert await store.version() == 1
    assert await store.remove("analysts") == sub
    assert await store.all() == []
    assert await store.version() == 2
    with pytest.raises(SubscriptionNotFound):
        await store.remove("analysts")


async def test_removing_a_subscription_destroys_its_consumer_groups(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A deleted subscription's group would otherwise hold back stream trims for good."""
    store = SubscriptionStore(redis_client, keys)
    await store.add(parse_subscription(_body(channels=["arms-control", "never-used"]), CATALOG))
    stream = keys.alerts("arms-control")
    await redis_client.xgroup_create(stream, subscription_group("analysts"), id="0", mkstream=True)
    await store.remove("analysts")
    assert await redis_client.xinfo_groups(stream) == []


@contextlib.asynccontextmanager
async def _desk(client: aioredis.Redis, keys: Keys, catalog: Catalog) -> AsyncIterator[str]:
    app = web.Application()
    install(app, client, keys, Guard(TOKEN, loopback=True), catalog=catalog)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


async def test_the_api_creates_lists_and_deletes_runtime_subscriptions_with_the_token(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Writes need the token; config ones are listed read-only and cannot be deleted."""
    url = "/api/v1/subscriptions"
    async with _desk(redis_client, keys, CATALOG) as base, aiohttp.ClientSession(base) as http:
        async with http.post(url, json=_body()) as refused:
            assert refused.status == 403
        async with http.post(url, json=_body(), headers=BEARER) as made:
            assert made.status == 201
            assert (await made.json())["source"] == "runtime"
        async with http.post(url, json=_body(), headers=BEARER) as again:
            assert again.status == 409
        async with http.post(url, json=_body(name="ops"), headers=BEARER) as clash:
            assert clash.status == 409
        async with http.post(url, json=_body(channels="x"), headers=BEARER) as bad:
            assert bad.status == 400
            assert (await bad.json())["error"].startswith("channels:")
        async with http.post(url, data="{", headers=BEARER) as broken:
            assert broken.status == 400
        async with http.get(url) as listed:
            items = {i["name"]: i for i in (await listed.json())["items"]}
        assert (items["ops"]["source"], items["ops"]["read_only"]) == ("config", True)
        assert (items["analysts"]["source"], items["analysts"]["read_only"]) == ("runtime", False)
        async with http.delete(f"{url}/ops", headers=BEARER) as config_one:
            assert config_one.status == 409
        async with http.delete(f"{url}/analysts") as refused:
            assert refused.status == 403
        async with http.delete(f"{url}/analysts", headers=BEARER) as deleted:
            assert deleted.status == 200
        async with http.delete(f"{url}/analysts", headers=BEARER) as gone:
            assert gone.status == 404
    assert await SubscriptionStore(redis_client, keys).all() == []


def test_the_openapi_document_describes_the_subscription_routes() -> None:
    """Each subscription route is a path of the document, with its method."""
    doc = document()
    for route in routes(SubscriptionStore(None, Keys()), CATALOG):  # type: ignore[arg-type]
        assert isinstance(route, web.RouteDef)
        assert route.method.lower() in doc["paths"][route.path], route.path


async def _has_group(client: aioredis.Redis, stream: str, group: str) -> bool:
    return group in await _groups(client, stream)


async def _groups(client: aioredis.Redis, stream: str) -> list[str]:
    if not await client.exists(stream):
        return []
    return [str(g["name"]) for g in await client.xinfo_groups(stream)]


async def test_a_subscription_created_through_the_api_delivers_without_a_restart(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """The supervisor starts its notifier within a poll; after deletion it stops and is gone."""
    stop = asyncio.Event()
    async with http_receiver() as receiver:
        settings = _settings(receiver)
        supervisor = SubscriptionSupervisor(settings, redis_client, keys, consumer="test:1")
        task = asyncio.create_task(supervisor.run(stop))
        try:
            await _create_then_delete(redis_client, keys, settings, supervisor, receiver)
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)


def _settings(receiver: HttpReceiver) -> Settings:
    hook = SinkSettings(name="hook", type="webhook", url=SecretStr(receiver.url))
    return Settings(sinks=(SinkSettings(name="console", type="console"), hook),
                    subscriptions=(CONFIG_SUB,), delivery=FAST)  # fmt: skip


async def _create_then_delete(
    client: aioredis.Redis,
    keys: Keys,
    settings: Settings,
    supervisor: SubscriptionSupervisor,
    receiver: HttpReceiver,
) -> None:
    stream, group = keys.alerts("arms-control"), subscription_group("analysts")
    url = "/api/v1/subscriptions"
    async with (
        _desk(client, keys, Catalog.of(settings)) as base,
        aiohttp.ClientSession(base) as http,
    ):
        async with http.post(url, json=_body(), headers=BEARER) as made:
            assert made.status == 201
        await until(lambda: "analysts" in supervisor.running)
        # The notifier creates its group on its first loop; alerts after that are its own.
        await until(lambda: _has_group(client, stream, group))
        await publish(client, keys, make_alert("Russia suspends New START", entry_id="a:1"))
        await until(lambda: len(receiver.received) == 1)
        assert "Russia suspends New START" in receiver.received[0].body.decode()
        running = supervisor.running["analysts"]
        async with http.delete(f"{url}/analysts", headers=BEARER) as deleted:
            assert deleted.status == 200
        await until(lambda: "analysts" not in supervisor.running)
    assert running.task.done()
    await supervisor.sync()  # a sync after the stop: nothing restarts it
    assert "analysts" not in supervisor.running
    assert group not in await _groups(client, stream)
    await publish(client, keys, make_alert("Moscow halts New START", entry_id="a:2"))
    await supervisor.sync()
    assert "analysts" not in supervisor.running
    assert len(receiver.received) == 1


async def test_a_stored_subscription_the_config_cannot_serve_is_not_started(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """A process whose config lacks the sink (or owns the name) logs it and starts nothing."""
    store = SubscriptionStore(redis_client, keys)
    await store.add(parse_subscription(_body(), CATALOG))  # "hook" exists in CATALOG only
    supervisor = SubscriptionSupervisor(Settings(), redis_client, keys, consumer="test:2")
    await supervisor.sync()
    assert supervisor.running == {}


async def test_the_daemons_notifier_role_picks_up_a_subscription_made_on_its_desk(
    redis_url: str, redis_client: aioredis.Redis, keys: Keys, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """run_daemon wires the desk to the config's sinks and runs the supervisor, no restart."""
    monkeypatch.setenv("TM_SUBS_TOKEN", TOKEN)
    port, stop = free_port(), asyncio.Event()
    async with http_receiver() as receiver:
        settings = _settings(receiver).model_copy(update={
            "state_dir": tmp_path, "rules": RulesSettings(dirs=(tmp_path,), watch=False),
            "redis": RedisSettings(url=SecretStr(redis_url), prefix=keys.prefix),
            "http": HttpSettings(listen=f"127.0.0.1:{port}", token_env="TM_SUBS_TOKEN"),
        })  # fmt: skip
        daemon = asyncio.create_task(run_daemon(settings, frozenset({"notifier"}), stop))
        try:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession(base) as http:
                await until(lambda: _answers(http, "/readyz"))
                async with http.post("/api/v1/subscriptions", json=_body(), headers=BEARER) as r:
                    assert r.status == 201
            stream, group = keys.alerts("arms-control"), subscription_group("analysts")
            await until(lambda: _has_group(redis_client, stream, group))
            await publish(redis_client, keys, make_alert("Russia suspends New START"))
            await until(lambda: len(receiver.received) == 1)
        finally:
            stop.set()
            await asyncio.wait_for(daemon, 30)


async def _answers(http: aiohttp.ClientSession, path: str) -> bool:
    with contextlib.suppress(aiohttp.ClientError):
        async with http.get(path) as response:
            return response.status == 200
    return False


async def test_the_subscriptions_page_creates_and_deletes_with_a_session_and_csrf(
    redis_client: aioredis.Redis, keys: Keys
) -> None:
    """Config ones show read-only; forms need the session's CSRF token; errors name the field."""
    jar = aiohttp.CookieJar(unsafe=True)
    form = {"name": "analysts", "channels": "arms-control, urgent", "sink": "hook",
            "min_severity": "high", "tags": "inf"}  # fmt: skip
    async with (
        _desk(redis_client, keys, CATALOG) as base,
        aiohttp.ClientSession(base, cookie_jar=jar) as http,
    ):
        async with http.post("/subscriptions", data=form, allow_redirects=False) as r:
            assert r.status == 403
        async with http.post("/login", data={"token": TOKEN, "next": "/subscriptions"},
                             allow_redirects=False) as r:  # fmt: skip
            assert r.status == 303
        async with http.get("/subscriptions") as r:
            page = await r.text()
        assert "ops" in page
        assert "config (read-only)" in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None
        signed = {**form, "csrf": csrf.group(1)}
        async with http.post("/subscriptions", data={**signed, "channels": ""}) as r:
            assert r.status == 400
            assert "channels:" in await r.text()
        async with http.post("/subscriptions", data=signed, allow_redirects=False) as r:
            assert r.status == 303
        stored = await SubscriptionStore(redis_client, keys).all()
        assert [(s.name, s.channels, s.min_severity) for s in stored] == [
            ("analysts", ("arms-control", "urgent"), "high")
        ]
        async with http.post("/subscriptions/ops/delete", data=signed) as r:
            assert r.status == 409
        async with http.post("/subscriptions/analysts/delete", data=signed,
                             allow_redirects=False) as r:  # fmt: skip
            assert r.status == 303
    assert await SubscriptionStore(redis_client, keys).all() == []


async def test_a_sink_this_process_cannot_build_skips_that_subscription_only(
    redis_client: aioredis.Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sink whose url_env is unset here is logged and skipped; the others start."""
    monkeypatch.delenv("TM_SUBS_UNSET_URL", raising=False)
    settings = Settings(sinks=(
        SinkSettings(name="console", type="console"),
        SinkSettings(name="hook", type="webhook", url_env="TM_SUBS_UNSET_URL"),
    ))  # fmt: skip
    store = SubscriptionStore(redis_client, keys)
    await store.add(parse_subscription(_body(), CATALOG))
    await store.add(parse_subscription(_body(name="printer", sink="console"), CATALOG))
    supervisor = SubscriptionSupervisor(settings, redis_client, keys, consumer="test:3")
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    try:
        await until(lambda: "printer" in supervisor.running)
        assert "analysts" not in supervisor.running
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)

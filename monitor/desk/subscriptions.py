"""Subscriptions on the desk: the config's (read-only) and runtime ones (writable).

``/api/v1/subscriptions`` (JSON) and the ``/subscriptions`` page (forms with the CSRF token).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from monitor.alerts.subscriptions import (
    Catalog,
    InvalidSubscription,
    SubscriptionClash,
    SubscriptionNotFound,
    SubscriptionStore,
    parse_subscription,
)
from monitor.config import SubscriptionSettings
from monitor.desk.context import json_error


def as_item(sub: SubscriptionSettings, *, source: str) -> dict[str, Any]:
    """A subscription as the API lists it."""
    return {**sub.model_dump(mode="json"), "source": source, "read_only": source == "config"}


async def listing(store: SubscriptionStore, catalog: Catalog) -> list[dict[str, Any]]:
    """Config subscriptions first, then runtime ones, each by name."""
    config = sorted(catalog.subscriptions, key=lambda s: s.name)
    return [as_item(s, source="config") for s in config] + [
        as_item(s, source="runtime") for s in await store.all()
    ]


def routes(store: SubscriptionStore, catalog: Catalog) -> list[web.RouteDef]:
    """The subscription routes."""

    async def subscriptions(_request: web.Request) -> web.Response:
        return web.json_response({"items": await listing(store, catalog), "next": None})

    async def create(request: web.Request) -> web.Response:
        try:
            body: Any = await request.json()
        except ValueError:
            raise json_error(web.HTTPBadRequest, "body must be JSON") from None
        try:
            sub = parse_subscription(body, catalog)
            await store.add(sub)
        except InvalidSubscription as exc:
            raise json_error(web.HTTPBadRequest, str(exc)) from None
        except SubscriptionClash as exc:
            raise json_error(web.HTTPConflict, str(exc)) from None
        return web.json_response(as_item(sub, source="runtime"), status=201)

    async def delete(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in catalog.config_names():
            raise json_error(
                web.HTTPConflict, f"{name!r} is defined in the config file (read-only)"
            )
        try:
            sub = await store.remove(name)
        except SubscriptionNotFound as exc:
            raise json_error(web.HTTPNotFound, str(exc)) from None
        return web.json_response(as_item(sub, source="runtime"))

    return [
        web.get("/api/v1/subscriptions", subscriptions),
        web.post("/api/v1/subscriptions", create),
        web.delete("/api/v1/subscriptions/{name}", delete),
    ]


Render = Callable[..., web.Response]


def page_routes(store: SubscriptionStore, catalog: Catalog, render: Render) -> list[web.RouteDef]:
    """The ``/subscriptions`` page: list, create and delete forms."""

    async def page(request: web.Request, error: str = "") -> web.Response:
        return render("subscriptions.html.j2", request, nav="subscriptions", error=error,
                      subscriptions=await listing(store, catalog), sinks=sorted(catalog.sinks),
                      severities=SEVERITIES)  # fmt: skip

    async def create(request: web.Request) -> web.Response:
        form = await request.post()
        body: dict[str, Any] = {
            "name": str(form.get("name", "")).strip(),
            "channels": _words(form.get("channels")),
            "sink": str(form.get("sink", "")),
            "min_severity": str(form.get("min_severity", "info")),
            "tags": _words(form.get("tags")),
        }
        try:
            await store.add(parse_subscription(body, catalog))
        except (InvalidSubscription, SubscriptionClash) as exc:
            response = await page(request, error=str(exc))
            response.set_status(400 if isinstance(exc, InvalidSubscription) else 409)
            return response
        raise web.HTTPSeeOther("/subscriptions")

    async def delete(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in catalog.config_names():
            raise web.HTTPConflict(text=f"{name!r} is defined in the config file (read-only)")
        try:
            await store.remove(name)
        except SubscriptionNotFound as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        raise web.HTTPSeeOther("/subscriptions")

    return [
        web.get("/subscriptions", page),
        web.post("/subscriptions", create),
        web.post("/subscriptions/{name}/delete", delete),
    ]


SEVERITIES = ("info", "low", "medium", "high", "critical")


def _words(value: object) -> list[str]:
    return str(value or "").replace(",", " ").split()


def openapi_paths() -> dict[str, Any]:
    """The OpenAPI paths of these routes."""
    ref = {"$ref": "#/components/schemas/Subscription"}
    error = {
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "/api/v1/subscriptions": {
            "get": {
                "summary": "Subscriptions: the config's (read_only) and runtime ones",
                "responses": _ok(
                    {
                        "type": "object",
                        "properties": {
                            "items": {"type": "array", "items": ref},
                            "next": {"type": "null"},
                        },
                    }
                ),
            },
            "post": {
                "summary": "Create a runtime subscription (its sink must be one of the config's)",
                "security": [{"token": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/NewSubscription"}
                        }
                    },
                },
                "responses": {
                    **_ok(ref, "201"),
                    "400": error,
                    "401": error,
                    "403": error,
                    "409": error,
                },
            },
        },
        "/api/v1/subscriptions/{name}": {
            "delete": {
                "summary": "Delete a runtime subscription (409 for a config one)",
                "security": [{"token": []}],
                "parameters": [name],
                "responses": {**_ok(ref), "404": error, "409": error},
            }
        },
    }


def openapi_schemas() -> dict[str, Any]:
    """The OpenAPI schemas of a subscription (from the pydantic model)."""
    new = SubscriptionSettings.model_json_schema()
    new.pop("title", None)
    listed = {
        "allOf": [
            {"$ref": "#/components/schemas/NewSubscription"},
            {"type": "object", "properties": {
                "source": {"enum": ["config", "runtime"]}, "read_only": {"type": "boolean"}}},
        ]
    }  # fmt: skip
    return {"NewSubscription": new, "Subscription": listed}


def _ok(schema: dict[str, Any], code: str = "200") -> dict[str, Any]:
    return {code: {"description": "OK", "content": {"application/json": {"schema": schema}}}}

"""The OpenAPI 3.1 document of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.desk import subscriptions
from monitor.history.record import FILTERS

_JSON = "application/json"


def _list_of(ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": ref}},
            "next": {"type": ["string", "null"], "description": "cursor of the next page"},
        },
    }


def _ok(schema: dict[str, Any], code: str = "200") -> dict[str, Any]:
    return {code: {"description": "OK", "content": {_JSON: {"schema": schema}}}}


_ERROR = {
    "description": "error",
    "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def document() -> dict[str, Any]:
    """The API description, generated from the same filter list the handlers use."""
    filters = [
        {"name": label, "in": "query", "required": False, "schema": {"type": "string"}}
        for label in FILTERS
    ]
    paging = [
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "text search"},
        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 200},
        },
    ]
    story_list = {
        "summary": "Stories (one per treaty event), newest first, filtered and paged",
        "parameters": filters + paging,
        "responses": {**_ok(_list_of("#/components/schemas/Story")), "400": _ERROR},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "treaty-monitor desk API", "version": __version__},
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                **subscriptions.openapi_schemas(),
                "Story": {
                    "type": "object",
                    "required": ["story", "title", "published", "severity", "channels", "sources"],
                    "properties": {
                        "story": {"type": "string"},
                        "event": {"type": ["object", "null"]},
                        "title": {"type": "string"},
                        "summary": {"type": "string"},
                        "link": {"type": "string"},
                        "feed": {"type": "string"},
                        "language": {"type": "string"},
                        "published": {"type": "string", "format": "date-time"},
                        "severity": {"type": "string"},
                        "channels": {"type": "array", "items": {"type": "string"}},
                        "tags": {"type": "array", "items": {"type": "string"}},
                        "deadline": {"type": ["string", "null"], "format": "date"},
                        "sources": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "Event": {
                    "type": "object",
                    "required": ["story", "line", "published", "severity", "sources"],
                    "properties": {
                        "story": {"type": "string"},
                        "event": {"type": ["object", "null"]},
                        "line": {"type": "string"},
                        "due": {"type": ["string", "null"], "format": "date"},
                        "published": {"type": "string", "format": "date-time"},
                        "severity": {"type": "string"},
                        "sources": {"type": "integer"},
                        "title": {"type": "string"},
                        "passed": {"type": "boolean"},
                    },
                },
                "Treaty": {
                    "type": "object",
                    "required": ["id", "name", "latest"],
                    "properties": {
                        "id": {"type": "string"},
                        "name": {"type": "string"},
                        "actors": {"type": "string"},
                        "latest": {"$ref": "#/components/schemas/Event"},
                        "next_due": {
                            "oneOf": [{"$ref": "#/components/schemas/Event"}, {"type": "null"}]
                        },
                    },
                },
                "Feed": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "last_status": {"type": "string"},
                        "last_success": {"type": ["number", "null"]},
                        "errors": {"type": "integer"},
                        "last_error": {"type": "string"},
                    },
                },
                "Matcher": {
                    "type": "object",
                    "required": ["label", "value"],
                    "properties": {
                        "label": {"type": "string", "enum": [*list(FILTERS), "story"]},
                        "op": {"type": "string", "enum": ["=", "!=", "=~", "!~"]},
                        "value": {"type": "string"},
                    },
                },
                "Silence": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "matchers": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Matcher"},
                        },
                        "starts_at": {"type": "string", "format": "date-time"},
                        "ends_at": {"type": "string", "format": "date-time"},
                        "created_by": {"type": "string"},
                        "comment": {"type": "string"},
                        "state": {"type": "string", "enum": ["pending", "active", "expired"]},
                    },
                },
                "NewSilence": {
                    "type": "object",
                    "required": ["matchers", "created_by"],
                    "properties": {
                        "matchers": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Matcher"},
                        },
                        "starts_at": {"type": "string", "format": "date-time"},
                        "ends_at": {"type": "string", "format": "date-time"},
                        "duration": {
                            "type": "string",
                            "description": "e.g. 2h (instead of ends_at)",
                        },
                        "created_by": {"type": "string"},
                        "comment": {"type": "string"},
                    },
                },
            },
        },
        "paths": {
            "/api/v1/openapi.json": {
                "get": {"summary": "This document", "responses": _ok({"type": "object"})}
            },
            "/api/v1/alerts": {"get": story_list},
            "/api/v1/stories": {"get": story_list},
            "/api/v1/stories/{story}": {
                "get": {
                    "summary": "One story",
                    "parameters": [
                        {
                            "name": "story",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {**_ok({"$ref": "#/components/schemas/Story"}), "404": _ERROR},
                }
            },
            "/api/v1/events": {
                "get": {
                    "summary": "Treaty events (one per story), newest first, with the filters",
                    "parameters": filters + paging,
                    "responses": {**_ok(_list_of("#/components/schemas/Event")), "400": _ERROR},
                }
            },
            "/api/v1/events/{story}": {
                "get": {
                    "summary": "The event of one story",
                    "parameters": [_path("story")],
                    "responses": {**_ok({"$ref": "#/components/schemas/Event"}), "404": _ERROR},
                }
            },
            "/api/v1/treaties": {
                "get": {
                    "summary": "Each treaty's latest event, actors and next due date",
                    "responses": _ok(_list_of("#/components/schemas/Treaty")),
                }
            },
            "/api/v1/treaties/{treaty}": {
                "get": {
                    "summary": "One treaty's events, newest first",
                    "parameters": [_path("treaty"), *paging],
                    "responses": {**_ok(_list_of("#/components/schemas/Event")), "404": _ERROR},
                }
            },
            "/api/v1/deadlines": {
                "get": {
                    "summary": "Due dates from `from` to `to` (default: 90 days back, 10 years on)",
                    "parameters": [
                        {
                            "name": "from",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                        },
                        *filters,
                    ],
                    "responses": {**_ok(_list_of("#/components/schemas/Event")), "400": _ERROR},
                }
            },
            "/api/v1/feeds": {
                "get": {
                    "summary": "Feed health as the fetchers recorded it",
                    "responses": _ok(_list_of("#/components/schemas/Feed")),
                }
            },
            "/api/v1/stories/{story}/ack": {
                "post": {
                    "summary": "Mark a story as handled (name and note)",
                    "security": [{"token": []}],
                    "parameters": [
                        {
                            "name": "story",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            _JSON: {
                                "schema": {
                                    "type": "object",
                                    "required": ["by"],
                                    "properties": {
                                        "by": {"type": "string"},
                                        "note": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {**_ok({"type": "object"}, "201"), "400": _ERROR, "404": _ERROR},
                }
            },
            "/api/v1/silences": {
                "get": {
                    "summary": "Silences (expired ones for five days)",
                    "responses": _ok(_list_of("#/components/schemas/Silence")),
                },
                "post": {
                    "summary": "Create a silence",
                    "security": [{"token": []}],
                    "requestBody": {
                        "required": True,
                        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/NewSilence"}}},
                    },
                    "responses": {
                        **_ok({"$ref": "#/components/schemas/Silence"}, "201"),
                        "400": _ERROR,
                        "401": _ERROR,
                        "403": _ERROR,
                    },
                },
            },
            **subscriptions.openapi_paths(),
            "/api/v1/silences/{silence}": {
                "delete": {
                    "summary": "Expire a silence now",
                    "security": [{"token": []}],
                    "parameters": [
                        {
                            "name": "silence",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {**_ok({"$ref": "#/components/schemas/Silence"}), "404": _ERROR},
                }
            },
        },
    }

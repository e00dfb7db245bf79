"""The OpenAPI 3.1 document of the API, built from Python data once per
process and served at /doc/api/openapi.json.

One module per object (events, handlers, event types, users, accounts,
operations), shared shapes in components.py. tests/api/test_openapi.py
checks that the document and the app's routes list the same methods, and
tests/api/test_schemathesis.py that answers match it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from espf import __version__
from espf.api.openapi import accounts, event_types, events, handlers, operations, users
from espf.api.openapi.components import SCHEMAS

DESCRIPTION = """\
An External System Provisioning Framework: a durable event queue with scheduled
HTTP delivery, compatible with the ESPF API of PortaBilling.

Every API method is `POST /espf/v1/<object>/<verb>` with a JSON object in and a
JSON object out (the account status methods also take GET, and forms). Errors
are 4xx answers with `{"error": code, "message": text}`; unknown fields are
refused by name. Authenticate with HTTP Basic (an API user's login and password)
or with `Authorization: Bearer <access_token>` from `POST /rest/Session/login`.
A user sees and changes only its own environment: another environment's events,
handlers and users are 404 to it. Roles: `admin` may do everything in its
environment; `producer` may create events and read the events it created.
Times are UTC, `YYYY-MM-DD HH:MM:SS`."""


@cache
def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "espf",
            "version": __version__,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "tags": [
            {"name": "events", "description": "The queue: create, read, list and steer events"},
            {"name": "handlers", "description": "Where events are delivered, and which ones"},
            {"name": "event types", "description": "Standard and custom (Custom/...) types"},
            {"name": "users", "description": "API users and their roles"},
            {"name": "accounts", "description": "Provisioning status reported by the Application"},
            {"name": "operations", "description": "Health, metrics and docs"},
        ],
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "paths": {
            **events.PATHS,
            **handlers.PATHS,
            **event_types.PATHS,
            **users.PATHS,
            **accounts.PATHS,
            **operations.PATHS,
        },
        "components": {
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "An API user's login and password",
                },
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": (
                        "The access_token of POST /rest/Session/login (see docs/api.md)"
                    ),
                },
            },
            "schemas": SCHEMAS,
        },
    }

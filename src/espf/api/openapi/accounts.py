"""Account provisioning status, reported by the Application."""

from __future__ import annotations

from typing import Any

from espf.account_status import (
    KNOWN_GROUPS,
    MAX_ACCOUNT_ID_LENGTH,
    MAX_I_ACCOUNT,
    MAX_MESSAGE_LENGTH,
)
from espf.api.openapi.components import SCHEMAS
from espf.api.openapi.kit import (
    Schema,
    answer,
    array,
    error_response,
    integer,
    json_response,
    nullable,
    obj,
    ref,
    string,
)
from espf.domain import ProvisioningStatus
from espf.service import MAX_PAGE

TAG = "accounts"
STATUS_BODY = obj(
    {
        "status": string(
            f"One of {', '.join(s.value for s in ProvisioningStatus)} (any case)",
            20,
            examples=["OK"],
        ),
        "group": string(
            f"{', '.join(KNOWN_GROUPS)} (any case), or a custom group: 1 to 64 letters, "
            "digits and _.:/- starting with a letter or digit",
            64,
            examples=["VoIP"],
        ),
        "message": string("Free text", MAX_MESSAGE_LENGTH),
    },
    ("status", "group"),
)
EXAMPLE = {"status": "OK", "group": "VoIP", "message": "SIP account provisioned"}
I_ACCOUNT = {
    "name": "i_account",
    "in": "path",
    "required": True,
    "description": "The account's i_account",
    "schema": integer(maximum=MAX_I_ACCOUNT, examples=[541]),
}
ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The account's id (e.g. its phone number); a separate key from i_account",
    "schema": string(max_length=MAX_ACCOUNT_ID_LENGTH, minLength=1, examples=["12025550123"]),
}
QUERY = [
    {
        "name": "group",
        "in": "query",
        "required": False,
        "description": "Only this service group",
        "schema": string(max_length=64),
    },
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "description": f"History entries per page (default 100, at most {MAX_PAGE})",
        "schema": integer(maximum=MAX_PAGE),
    },
    {
        "name": "cursor",
        "in": "query",
        "required": False,
        "description": "next_cursor of the previous page",
        "schema": string(max_length=200),
    },
]
COMMON_ERRORS = {
    400: "",
    401: "",
    403: "",
    404: "Not an account status path (e.g. an id with '/').",
    413: "",
    429: "",
    503: "",
}


def _errors(extra: dict[int, str]) -> dict[str, Any]:
    statuses = {**COMMON_ERRORS, **extra}
    return {str(s): error_response(s, statuses[s]) for s in sorted(statuses)}


def _path_item(
    key: str, account_schema: dict[str, Schema], parameter: dict[str, Any]
) -> dict[str, Any]:
    by = "i_account" if key == "i" else "id"
    report = answer({**account_schema, **_change_properties()})
    view = answer(
        {
            **account_schema,
            "groups": array(ref("AccountStatusChange"), "The current status of each group"),
            "history": array(ref("AccountStatusChange"), "Every report, newest first"),
            "next_cursor": nullable(string("Opaque; null on the last page of history")),
        }
    )
    return {
        "parameters": [parameter],
        "post": {
            "operationId": f"account_status_report_by_{by}",
            "tags": [TAG],
            "summary": f"Report an account's provisioning status, by {by}",
            "description": (
                "The Application reports the status of an account in one service group. "
                "The body is JSON or application/x-www-form-urlencoded (older releases of "
                "the original sent forms). Kept per environment, with its history.\n\n"
                "Roles: admin."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": STATUS_BODY, "example": EXAMPLE},
                    "application/x-www-form-urlencoded": {
                        "schema": STATUS_BODY,
                        "example": EXAMPLE,
                    },
                },
            },
            "responses": {
                "200": json_response(report, "Recorded"),
                **_errors({415: ""}),
            },
        },
        "get": {
            "operationId": f"account_status_read_by_{by}",
            "tags": [TAG],
            "summary": f"An account's current status per group and its history, by {by}",
            "description": (
                "groups: the latest report of each service group; history: every report, "
                "newest first, a page at a time (next_cursor).\n\nRoles: admin."
            ),
            "parameters": QUERY,
            "responses": {"200": json_response(view, "The status"), **_errors({})},
        },
    }


def _change_properties() -> dict[str, Schema]:
    properties: dict[str, Schema] = SCHEMAS["AccountStatusChange"]["properties"]
    return properties


PATHS = {
    "/espf/v1/account/i/{i_account}/status": _path_item(
        "i", {"i_account": integer(maximum=MAX_I_ACCOUNT)}, I_ACCOUNT
    ),
    "/espf/v1/account/{id}/status": _path_item(
        "id", {"id": string(max_length=MAX_ACCOUNT_ID_LENGTH)}, ID
    ),
}

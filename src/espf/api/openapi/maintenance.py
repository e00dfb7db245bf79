"""OpenAPI paths: a handler's maintenance windows."""

from __future__ import annotations

from typing import Any

from espf.api.openapi.handlers import NAME, NO_HANDLER, TAG
from espf.api.openapi.kit import (
    Schema,
    answer,
    array,
    boolean,
    integer,
    nullable,
    obj,
    operation,
    post,
    string,
)
from espf.maintenance import MAX_WINDOW_S

TIME = string("'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 with an offset", 64)

WINDOW: Schema = answer(
    {
        "id": integer(),
        "start": nullable(string("One-off: when it opens (UTC)")),
        "end": nullable(string("One-off: when it ends (UTC)")),
        "rule": nullable(string("Recurring: the calendar rule, e.g. 'weekly on tue at 23:00'")),
        "time_zone": nullable(string("Recurring: the rule's IANA zone")),
        "duration": nullable(integer("Recurring: seconds it stays open")),
    },
    "A maintenance window",
)

STATE: Schema = answer(
    {
        "handler": string(),
        "in_maintenance": boolean("True while a window is open: nothing is sent"),
        "reason": nullable(string("e.g. 'maintenance until 03:00 Europe/Prague'")),
        "next": nullable(
            answer({"start": string(), "end": string()}, "The window open now, or the next one")
        ),
        "windows": array(WINDOW),
    },
    "A handler's maintenance windows",
)


def _op(operation_id: str, summary: str, description: str, body: Schema, answer_schema: Schema,
        errors: dict[int, str], example: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    return post(
        operation(
            operation_id=operation_id,
            tag=TAG,
            summary=summary,
            description=description,
            body=body,
            answer_schema=answer_schema,
            errors=errors,
            example=example,
        )
    )


PATHS: dict[str, Any] = {
    "/espf/v1/handler/maintenance/add": _op(
        "handler_maintenance_add",
        "Add a maintenance window to a handler",
        "One-off (`start`, `end`) or recurring (`rule` in `time_zone`, open `duration` "
        "seconds). While a window is open nothing is sent to the handler; its due "
        "deliveries wait without spending attempts and go out when it ends.",
        obj(
            {
                "name": NAME,
                "start": TIME,
                "end": TIME,
                "rule": string("A calendar rule, see docs/calendar.md", 200),
                "time_zone": string("IANA zone of the rule (default UTC)", 64),
                "duration": integer("Seconds a recurring window stays open", 1, MAX_WINDOW_S),
            },
            ("name",),
        ),
        WINDOW,
        {**NO_HANDLER, 400: "A window that is neither one-off nor recurring, or is over."},
        {
            "name": "EventSender",
            "rule": "weekly on tue at 23:00",
            "time_zone": "Europe/Prague",
            "duration": 14400,
        },
    ),
    "/espf/v1/handler/maintenance/list": _op(
        "handler_maintenance_list",
        "A handler's maintenance windows, and whether one is open",
        "",
        obj({"name": NAME}, ("name",)),
        STATE,
        NO_HANDLER,
        {"name": "EventSender"},
    ),
    "/espf/v1/handler/maintenance/remove": _op(
        "handler_maintenance_remove",
        "Remove a maintenance window",
        "What it held back goes out at once.",
        obj({"name": NAME, "id": integer("The window's id")}, ("name", "id")),
        STATE,
        {404: "No such handler, or no such window."},
        {"name": "EventSender", "id": 1},
    ),
}

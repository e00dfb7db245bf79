"""Events: create, get, list, cancel, reschedule, replay; delivery/retry."""

from __future__ import annotations

from typing import Any

from espf.api.openapi.kit import (
    ADMIN,
    PRODUCER,
    answer,
    array,
    boolean,
    enum,
    integer,
    nullable,
    obj,
    operation,
    post,
    ref,
    string,
)
from espf.domain import DeliveryState, EventState
from espf.service import MAX_IDEMPOTENCY_KEY, MAX_PAGE

TAG = "events"
START_TIME = string(
    "When to deliver: 'YYYY-MM-DD HH:MM:SS' in UTC, or ISO 8601 with an offset",
    64,
    examples=["2021-03-01 00:00:00"],
)
VARIABLE = string(
    "Only events whose variable NAME has this value, as 'NAME=VALUE', e.g. i_account=541", 300
)
FROM = string("Only events created at or after this time (UTC)", 64)
TO = string("Only events created before this time (UTC)", 64)
I_EVENT = integer("The event's id", examples=[1])
FINAL_STATES = [s.value for s in DeliveryState if s.is_final]


def _event_create() -> dict[str, Any]:
    op = operation(
        operation_id="event_create",
        tag=TAG,
        summary="Put an event into the queue",
        description=(
            "The ESPF contract: answered only after the event is durably committed. "
            "Every enabled handler of the caller's environment subscribed to the type "
            "delivers it at start_time. With an Idempotency-Key header, a repeat within "
            "the idempotency window returns the first answer instead of a new event."
        ),
        body=obj(
            {
                "event_type": string(
                    "A standard type or a custom one (Custom/...); spaces around are ignored",
                    examples=["Custom/NextMonth"],
                ),
                "variables": nullable(
                    {
                        "type": "object",
                        "description": "Passed to the Application; at most 32 levels deep",
                        "examples": [{"i_account": 541}],
                    }
                ),
                "start_time": nullable(START_TIME),
                "time_zone": nullable(
                    string(
                        "An IANA zone name: start_time is then local time in it, without an "
                        "offset. A local time in a spring-forward gap means the first instant "
                        "after the gap; one that occurs twice, its first occurrence "
                        "(docs/calendar.md). An unknown zone is a 400 that names it.",
                        examples=["Europe/Prague"],
                    )
                ),
            },
            ("event_type",),
        ),
        answer_schema=answer({"i_event": integer("The new event's id")}),
        roles=(ADMIN, PRODUCER),
        errors={
            404: "The event type does not exist.",
            409: "The Idempotency-Key was used before for a different request.",
        },
        answer_description="Committed",
        example={
            "event_type": "Custom/NextMonth",
            "variables": {"i_account": 541},
            "start_time": "2030-03-01 00:00:00",
        },
    )
    op["parameters"] = [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "A key of the caller's choice that makes a retried create safe",
            "schema": string(max_length=MAX_IDEMPOTENCY_KEY),
        }
    ]
    return op


def _event_get() -> dict[str, Any]:
    return operation(
        operation_id="event_get",
        tag=TAG,
        summary="An event, its deliveries, every attempt and its history",
        description="A producer sees only the events it created; others are 404 to it.",
        body=obj({"i_event": I_EVENT}, ("i_event",)),
        answer_schema=ref("EventDetail"),
        roles=(ADMIN, PRODUCER),
        errors={404: "No such event in the caller's environment (or, for a producer, of its own)."},
        example={"i_event": 1},
    )


def _event_list() -> dict[str, Any]:
    return operation(
        operation_id="event_list",
        tag=TAG,
        summary="Events, newest first, filtered, a page at a time",
        description=(
            "Pages go by i_event, newest first. When more events match, the answer's "
            "next_cursor is a string: send it back as cursor, with the same filters, for the "
            "next page; it is null on the last page. A producer sees only the events it created."
        ),
        body=obj(
            {
                "event_type": string("Only events of this type", 200),
                "state": enum([s.value for s in EventState], "Only events in this state"),
                "variable": VARIABLE,
                "from": FROM,
                "to": TO,
                "limit": integer(
                    f"Events per page (default 100, at most {MAX_PAGE})", maximum=MAX_PAGE
                ),
                "cursor": string("next_cursor of the previous page", 200),
            }
        ),
        body_required=False,
        answer_schema=answer(
            {
                "events": array(ref("Event")),
                "next_cursor": nullable(string("Opaque; null on the last page")),
            }
        ),
        roles=(ADMIN, PRODUCER),
        errors={404: "The event_type filter names no existing type."},
        example={"event_type": "Custom/NextMonth", "variable": "i_account=541", "limit": 50},
    )


def _event_cancel() -> dict[str, Any]:
    return operation(
        operation_id="event_cancel",
        tag=TAG,
        summary="Cancel a scheduled event, or its deliveries not yet sent",
        description="Deliveries already in flight or finished are left as they are.",
        body=obj({"i_event": I_EVENT, "reason": string("Why, for the history", 500)}, ("i_event",)),
        answer_schema=ref("EventDetail"),
        errors={404: "No such event.", 409: "Nothing of the event is left to cancel."},
        example={"i_event": 2, "reason": "the customer left"},
    )


def _event_reschedule() -> dict[str, Any]:
    return operation(
        operation_id="event_reschedule",
        tag=TAG,
        summary="Give a not yet delivered event a new start_time",
        description="Possible until the first delivery of the event has gone out.",
        body=obj({"i_event": I_EVENT, "start_time": START_TIME}, ("i_event", "start_time")),
        answer_schema=ref("EventDetail"),
        errors={404: "No such event.", 409: "A delivery of it is in flight or done."},
        example={"i_event": 1, "start_time": "2030-03-01 00:00:00"},
    )


def _event_replay() -> dict[str, Any]:
    return operation(
        operation_id="event_replay",
        tag=TAG,
        summary="Send finished deliveries again, chosen by filter",
        description=(
            "Every field narrows the match; with dry_run only counts. Deliveries of "
            "deleted handlers are never sent again."
        ),
        body=obj(
            {
                "handler": string("Only deliveries to this handler", 100),
                "event_type": string("Only events of this type", 200),
                "variable": VARIABLE,
                "states": array(
                    enum(FINAL_STATES),
                    "Only deliveries in these states (default: all finished)",
                    10,
                ),
                "from": FROM,
                "to": TO,
                "dry_run": boolean("Only count what would be sent"),
            }
        ),
        body_required=False,
        answer_schema={
            "oneOf": [
                answer({"matched": integer(minimum=0), "dry_run": enum_true()}),
                answer({"replayed": integer(minimum=0), "dry_run": enum_false()}),
            ]
        },
        errors={404: "The handler or event type filter names nothing that exists."},
        example={"handler": "EventSender", "states": ["failed"], "dry_run": True},
    )


def enum_true() -> dict[str, Any]:
    return {"type": "boolean", "const": True}


def enum_false() -> dict[str, Any]:
    return {"type": "boolean", "const": False}


def _delivery_retry() -> dict[str, Any]:
    return operation(
        operation_id="delivery_retry",
        tag=TAG,
        summary="Send one delivery again now, with a fresh retry budget",
        description="i_delivery is shown by event/get.",
        body=obj({"i_delivery": integer("The delivery's id", examples=[1])}, ("i_delivery",)),
        answer_schema=ref("Delivery"),
        errors={
            404: "No such delivery.",
            409: "It is in flight, held, waiting behind its key, or its handler was deleted.",
        },
        example={"i_delivery": 1},
    )


PATHS = {
    "/espf/v1/event/create": post(_event_create()),
    "/espf/v1/event/get": post(_event_get()),
    "/espf/v1/event/list": post(_event_list()),
    "/espf/v1/event/reschedule": post(_event_reschedule()),
    "/espf/v1/event/cancel": post(_event_cancel()),
    "/espf/v1/event/replay": post(_event_replay()),
    "/espf/v1/delivery/retry": post(_delivery_retry()),
}

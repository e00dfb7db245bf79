"""The shapes shared by several methods: what api/representations.py
produces, described field by field. Enumerations come from the domain, so
the document cannot drift from the code."""

from __future__ import annotations

from espf.account_status import KNOWN_GROUPS, MAX_MESSAGE_LENGTH
from espf.api.openapi.kit import (
    Schema,
    answer,
    array,
    boolean,
    enum,
    integer,
    nullable,
    number,
    ref,
    string,
)
from espf.api.representations import MASK
from espf.domain import AuthMethod, DeliveryState, EventState, ProvisioningStatus, Role

TIME = string("UTC, 'YYYY-MM-DD HH:MM:SS' with '.mmm' when the milliseconds are not zero")
MASKED = nullable(enum([MASK], "Set, and never shown; null when not set"))


EVENT_PROPERTIES: dict[str, Schema] = {
    "i_event": integer("The event's id"),
    "i_env": integer("Its environment"),
    "event_type": string("e.g. Custom/NextMonth"),
    "variables": {
        "type": "object",
        "description": "As created; the Application also receives i_event and i_env",
    },
    "start_time": TIME,
    "created": TIME,
    "state": enum([s.value for s in EventState], "Follows its deliveries once due"),
    "created_by": nullable(
        integer("The API user who created it; null for the CLI and espf itself")
    ),
    "local_start_time": nullable(
        string(
            "Created with a time_zone: the local start time asked for, 'YYYY-MM-DD HH:MM:SS' "
            "in time_zone (start_time is the UTC instant it names); null otherwise"
        )
    ),
    "time_zone": nullable(string("The IANA zone of local_start_time; null without one")),
}


def _schemas() -> dict[str, Schema]:
    return {
        "Error": answer(
            {
                "error": string("A stable, machine-readable code, e.g. unknown_field"),
                "message": string("What is wrong, for a person"),
            },
            "Every error answer",
        ),
        "Event": answer(EVENT_PROPERTIES, "An event in the queue"),
        "Attempt": answer(
            {
                "attempt": integer("1 for the first attempt"),
                "started": TIME,
                "duration_ms": integer(minimum=0),
                "status_code": nullable(integer("The Application's HTTP status", minimum=0)),
                "error": nullable(string("Why there was no answer")),
                "outcome": string("delivered, rejected, retry, failed or interrupted"),
            },
            "One HTTP request of a delivery",
        ),
        "Delivery": answer(
            {
                "i_delivery": integer(),
                "i_event": integer(),
                "handler": string(
                    "The handler's name; '<name> (deleted #<id>)' once the handler is deleted"
                ),
                "state": enum([s.value for s in DeliveryState]),
                "attempts": integer(minimum=0),
                "next_attempt": nullable(TIME),
                "finished": nullable(TIME),
                "last_status_code": nullable(integer(minimum=0)),
                "last_error": nullable(string()),
                "order_key": nullable(string("Ordered handlers: the key it is ordered by")),
                "waiting": nullable(
                    string(
                        "Why a pending delivery is not sent now, e.g. 'maintenance until 03:00 "
                        "Europe/Prague'"
                    )
                ),
                "attempt_log": array(ref("Attempt")),
            },
            "One event for one handler",
        ),
        "Transition": answer(
            {
                "at": TIME,
                "i_delivery": nullable(integer("null: a change of the event itself")),
                "state": string(),
                "reason": string(),
            },
            "One recorded state change",
        ),
        "EventDetail": answer(
            {
                **EVENT_PROPERTIES,
                "deliveries": array(ref("Delivery")),
                "history": array(ref("Transition"), "Every state change, oldest first"),
            },
            "An event with its deliveries, their attempts and its history",
        ),
        "Handler": answer(
            {
                "name": string(),
                "i_env": integer(),
                "type": string("EventSender"),
                "enabled": boolean(),
                "paused": boolean(),
                "paused_since": nullable(TIME),
                "paused_reason": nullable(string()),
                "failing_since": nullable(TIME),
                "url": string("The Application's URL"),
                "auth": enum([m.value for m in AuthMethod]),
                "login": nullable(string("Basic auth login")),
                "password": MASKED,
                "auth_scheme": nullable(string("Custom auth scheme")),
                "auth_token": MASKED,
                "auth_header": string("Header carrying the credentials"),
                "signing_secrets": array(enum([MASK]), "One mask per secret"),
                "timeout": number("Seconds to wait for an answer", 0, 1e9),
                "auto_pause_after": nullable(number("Seconds of failure before a pause", 0, 1e12)),
                "max_in_flight": nullable(integer("Requests open at once, over every node")),
                "max_rate": nullable(number("Requests per second, over every node", 0, 1e12)),
                "rate_burst": nullable(integer("Requests the rate limit lets out at once")),
                "breaker_after": integer(
                    "Failures in a row that open the circuit (the default if not set); 0: never",
                    0,
                ),
                "failures_in_row": integer("Attempts failed in a row, now", 0),
                "effective_rate": nullable(
                    number(
                        "Requests per second sent at most now: max_rate, lowered while the "
                        "handler answers 429, 503 or times out (adaptive back-off)",
                        0,
                        1e12,
                    )
                ),
                "circuit": answer(
                    {
                        "open": boolean("True: only one probe at a time is sent"),
                        "opened_at": nullable(TIME),
                        "next_probe_at": nullable(TIME),
                    }
                ),
                "ordered": boolean(),
                "order_key": nullable(string()),
                "retry": answer(
                    {
                        "schedule": nullable(string()),
                        "base": nullable({"type": "number"}),
                        "factor": nullable({"type": "number"}),
                        "cap": nullable({"type": "number"}),
                        "max_attempts": nullable(integer()),
                        "max_age": nullable({"type": "number"}),
                    },
                    "The handler's own retry policy; null fields follow the service default",
                ),
                "tls": answer(
                    {
                        "verify": boolean(),
                        "ca_file": nullable(string()),
                        "client_cert": nullable(string()),
                        "client_key": MASKED,
                    }
                ),
            },
            "A handler; its password, token, signing secrets and client key are masked",
        ),
        "BlockedKey": answer(
            {
                "handler": string(),
                "order_key": string(),
                "blocked_by": answer(
                    {
                        "i_delivery": integer(),
                        "i_event": integer(),
                        "state": enum([s.value for s in DeliveryState]),
                        "attempts": integer(minimum=0),
                        "last_error": nullable(string()),
                    }
                ),
                "waiting": integer("Deliveries queued behind it", minimum=0),
            },
            "An ordered handler's key whose later deliveries wait",
        ),
        "EventType": answer(
            {
                "i_event_type": integer("Custom types count from 10001"),
                "name": string(),
                "builtin": boolean(),
            }
        ),
        "User": answer(
            {
                "i_user": integer(),
                "i_env": integer(),
                "login": string(),
                "role": enum([r.value for r in Role]),
                "weak_password": boolean(
                    "The password is shorter than 8 characters, allowed explicitly"
                ),
            },
            "An API user; its password is never shown",
        ),
        "AccountStatusChange": answer(
            {
                "i_status_change": integer(),
                "group": string(f"A service group: {', '.join(KNOWN_GROUPS)} or a custom one"),
                "status": enum([s.value for s in ProvisioningStatus]),
                "message": string(max_length=MAX_MESSAGE_LENGTH),
                "time": TIME,
                "reported_by": nullable(integer("The API user who reported it")),
            },
            "One report of an account's status in one service group",
        ),
    }


SCHEMAS = _schemas()

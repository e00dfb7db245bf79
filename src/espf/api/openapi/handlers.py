"""Handlers and their subscriptions."""

from __future__ import annotations

from typing import Any

from espf.api.handler_input import (
    MAX_AUTO_PAUSE_S,
    MAX_NAME_LENGTH,
    MAX_PATH_LENGTH,
    MAX_SECRET_LENGTH,
    MAX_SIGNING_SECRETS,
    MAX_URL_LENGTH,
)
from espf.api.openapi.kit import (
    Schema,
    answer,
    array,
    boolean,
    enum,
    integer,
    number,
    obj,
    operation,
    post,
    ref,
    string,
)
from espf.circuit_breaker import DEFAULT_BREAKER_AFTER, MAX_BREAKER_AFTER
from espf.domain import AuthMethod
from espf.handler_rules import MAX_HANDLER_TIMEOUT_S
from espf.names import MAX_NAME_LENGTH as MAX_TYPE_LENGTH
from espf.rate_limits import MAX_BURST, MAX_IN_FLIGHT, MAX_RATE
from espf.retry import MAX_DELAY_S
from espf.retry_overrides import MAX_RETRY_AGE_S, MAX_RETRY_ATTEMPTS, MAX_RETRY_FACTOR

TAG = "handlers"
NAME = string(
    "The handler's name in the caller's environment", MAX_NAME_LENGTH, examples=["EventSender"]
)
NO_HANDLER = {404: "No such handler in the caller's environment."}


def _settings(creating: bool) -> dict[str, Schema]:
    leave = "default" if creating else "unchanged"
    return {
        "name": string(
            "1 to 100 characters, no spaces" if creating else "The handler to change",
            MAX_NAME_LENGTH,
            examples=["EventSender"],
        ),
        "url": string("The Application's http:// or https:// URL", MAX_URL_LENGTH),
        "login": string("Basic auth login", MAX_SECRET_LENGTH),
        "password": string("Basic auth password; never shown again", MAX_SECRET_LENGTH),
        "auth": enum(
            [m.value for m in AuthMethod],
            f"How espf authenticates to the Application ({leave} if absent; basic on create)",
        ),
        "auth_scheme": string("Custom auth: the scheme, e.g. Token", 100),
        "auth_token": string("Custom auth: the token; never shown again", MAX_SECRET_LENGTH),
        "auth_header": string("Header name (default Authorization)", 100),
        "timeout": number("Seconds to wait for an answer (default 300)", 0, MAX_HANDLER_TIMEOUT_S),
        "signing_secrets": array(
            string(max_length=MAX_SECRET_LENGTH),
            "Signature auth: whsec_ secrets, newest first; never shown again",
            MAX_SIGNING_SECRETS,
        ),
        "retry": obj(
            {
                "schedule": string("Delays in seconds, e.g. '1,5,30,300*10,3600'", 1000),
                "base": number("Exponential back-off: first delay (s)", 0, MAX_DELAY_S),
                "factor": number("Exponential back-off: growth", 1, MAX_RETRY_FACTOR, True),
                "cap": number("Exponential back-off: longest delay (s)", 0, MAX_DELAY_S),
                "max_attempts": integer(
                    "Give up after this many attempts", maximum=MAX_RETRY_ATTEMPTS
                ),
                "max_age": number("Give up after this many seconds", 0, MAX_RETRY_AGE_S),
            },
            description=(
                "The handler's own retry policy, field by field; an empty object puts "
                "the service default back"
            ),
        ),
        "auto_pause_after": number("Pause after failing this many seconds", 0, MAX_AUTO_PAUSE_S),
        "max_in_flight": integer(
            "At most this many requests open at once, over every node; 0 removes the limit",
            0,
            MAX_IN_FLIGHT,
        ),
        "max_rate": number(
            "At most this many requests per second, over every node; 0 removes the limit",
            0,
            MAX_RATE,
            inclusive_minimum=True,
        ),
        "rate_burst": integer(
            "Requests the rate limit lets out at once (default 1: evenly spaced)",
            0,
            MAX_BURST,
        ),
        "breaker_after": integer(
            f"Failures in a row that open the handler's circuit: then only one probe at a time "
            f"is sent until one succeeds (default {DEFAULT_BREAKER_AFTER}); 0 turns it off",
            0,
            MAX_BREAKER_AFTER,
        ),
        "ordered": boolean("Send deliveries sharing a key one at a time, in i_event order"),
        "order_key": string("The ordering variable (default i_account, else i_customer)", 64),
        "tls": obj(
            {
                "verify": boolean("Verify the Application's certificate (default true)"),
                "ca_file": string("CA bundle on the espf server", MAX_PATH_LENGTH),
                "client_cert": string(
                    "Client certificate (PEM) on the espf server", MAX_PATH_LENGTH
                ),
                "client_key": string(
                    "Its private key on the espf server; never shown", MAX_PATH_LENGTH
                ),
            },
            description="TLS towards the Application, field by field",
        ),
        "enabled": boolean("Whether it delivers; a disabled handler's deliveries are held"),
    }


def _by_name(
    operation_id: str,
    summary: str,
    description: str,
    answer_schema: Schema,
    errors: dict[int, str],
    example: str = "EventSender",
) -> dict[str, Any]:
    return operation(
        operation_id=operation_id,
        tag=TAG,
        summary=summary,
        description=description,
        body=obj({"name": NAME}, ("name",)),
        answer_schema=answer_schema,
        errors=errors,
        example={"name": example},
    )


def _type_change(
    operation_id: str, summary: str, subscribed: bool, errors: dict[int, str]
) -> dict[str, Any]:
    return operation(
        operation_id=operation_id,
        tag=TAG,
        summary=summary,
        description="event_type is a standard or custom type's name.",
        body=obj(
            {"name": NAME, "event_type": string("e.g. Custom/NextMonth", MAX_TYPE_LENGTH)},
            ("name", "event_type"),
        ),
        example={"name": "EventSender", "event_type": "Account/New"},
        answer_schema=answer(
            {
                "handler": string(),
                "event_type": string(),
                "subscribed": {"type": "boolean", "const": subscribed},
            }
        ),
        errors=errors,
    )


SECRETS_NOTE = (
    "Secrets (password, auth_token, signing_secrets, tls.client_key) are accepted and "
    "never returned: answers show them masked. TLS files are paths on the espf server."
)

PATHS = {
    "/espf/v1/handler/create": post(
        operation(
            operation_id="handler_create",
            tag=TAG,
            summary="Create an EventSender handler",
            description=(
                "The same settings as 'espf handler create'. It is enabled unless enabled is "
                f"false, and subscribed to nothing yet. {SECRETS_NOTE}"
            ),
            body=obj(_settings(True), ("name", "url")),
            example={
                "name": "Backup",
                "url": "https://backup.example.com/espf",
                "login": "espf",
                "password": "s3cret-password",
                "retry": {"max_attempts": 10},
            },
            answer_schema=ref("Handler"),
            errors={409: "A handler of that name exists in the environment."},
        )
    ),
    "/espf/v1/handler/get": post(
        _by_name(
            "handler_get",
            "A handler's settings and state",
            SECRETS_NOTE,
            ref("Handler"),
            NO_HANDLER,
        )
    ),
    "/espf/v1/handler/update": post(
        operation(
            operation_id="handler_update",
            tag=TAG,
            summary="Change a handler's settings",
            description=(
                "The same settings as 'espf handler set': absent fields stay as they are, "
                f"retry and tls change field by field. {SECRETS_NOTE}"
            ),
            body=obj(_settings(False), ("name",)),
            example={"name": "EventSender", "timeout": 60},
            answer_schema=ref("Handler"),
            errors=NO_HANDLER,
        )
    ),
    "/espf/v1/handler/delete": post(
        _by_name(
            "handler_delete",
            "Delete a handler that has nothing left to send",
            (
                "Its subscriptions go with it. The history of its finished deliveries stays, "
                "naming it '<name> (deleted #<id>)'; they are never sent again, and its "
                "secrets are wiped. Its name is free for a new handler."
            ),
            answer(
                {
                    "name": string(),
                    "deleted": {"type": "boolean", "const": True},
                    "history_name": string("How its deliveries' history names it now"),
                }
            ),
            {
                **NO_HANDLER,
                409: "It has deliveries not finished (pending, in flight, held, waiting).",
            },
            example="Retired",
        )
    ),
    "/espf/v1/handler/enable": post(
        _by_name(
            "handler_enable",
            "Enable a handler",
            "Held deliveries go out.",
            ref("Handler"),
            NO_HANDLER,
        )
    ),
    "/espf/v1/handler/disable": post(
        _by_name(
            "handler_disable",
            "Disable a handler",
            "Its waiting deliveries are held, not dropped, until it is enabled again.",
            ref("Handler"),
            NO_HANDLER,
        )
    ),
    "/espf/v1/handler/list": post(
        operation(
            operation_id="handler_list",
            tag=TAG,
            summary="Every handler of the caller's environment",
            description=SECRETS_NOTE,
            body=obj({}),
            body_required=False,
            answer_schema=answer({"handlers": array(ref("Handler"))}),
        )
    ),
    "/espf/v1/handler/pause": post(
        operation(
            operation_id="handler_pause",
            tag=TAG,
            summary="Hold a handler's deliveries until it is resumed",
            description="None is dropped.",
            body=obj({"name": NAME, "reason": string("Why, for the history", 500)}, ("name",)),
            answer_schema=ref("Handler"),
            errors=NO_HANDLER,
        )
    ),
    "/espf/v1/handler/resume": post(
        _by_name(
            "handler_resume", "Send what a paused handler held", "", ref("Handler"), NO_HANDLER
        )
    ),
    "/espf/v1/handler/blocked_keys": post(
        operation(
            operation_id="handler_blocked_keys",
            tag=TAG,
            summary="Ordered handlers: keys whose deliveries wait, and on what",
            description="Without name: every handler of the environment.",
            body=obj({"name": NAME}),
            body_required=False,
            answer_schema=answer({"blocked_keys": array(ref("BlockedKey"))}),
            errors=NO_HANDLER,
        )
    ),
    "/espf/v1/handler/subscriptions": post(
        _by_name(
            "handler_subscriptions",
            "The event types a handler delivers",
            "",
            answer({"handler": string(), "event_types": array(string())}),
            NO_HANDLER,
        )
    ),
    "/espf/v1/handler/subscribe": post(
        _type_change(
            "handler_subscribe",
            "Subscribe a handler to an event type",
            True,
            {404: "No such handler, or no such event type."},
        )
    ),
    "/espf/v1/handler/unsubscribe": post(
        _type_change(
            "handler_unsubscribe",
            "Unsubscribe a handler from an event type",
            False,
            {404: "No such handler or event type, or the handler is not subscribed to it."},
        )
    ),
    "/espf/v1/handler/subscribe_all": post(
        _by_name(
            "handler_subscribe_all",
            "Subscribe a handler to every event type",
            "evctl's 'handler sub'.",
            answer(
                {"handler": string(), "added": integer("Subscriptions that are new", minimum=0)}
            ),
            NO_HANDLER,
        )
    ),
}

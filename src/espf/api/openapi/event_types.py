"""Event types: shared by every environment."""

from __future__ import annotations

from espf.api.openapi.components import SCHEMAS
from espf.api.openapi.kit import answer, array, obj, operation, post, ref, string
from espf.names import MAX_NAME_LENGTH

TAG = "event types"
NAME = string("e.g. Custom/NextMonth", MAX_NAME_LENGTH + 100, examples=["Custom/NextMonth"])

PATHS = {
    "/espf/v1/event_type/list": post(
        operation(
            operation_id="event_type_list",
            tag=TAG,
            summary="Every event type, built-in and custom",
            description="Types are shared by every environment, as in the original.",
            body=obj({}),
            body_required=False,
            answer_schema=answer({"event_types": array(ref("EventType"))}),
        )
    ),
    "/espf/v1/event_type/create": post(
        operation(
            operation_id="event_type_create",
            tag=TAG,
            summary="Create a custom event type",
            description=(
                "Its name starts with Custom/; ids count from 10001 and are never given twice. "
                "The type is visible to every environment."
            ),
            body=obj({"name": NAME}, ("name",)),
            example={"name": "Custom/Holiday"},
            answer_schema=ref("EventType"),
            errors={409: "A type of that name exists."},
        )
    ),
    "/espf/v1/event_type/delete": post(
        operation(
            operation_id="event_type_delete",
            tag=TAG,
            summary="Delete a custom event type that nothing uses",
            description=(
                "Refused while any environment has a subscription to it or an event of it: "
                "the message names what the caller's environment holds, and only says "
                "whether other environments use it. Its id is never given again."
            ),
            body=obj({"name": NAME}, ("name",)),
            answer_schema=answer(
                {
                    **SCHEMAS["EventType"]["properties"],
                    "deleted": {"type": "boolean", "const": True},
                }
            ),
            errors={
                404: "No such event type.",
                409: "It is built in, or in use.",
            },
            example={"name": "Custom/Holiday"},
        )
    ),
}

"""Small builders for OpenAPI 3.1 data, so that the document's modules read
as a description of the API rather than as nested dictionaries.

Bodies are strict (``additionalProperties: false``) because the API refuses
unknown fields; bounds are the ones the API checks (api/json_input.py).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

MAX_INT64 = 2**63 - 1


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    """``schema`` or JSON null (an absent value, in this API)."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    kind = schema.get("type")
    if "enum" in schema:
        return {**schema, "type": [kind, "null"], "enum": [*schema["enum"], None]}
    return {**schema, "type": [kind, "null"]}


def string(description: str = "", max_length: int | None = None, **extra: Any) -> Schema:
    schema: Schema = {"type": "string", **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    if description:
        schema["description"] = description
    return schema


def integer(
    description: str = "", minimum: int | None = 1, maximum: int = MAX_INT64, **extra: Any
) -> Schema:
    schema: Schema = {"type": "integer", "maximum": maximum, **extra}
    if minimum is not None:
        schema["minimum"] = minimum
    if description:
        schema["description"] = description
    return schema


def number(
    description: str, above: float, maximum: float, inclusive_minimum: bool = False
) -> Schema:
    bound = "minimum" if inclusive_minimum else "exclusiveMinimum"
    return {"type": "number", bound: above, "maximum": maximum, "description": description}


def boolean(description: str = "") -> Schema:
    schema: Schema = {"type": "boolean"}
    if description:
        schema["description"] = description
    return schema


def enum(values: list[str], description: str = "") -> Schema:
    schema: Schema = {"type": "string", "enum": values}
    if description:
        schema["description"] = description
    return schema


def array(items: Schema, description: str = "", max_items: int | None = None) -> Schema:
    schema: Schema = {"type": "array", "items": items}
    if max_items is not None:
        schema["maxItems"] = max_items
    if description:
        schema["description"] = description
    return schema


def obj(
    properties: dict[str, Schema], required: tuple[str, ...] = (), description: str = ""
) -> Schema:
    """A closed object: exactly these properties, ``required`` among them."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def answer(properties: dict[str, Schema], description: str = "") -> Schema:
    """An answer object: every property is always present."""
    return obj(properties, tuple(properties), description)


# -- responses -----------------------------------------------------------------------
_ERROR_WHEN = {
    400: "The body or a parameter is wrong: not JSON, an unknown field, a wrong type, "
    "a value out of range. The message names it.",
    401: "Credentials are missing or wrong.",
    403: "The user's role does not allow this method (a producer may only create "
    "events and read its own).",
    404: "What the request names does not exist in the caller's environment.",
    409: "The request conflicts with the current state; the message says what to do.",
    413: "The body is larger than max_body_bytes.",
    415: "The body's Content-Type is neither JSON nor a form.",
    429: "Too many failed logins from this address; try again after Retry-After seconds.",
    503: "The database cannot be reached; try again.",
}
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The Basic challenge",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}


def error_response(status: int, when: str = "") -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": when or _ERROR_WHEN[status],
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if status in _ERROR_HEADERS:
        response["headers"] = _ERROR_HEADERS[status]
    return response


def json_response(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_body(schema: Schema, required: bool = True, example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"required": required, "content": {"application/json": media}}


ADMIN = "admin"
PRODUCER = "producer"


def operation(
    *,
    operation_id: str,
    tag: str,
    summary: str,
    description: str,
    answer_schema: Schema,
    body: Schema | None = None,
    body_required: bool = True,
    roles: tuple[str, ...] = (ADMIN,),
    errors: dict[int, str] | None = None,
    answer_description: str = "Done",
    example: Any = None,
) -> dict[str, Any]:
    """One API method. Every method may answer 400, 401, 413, 429 and 503;
    ``errors`` adds the others with what they mean for this method."""
    statuses: dict[int, str] = {400: "", 401: "", 413: "", 429: "", 503: ""}
    if roles == (ADMIN,):
        statuses[403] = ""
    statuses.update(errors or {})
    who = " and ".join(roles)
    result: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "description": f"{description}\n\nRoles: {who}.",
        "responses": {
            "200": json_response(answer_schema, answer_description),
            **{str(s): error_response(s, statuses[s]) for s in sorted(statuses)},
        },
    }
    if body is not None:
        result["requestBody"] = json_body(body, body_required, example)
    return result


def post(path_operation: dict[str, Any]) -> dict[str, Any]:
    return {"post": path_operation}

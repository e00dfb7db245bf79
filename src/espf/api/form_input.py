"""Reading an ``application/x-www-form-urlencoded`` body, as older releases
of the original sent account statuses, into the same shape as a JSON object
so that one set of rules (Fields) reads both."""

from __future__ import annotations

from urllib.parse import parse_qsl

from espf.errors import BadRequest

MAX_FORM_FIELDS = 20


def parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the form body is not UTF-8", code="malformed_form") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise BadRequest(
            f"the form has more than {MAX_FORM_FIELDS} fields", code="malformed_form"
        ) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise BadRequest(f"field {name} is given twice", code="malformed_form")
        fields[name] = value
    return fields

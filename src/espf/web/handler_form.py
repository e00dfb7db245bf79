"""A handler's settings from the console's form, checked by the API's own
reader (api/handler_input.py) and then by the service: the same rules and the
same messages as the API and the CLI. A secret left blank is left as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from espf.api.handler_input import HANDLER_FIELDS, handler_settings
from espf.api.json_input import Fields
from espf.domain import HandlerSettings
from espf.errors import BadRequest

TEXT_FIELDS = ("url", "auth", "login", "password", "auth_scheme", "auth_token", "auth_header")
NUMBER_FIELDS = ("timeout", "auto_pause_after")
# Delivery limits: a blank field removes the limit (0, as the API's 0 does),
# so clearing it in the form does what the operator sees.
LIMIT_FIELDS = ("max_in_flight", "max_rate", "rate_burst")
RETRY_FIELDS = ("max_attempts", "schedule")
# Fields whose message is shown beside them: the reader names the field first.
FORM_FIELDS = (
    *TEXT_FIELDS,
    *NUMBER_FIELDS,
    *LIMIT_FIELDS,
    "order_key",
    "retry.max_attempts",
    "retry.schedule",
)


def settings_from_form(form: Mapping[str, str]) -> HandlerSettings:
    body: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = form.get(name, "").strip()
        if value:
            body[name] = value
    for name in NUMBER_FIELDS:
        value = form.get(name, "").strip()
        if value:
            body[name] = _number(name, value)
    for name in LIMIT_FIELDS:
        value = form.get(name, "").strip()
        body[name] = _number(name, value) if value else 0
    retry: dict[str, Any] = {}
    if form.get("retry.max_attempts", "").strip():
        retry["max_attempts"] = _number("retry.max_attempts", form["retry.max_attempts"])
    if form.get("retry.schedule", "").strip():
        retry["schedule"] = form["retry.schedule"].strip()
    if retry:
        body["retry"] = retry
    body["ordered"] = form.get("ordered") == "on"
    if form.get("order_key", "").strip():
        body["order_key"] = form["order_key"].strip()
    return handler_settings(Fields(body, HANDLER_FIELDS))


def field_of(message: str) -> str:
    """The form field a message is about (messages start with its name)."""
    for name in sorted(FORM_FIELDS, key=len, reverse=True):
        if message.startswith(name + " ") or message.startswith(name.replace("_", " ") + " "):
            return name
    if message.startswith("handler name"):
        return "name"
    return "form"


def limit_values(
    max_in_flight: int | None, max_rate: float | None, burst: int | None
) -> dict[str, str]:
    """A handler's limits as the form shows them: blank where there is none."""
    return {
        "max_in_flight": str(max_in_flight) if max_in_flight else "",
        "max_rate": f"{max_rate:g}" if max_rate else "",
        "rate_burst": str(burst) if burst else "",
    }


def _number(name: str, text: str) -> int | float:
    try:
        value = float(text.strip())
    except ValueError:
        raise BadRequest(f"{name} must be a number", code="invalid_field") from None
    return int(value) if value.is_integer() else value

"""The event espf delivers, parsed from the request body
``{"event_type": ..., "variables": {..., "i_event": N, "i_env": E}}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from espf.receiver.outcomes import Reject


class BadEvent(ValueError):
    """The body is not an ESPF event; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Event:
    """One delivered event. ``variables`` is as sent, i_event and i_env
    included; ``webhook_id`` is set under signature auth (the same on every
    resend of a delivery)."""

    event_type: str
    variables: dict[str, Any]
    i_event: int
    i_env: int
    webhook_id: str | None = None

    def variable(self, name: str) -> Any:
        """A variable the handler cannot do without: a missing one is a
        :class:`~espf.receiver.Reject` (the event will never have it)."""
        if name not in self.variables:
            raise Reject(f"{self.event_type} event {self.i_event} has no variable {name!r}")
        return self.variables[name]


def parse_event(body: bytes, webhook_id: str | None = None) -> Event:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadEvent(f"the body is not JSON ({exc}); espf sends a JSON object") from None
    if not isinstance(data, dict):
        raise BadEvent("the body must be a JSON object with event_type and variables")
    event_type = data.get("event_type")
    if not isinstance(event_type, str) or not event_type.strip():
        raise BadEvent("the body has no event_type (a non-empty string)")
    variables = data.get("variables")
    if not isinstance(variables, dict):
        raise BadEvent("the body has no variables object")
    ids: dict[str, int] = {}
    for name in ("i_event", "i_env"):
        value = variables.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise BadEvent(f"variables.{name} must be a positive integer (espf always sets it)")
        ids[name] = value
    return Event(event_type.strip(), variables, ids["i_event"], ids["i_env"], webhook_id)

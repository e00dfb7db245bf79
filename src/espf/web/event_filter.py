"""The events filter as it stands in the URL (so it can be shared), read into
the service's query with each field's error kept beside that field."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlencode

from espf.domain import ApiUser, EventFilter, EventState
from espf.errors import BadRequest, EspfError
from espf.service import own_events_only, parse_variable_filter
from espf.service.console import EventQuery
from espf.timeparse import parse_start_time

FIELDS = (
    "event_type",
    "state",
    "handler",
    "variable",
    "created_from",
    "created_to",
    "start_from",
    "start_to",
)
PAGE_SIZE = 50
T = TypeVar("T")


@dataclass
class FilterForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    query: EventQuery | None = None

    @property
    def active(self) -> bool:
        return any(self.values.values())

    def url_query(self, **extra: str | int | None) -> str:
        shown = {k: v for k, v in self.values.items() if v}
        shown.update({k: str(v) for k, v in extra.items() if v is not None})
        return urlencode(shown)


def read_filter(source: Mapping[str, str], user: ApiUser, before: int | None = None) -> FilterForm:
    values = {name: source.get(name, "").strip() for name in FIELDS}
    form = FilterForm(values)

    state = _parsed(form, "state", _state)
    variable = _parsed(form, "variable", parse_variable_filter)
    times = {name: _parsed(form, name, parse_start_time) for name in FIELDS[4:]}
    if form.errors:
        return form
    form.query = EventQuery(
        base=EventFilter(
            i_env=user.i_env,
            event_type=values["event_type"] or None,
            state=state,
            limit=PAGE_SIZE,
            before_i_event=before,
            variable=variable,
            created_from=times["created_from"],
            created_to=times["created_to"],
            created_by=own_events_only(user),
        ),
        handler=values["handler"] or None,
        start_from=times["start_from"],
        start_to=times["start_to"],
    )
    return form


def _parsed(form: FilterForm, name: str, parse: Callable[[str], T]) -> T | None:
    """The field's value parsed, or None; a wrong value's message goes beside it."""
    text = form.values[name]
    if not text:
        return None
    try:
        return parse(text)
    except EspfError as error:
        form.errors[name] = error.message
        return None


def _state(name: str) -> EventState:
    try:
        return EventState(name)
    except ValueError:
        states = ", ".join(s.value for s in EventState)
        raise BadRequest(f"state {name!r} is not one of {states}", code="invalid_field") from None

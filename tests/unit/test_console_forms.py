"""The console's forms for limits and maintenance windows are read by the
API's own readers: the same values and the same messages, each message
placed beside the field it is about."""

from __future__ import annotations

import pytest

from espf.api.json_input import Fields
from espf.api.maintenance import WINDOW_FIELDS, window_of
from espf.errors import BadRequest
from espf.web.handler_form import field_of, limit_values, settings_from_form
from espf.web.maintenance_windows import window_body, window_field_of

HANDLER = {"url": "https://app.example/espf", "auth": "none"}


def test_limits_from_the_form_and_back() -> None:
    settings = settings_from_form(
        {**HANDLER, "max_in_flight": "4", "max_rate": "0.5", "rate_burst": ""}
    )
    assert (settings.max_in_flight, settings.max_rate, settings.rate_burst) == (4, 0.5, 0)
    assert limit_values(4, 0.5, None) == {"max_in_flight": "4", "max_rate": "0.5", "rate_burst": ""}
    # Blank fields remove the limits, as the API's 0 does.
    cleared = settings_from_form(HANDLER)
    assert (cleared.max_in_flight, cleared.max_rate, cleared.rate_burst) == (0, 0, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_in_flight", "2.5", "max_in_flight must be an integer from 0 to"),
        ("max_in_flight", "-1", "max_in_flight must be an integer from 0 to"),
        ("max_rate", "fast", "max_rate must be a number"),
        ("rate_burst", "-3", "rate_burst must be an integer from 0 to"),
    ],
)
def test_a_wrong_limit_gets_the_apis_message_beside_its_field(
    field: str, value: str, message: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        settings_from_form({**HANDLER, field: value})
    assert refused.value.message.startswith(message)
    assert field_of(refused.value.message) == field


def test_a_window_form_holds_only_its_kinds_fields() -> None:
    form = {"kind": "recurring", "rule": "daily at 01:00", "time_zone": "Europe/Prague"}
    form |= {"duration": "3600", "start": "2030-01-01 00:00:00"}
    window = window_of(Fields(window_body(form), WINDOW_FIELDS))
    assert (window.rule, window.duration_s, window.starts_at) == ("daily at 01:00", 3600, None)
    once = window_body(
        {"kind": "one_off", "start": " 2030-01-01 00:00:00 ", "end": "", "rule": "x"}
    )
    assert once == {"start": "2030-01-01 00:00:00"}


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"kind": "recurring", "rule": "daily at 01:00", "duration": "2h"}, "duration"),
        ({"kind": "one_off", "start": "tomorrow", "end": "2030-01-01 00:00:00"}, "start"),
    ],
)
def test_a_wrong_window_field_is_named(form: dict[str, str], field: str) -> None:
    with pytest.raises(BadRequest) as refused:
        window_of(Fields(window_body(form), WINDOW_FIELDS))
    assert window_field_of(refused.value.message) == field


def test_service_messages_about_windows_find_their_field() -> None:
    assert window_field_of("unknown time zone 'Europe/Praha': ...") == "time_zone"
    assert window_field_of("rule 'weekly on tus': 'tus' is not a weekday") == "rule"
    assert window_field_of("a window must end after it starts") == "end"
    assert window_field_of("a recurring window needs a duration from 1 to 2678400") == "duration"
    assert window_field_of("a one-off window needs start and end") == "form"

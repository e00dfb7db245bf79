"""Property: nothing a client can send to event/create gets a 5xx.

Bodies are arbitrary JSON, JSON shaped like a real request with wrong or
odd field values, and arbitrary bytes. Every answer must be a 200 with an
``i_event`` or a 4xx with the ``{"error", "message"}`` body.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.api_harness import CUSTOM_TYPE, ApiHarness, api_harness


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    # One database for all examples: the property is about answers, and a
    # fresh Argon2-hashed user per example would make the run slow.
    with api_harness(tmp_path_factory.mktemp("fuzz")) as harness:
        yield harness


json_scalars = (
    st.none()
    | st.booleans()
    # Unbounded: integers past 64 bits are a classic crash in JSON libraries.
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)

# What an event may carry and get back unchanged: anything but a NUL character,
# which is refused with 400 because PostgreSQL cannot store it.
_no_nul = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=30)
storable_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _no_nul,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(
                st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=10
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)

fixed_offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
any_datetime = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
)
# The calendar's edges and the supported range's edges, where an offset can
# push the instant out of range: random draws almost never land there.
edge_datetime = st.sampled_from(
    [
        datetime(1, 1, 1),
        datetime(1969, 12, 31, 23, 59, 59),
        datetime(1970, 1, 1),
        datetime(9998, 12, 31, 23, 59, 59),
        datetime(9999, 12, 31, 23, 59, 59),
    ]
)
# Text of the accepted shape, with any digits: impossible dates included.
TIME_SHAPE = r"\A\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?\Z"
time_texts = st.one_of(
    any_datetime.map(lambda dt: dt.strftime("%Y-%m-%d %H:%M:%S")),
    st.builds(lambda dt, tz: dt.replace(tzinfo=tz).isoformat(), any_datetime, fixed_offsets),
    st.builds(lambda dt, tz: dt.replace(tzinfo=tz).isoformat(), edge_datetime, fixed_offsets),
    any_datetime.map(lambda dt: dt.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")),
    st.from_regex(TIME_SHAPE),
    st.text(max_size=30),
)
type_names = st.one_of(
    st.sampled_from(
        [CUSTOM_TYPE, f" {CUSTOM_TYPE} ", "Account/New", "Custom/Unknown", "Custom//X", "", " "]
    ),
    st.text(max_size=40),
    st.from_regex(r"\A[A-Za-z/ ]{0,30}\Z"),
)
valid_variables = st.dictionaries(st.text(max_size=10), json_values, max_size=4)

# A request that passes every check but the one under test: the fields are
# checked in order, so an odd start_time is only reached when event_type and
# variables are fine.
well_formed = st.fixed_dictionaries(
    {
        "event_type": st.sampled_from([CUSTOM_TYPE, f" {CUSTOM_TYPE} ", "Account/New"]),
        "variables": valid_variables,
        "start_time": time_texts,
    }
)
odd_value = type_names | time_texts | json_values


@st.composite
def one_field_odd(draw: st.DrawFn) -> dict[str, Any]:
    request: dict[str, Any] = draw(well_formed)
    field = draw(st.sampled_from(sorted(request)))
    if draw(st.booleans()):
        del request[field]
    else:
        request[field] = draw(odd_value)
    return request


request_shaped = st.fixed_dictionaries(
    {},
    optional={
        "event_type": type_names | json_values,
        "variables": valid_variables | json_values,
        "start_time": time_texts | json_values,
    },
)


def encode(value: Any) -> bytes:
    # The standard library writes integers of any size, as a client might.
    return json.dumps(value).encode()


bodies = st.one_of(
    well_formed.map(encode),
    one_field_odd().map(encode),
    request_shaped.map(encode),
    json_values.map(encode),
    st.binary(max_size=200),
    st.text(max_size=100).map(str.encode),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies)
def test_no_body_ever_gets_a_5xx(api: ApiHarness, body: bytes) -> None:
    response = api.create(body)
    assert response.status_code < 500, (body, response.status_code, response.text)
    answer = response.json()
    if response.status_code == 200:
        assert list(answer) == ["i_event"] and isinstance(answer["i_event"], int)
    else:
        assert 400 <= response.status_code < 500
        assert set(answer) == {"error", "message"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=storable_values)
def test_any_json_variables_are_stored_as_sent(api: ApiHarness, value: Any) -> None:
    variables = {"payload": value}
    response = api.create(encode({"event_type": "Account/New", "variables": variables}))
    assert response.status_code == 200, response.text
    stored = api.event(response.json()["i_event"]).variables
    # Integers past 64 bits come back as floats: the JSON parser's choice,
    # and the same one the Application's parser would likely make.
    assert _same_numbers(stored, variables), (stored, variables)


def _same_numbers(a: Any, b: Any) -> bool:
    """Equal, allowing integers too large for 64 bits to become floats."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_numbers(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_numbers(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, int) and not isinstance(b, bool):
        return abs(b) >= 2**63 and a == float(b)
    return bool(a == b)

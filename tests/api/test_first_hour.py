"""What a newcomer meets in the first hour over HTTP: numbers that would not
arrive unchanged, bodies that are not UTF-8, Content-Type, and hints for
event types that do not exist."""

from __future__ import annotations

import httpx2
import pytest

from tests.api.conftest import ADMIN3, Api

BIG = "123456789012345678901234567890"


def create(api: Api, body: bytes, headers: dict[str, str] | None = None) -> httpx2.Response:
    return api.client.post("/espf/v1/event/create", content=body, auth=ADMIN3, headers=headers)


@pytest.mark.parametrize("number", [BIG, "18446744073709551616", "-9223372036854775809", "-" + BIG])
def test_whole_numbers_outside_64_bits_are_refused_saying_why(api: Api, number: str) -> None:
    before = api.ok("event/list", {})["events"]
    body = f'{{"event_type": "Custom/NextMonth", "variables": {{"n": {number}}}}}'.encode()
    response = create(api, body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["error"] == "number_out_of_range"
    assert number in answer["message"] and f'send it as a string ("{number}")' in answer["message"]
    assert api.ok("event/list", {})["events"] == before  # nothing changed


def test_the_64_bit_limits_and_long_digit_strings_arrive_exactly(api: Api) -> None:
    variables = (
        '{"max": 18446744073709551615, "min": -9223372036854775808, '
        f'"text": "{BIG}", "nested": [{{"i": 9223372036854775807}}]}}'
    )
    body = f'{{"event_type": "Custom/NextMonth", "variables": {variables}}}'.encode()
    response = create(api, body)
    assert response.status_code == 200, response.text
    i_event = response.json()["i_event"]
    stored = api.ok("event/get", {"i_event": i_event})["variables"]
    assert stored == {
        "max": 18446744073709551615,
        "min": -9223372036854775808,
        "text": BIG,
        "nested": [{"i": 9223372036854775807}],
    }


def test_invalid_utf8_is_named_as_such(api: Api) -> None:
    response = create(api, b'{"event_type": "Custom/NextMonth", "variables": {"a": "\xff"}}')
    assert response.status_code == 400
    message = response.json()["message"]
    assert "not valid UTF-8" in message and "0xff at offset 55" in message
    assert "surrogates" not in message


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/json"]
)
def test_event_create_reads_json_whatever_the_content_type(
    api: Api, content_type: str | None
) -> None:
    """Lenient, like the original: existing Applications keep working
    whatever they label their JSON (see docs/api.md)."""
    headers = {"Content-Type": content_type} if content_type else {}
    response = create(api, b'{"event_type": "Custom/NextMonth"}', headers)
    assert response.status_code == 200, response.text


def test_a_body_that_is_not_json_says_so_whatever_the_content_type(api: Api) -> None:
    response = create(api, b"event_type=Custom/NextMonth", {"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["message"]


@pytest.mark.parametrize(
    ("sent", "hint"),
    [
        ("custom/nextmonth", "did you mean 'Custom/NextMonth'?"),
        ("custom/later", "create it with 'espf type create Custom/later'"),
        ("Custom/Later", "create it with 'espf type create Custom/Later'"),
        ("Account/Nwe", "'espf type create Custom/Account/Nwe'"),
    ],
)
def test_unknown_type_hints(api: Api, sent: str, hint: str) -> None:
    answer = api.error("event/create", {"event_type": sent}, 404, "unknown_event_type")
    assert hint in answer["message"]

"""The HTTP API in-process, over a real SQLite store: what a producer gets
back, and that bad input changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from espf.domain import EventState
from espf.store.sql_loader import load_migrations
from espf.timeparse import parse_start_time
from tests.unit.api_harness import (
    CUSTOM_TYPE,
    I_ENV,
    LOGIN,
    MAX_BODY_BYTES,
    PASSWORD,
    URL,
    ApiHarness,
    api_harness,
    basic,
)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiHarness]:
    with api_harness(tmp_path) as harness:
        yield harness


def assert_json_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"}, body
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["error"] == code, body
    return dict(body)


# -- success ---------------------------------------------------------------------------
def test_seed_request_returns_i_event_and_stores_the_event(api: ApiHarness) -> None:
    response = api.create(
        {
            "event_type": " Custom/NextMonth ",
            "variables": {"i_account": 541},
            "start_time": "2021-03-01 00:00:00",
        }
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["i_event"]
    assert isinstance(body["i_event"], int)

    event = api.event(body["i_event"])
    assert event.i_env == I_ENV  # the environment of the API user
    assert event.event_type == CUSTOM_TYPE  # trimmed
    assert event.variables == {"i_account": 541}
    assert event.start_at == parse_start_time("2021-03-01 00:00:00")
    assert event.state is EventState.SCHEDULED


def test_each_event_gets_a_new_increasing_i_event(api: ApiHarness) -> None:
    ids = [api.create({"event_type": "Account/New"}).json()["i_event"] for _ in range(5)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert api.snapshot().last_i_event == ids[-1]


@pytest.mark.parametrize("start_time", [None, ""])
def test_absent_start_time_means_now(api: ApiHarness, start_time: str | None) -> None:
    before = int(time.time() * 1000)
    body: dict[str, Any] = {"event_type": "Account/New"}
    if start_time is not None:
        body["start_time"] = start_time
    i_event = api.create(body).json()["i_event"]
    after = int(time.time() * 1000)
    assert before <= api.event(i_event).start_at <= after


@pytest.mark.parametrize("variables", [None, {}])
def test_absent_or_null_variables_are_an_empty_object(
    api: ApiHarness, variables: dict[str, Any] | None
) -> None:
    body: dict[str, Any] = {"event_type": "Account/New"}
    if variables is not None:
        body["variables"] = variables
    assert api.event(api.create(body).json()["i_event"]).variables == {}


def test_nested_variables_survive_unchanged(api: ApiHarness) -> None:
    variables = {"i_account": 541, "name": "Jürgen", "tags": ["a", {"b": None}], "ratio": 0.5}
    i_event = api.create({"event_type": "Account/New", "variables": variables}).json()["i_event"]
    assert api.event(i_event).variables == variables


def test_start_time_with_offset_and_milliseconds(api: ApiHarness) -> None:
    i_event = api.create(
        {"event_type": CUSTOM_TYPE, "start_time": "2021-03-01T02:00:00.250+02:00"}
    ).json()["i_event"]
    assert api.event(i_event).start_at == 1_614_556_800_250


def test_unknown_fields_are_refused_by_name(api: ApiHarness) -> None:
    response = api.create({"event_type": "Account/New", "priority": "high"})
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_field"
    assert "priority" in response.json()["message"]


# -- bad input changes nothing ---------------------------------------------------------
BAD_BODIES: list[tuple[str, bytes, int, str]] = [
    ("malformed JSON", b'{"event_type": "Account/New"', 400, "malformed_json"),
    ("not JSON at all", b"event_type=Account/New", 400, "malformed_json"),
    ("empty body", b"", 400, "malformed_json"),
    ("whitespace body", b"  \n ", 400, "malformed_json"),
    ("invalid UTF-8", b'{"event_type": "\xff"}', 400, "malformed_json"),
    ("lone surrogate", b'{"event_type": "\\ud800"}', 400, "malformed_json"),
    ("body is an array", b'[{"event_type": "Account/New"}]', 400, "invalid_body"),
    ("body is a string", b'"Account/New"', 400, "invalid_body"),
    ("body is null", b"null", 400, "invalid_body"),
    ("body is a number", b"42", 400, "invalid_body"),
    ("event_type missing", b'{"variables": {}}', 400, "missing_field"),
    ("event_type null", b'{"event_type": null}', 400, "missing_field"),
    ("event_type a number", b'{"event_type": 17}', 400, "invalid_field"),
    ("event_type a list", b'{"event_type": ["Account/New"]}', 400, "invalid_field"),
    ("event_type an object", b'{"event_type": {"name": "x"}}', 400, "invalid_field"),
    ("event_type empty", b'{"event_type": "  "}', 400, "invalid_event_type"),
    ("event_type malformed", b'{"event_type": "Custom//X"}', 400, "invalid_event_type"),
    ("variables a list", b'{"event_type": "Account/New", "variables": [1]}', 400, "invalid_field"),
    ("an unknown field", b'{"event_type": "Account/New", "prio": 1}', 400, "unknown_field"),
    (
        "variables too deep",
        b'{"event_type": "Account/New", "variables": ' + b'{"a": ' * 40 + b"1" + b"}" * 41,
        400,
        "too_deep",
    ),
    (
        "variables a string",
        b'{"event_type": "Account/New", "variables": "i_account=541"}',
        400,
        "invalid_field",
    ),
    (
        "variables a number",
        b'{"event_type": "Account/New", "variables": 541}',
        400,
        "invalid_field",
    ),
    (
        "start_time unparseable",
        b'{"event_type": "Account/New", "start_time": "next month"}',
        400,
        "invalid_start_time",
    ),
    (
        "start_time impossible date",
        b'{"event_type": "Account/New", "start_time": "2021-02-30 00:00:00"}',
        400,
        "invalid_start_time",
    ),
    (
        "start_time off the calendar after the offset",
        b'{"event_type": "Account/New", "start_time": "9999-12-31T23:59:59-01:00"}',
        400,
        "invalid_start_time",
    ),
    (
        "start_time a number",
        b'{"event_type": "Account/New", "start_time": 1614556800}',
        400,
        "invalid_field",
    ),
    (
        "start_time an object",
        b'{"event_type": "Account/New", "start_time": {"date": "2021-03-01"}}',
        400,
        "invalid_field",
    ),
    ("start_time true", b'{"event_type": "Account/New", "start_time": true}', 400, "invalid_field"),
    ("unknown custom type", b'{"event_type": "Custom/Unknown"}', 404, "unknown_event_type"),
    ("unknown standard-looking type", b'{"event_type": "Account/Nope"}', 404, "unknown_event_type"),
]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_bad_body_gets_its_status_and_changes_nothing(
    api: ApiHarness, body: bytes, status: int, code: str
) -> None:
    api.create({"event_type": "Account/New"})  # something in the database to compare
    before = api.snapshot()
    assert_json_error(api.create(body), status, code)
    assert api.snapshot() == before


def test_unknown_type_message_says_how_to_create_it(api: ApiHarness) -> None:
    body = assert_json_error(api.create({"event_type": "Custom/Later"}), 404)
    assert "espf type create Custom/Later" in body["message"]


# -- credentials -----------------------------------------------------------------------
BAD_CREDENTIALS: list[tuple[str, dict[str, str] | dict[str, bytes], str]] = [
    ("no header", {}, "missing_credentials"),
    ("wrong password", basic(LOGIN, "wrong-password"), "invalid_credentials"),
    ("unknown login", basic("nobody", PASSWORD), "invalid_credentials"),
    ("empty password", basic(LOGIN, ""), "invalid_credentials"),
    ("password of another case", basic(LOGIN, PASSWORD.upper()), "invalid_credentials"),
    ("forged bearer token", {"Authorization": "Bearer abc"}, "invalid_token"),
    ("empty bearer token", {"Authorization": "Bearer "}, "malformed_credentials"),
    ("digest scheme", {"Authorization": "Digest abc"}, "unsupported_auth_scheme"),
    ("basic without credentials", {"Authorization": "Basic "}, "unsupported_auth_scheme"),
    ("not base64", {"Authorization": "Basic !!!not-base64!!!"}, "malformed_credentials"),
    ("no colon", {"Authorization": "Basic YXBw"}, "malformed_credentials"),  # "app"
    ("not UTF-8", {"Authorization": "Basic /w=="}, "malformed_credentials"),  # b"\xff"
    # Header bytes outside ASCII reach the app as latin-1 text, which
    # base64 refuses with a plain ValueError, not binascii.Error.
    ("non-ASCII header", {"Authorization": b"Basic \xc3\xa9\xc3\xa9"}, "malformed_credentials"),
]


@pytest.mark.parametrize(
    ("headers", "code"),
    [case[1:] for case in BAD_CREDENTIALS],
    ids=[case[0] for case in BAD_CREDENTIALS],
)
def test_missing_or_wrong_credentials_get_401_and_change_nothing(
    api: ApiHarness, headers: dict[str, Any], code: str
) -> None:
    before = api.snapshot()
    response = api.client.post(
        URL,
        content=b'{"event_type": "Account/New"}',
        headers={"Content-Type": "application/json", **headers},
    )
    assert_json_error(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert api.snapshot() == before


def test_right_credentials_after_wrong_ones_still_work(api: ApiHarness) -> None:
    # The credential cache must not remember a failure, nor let a wrong
    # password through once the right one was verified.
    body = {"event_type": "Account/New"}
    wrong = basic(LOGIN, "wrong-password")
    assert api.create(body, headers=wrong).status_code == 401
    assert api.create(body).status_code == 200
    assert api.create(body, headers=wrong).status_code == 401
    assert api.create(body).status_code == 200


def test_credentials_are_checked_before_the_body(api: ApiHarness) -> None:
    # An anonymous client learns nothing about event types or body rules.
    assert_json_error(api.create(b"not json", auth=False), 401)
    assert_json_error(api.create({"event_type": "Custom/Secret"}, auth=False), 401)


# -- body size -------------------------------------------------------------------------
def padded_body(size: int) -> bytes:
    """A valid event/create body of exactly ``size`` bytes."""
    head = b'{"event_type": "Account/New", "variables": {"pad": "'
    tail = b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_body_at_the_limit_is_accepted(api: ApiHarness) -> None:
    assert api.create(padded_body(MAX_BODY_BYTES)).status_code == 200


def test_body_over_the_limit_gets_413_and_changes_nothing(api: ApiHarness) -> None:
    before = api.snapshot()
    assert_json_error(api.create(padded_body(MAX_BODY_BYTES + 1)), 413, "payload_too_large")
    assert api.snapshot() == before


def test_chunked_body_over_the_limit_without_content_length_gets_413(api: ApiHarness) -> None:
    before = api.snapshot()
    body = padded_body(MAX_BODY_BYTES * 4)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    # A generator makes httpx send Transfer-Encoding: chunked, no Content-Length.
    response = api.client.post(
        URL,
        content=chunks(),
        headers={"Content-Type": "application/json", **basic(LOGIN, PASSWORD)},
    )
    assert_json_error(response, 413, "payload_too_large")
    assert api.snapshot() == before


def call_asgi(
    app: Starlette, headers: list[tuple[bytes, bytes]], chunks: list[bytes]
) -> tuple[int, bytes, int]:
    """POST event/create straight into the ASGI app, the body in ``chunks``.
    Return the status, the body and how many chunks the app asked for."""
    received = 0
    status = 0
    body = b""

    async def receive() -> dict[str, Any]:
        nonlocal received
        if received >= len(chunks):
            await asyncio.sleep(3600)  # a client that sends nothing more
        received += 1
        return {
            "type": "http.request",
            "body": chunks[received - 1],
            "more_body": received < len(chunks),
        }

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": URL,
        "raw_path": URL.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=10))  # type: ignore[arg-type]
    return status, body, received


def raw_headers(**extra: str) -> list[tuple[bytes, bytes]]:
    headers = {"content-type": "application/json", **{k.lower(): v for k, v in extra.items()}}
    headers["authorization"] = basic(LOGIN, PASSWORD)["Authorization"]
    return [(k.encode(), v.encode()) for k, v in headers.items()]


@pytest.mark.parametrize(
    "declared",
    [None, "20"],  # absent, and a Content-Length that lies about a longer body
    ids=["no content-length", "lying content-length"],
)
def test_streamed_body_over_the_limit_is_cut_off_early(
    api: ApiHarness, declared: str | None
) -> None:
    before = api.snapshot()
    chunk = b" " * 1024  # whitespace: valid JSON padding, were it ever parsed
    chunks = [b'{"event_type": "Account/New"}', *[chunk] * 100]
    extra = {} if declared is None else {"content_length": declared}
    status, body, received = call_asgi(
        api.app, raw_headers(**{k.replace("_", "-"): v for k, v in extra.items()}), chunks
    )
    assert status == 413
    assert json.loads(body)["error"] == "payload_too_large"
    # It stopped reading once past the limit instead of buffering 100 KiB.
    assert received <= MAX_BODY_BYTES // 1024 + 2
    assert api.snapshot() == before


def test_streamed_body_within_the_limit_is_accepted(api: ApiHarness) -> None:
    chunks = [b'{"event_type": ', b'"Account/New", ', b'"variables": {"i_account": 1}}']
    status, body, _ = call_asgi(api.app, raw_headers(), chunks)
    assert status == 200, body
    assert api.event(json.loads(body)["i_event"]).variables == {"i_account": 1}


def test_non_numeric_content_length_is_a_400(api: ApiHarness) -> None:
    status, body, _ = call_asgi(
        api.app, raw_headers(**{"content-length": "lots"}), [b'{"event_type": "Account/New"}']
    )
    assert status == 400
    assert json.loads(body)["error"] == "invalid_header"


# -- routing ---------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/espf/v1/event/delete", "/espf/v2/event/create", "/doc"])
def test_unknown_route_is_a_json_404(api: ApiHarness, path: str) -> None:
    assert_json_error(api.client.post(path, content=b"{}"), 404, "not_found")
    assert_json_error(api.client.get(path), 404, "not_found")


def test_the_root_leads_to_the_operator_console(api: ApiHarness) -> None:
    answer = api.client.get("/", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/console/"
    assert_json_error(api.client.post("/", content=b"{}"), 405, "method_not_allowed")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_wrong_method_is_a_json_405_with_allow(api: ApiHarness, method: str) -> None:
    before = api.snapshot()
    response = api.client.request(method, URL, headers=basic(LOGIN, PASSWORD))
    assert_json_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]
    assert api.snapshot() == before


def test_health_and_readiness(api: ApiHarness) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "schema_version": len(load_migrations("sqlite"))}

"""Error mapping: every EspfError becomes one status and one
``{"error", "message"}`` JSON body, the same for the API and the CLI."""

from __future__ import annotations

import json

import pytest

from espf.api.responses import WWW_AUTHENTICATE, error_response
from espf.errors import (
    BadRequest,
    Conflict,
    EspfError,
    Forbidden,
    MigrationFailed,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    UnsupportedMediaType,
)

EXPECTED = [
    (BadRequest, 400, "bad_request"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not_found"),
    (Conflict, 409, "conflict"),
    (PayloadTooLarge, 413, "payload_too_large"),
    (UnsupportedMediaType, 415, "unsupported_media_type"),
    (TooManyRequests, 429, "too_many_requests"),
    (Unavailable, 503, "unavailable"),
    (MigrationFailed, 500, "migration_failed"),
    (EspfError, 500, "internal_error"),
]


def test_every_subclass_is_listed_here() -> None:
    # A new error class must get its row above, so its mapping is pinned.
    assert set(EspfError.__subclasses__()) == {cls for cls, _, _ in EXPECTED} - {EspfError}


@pytest.mark.parametrize(("error_class", "status", "code"), EXPECTED)
def test_error_maps_to_its_status_and_json_body(
    error_class: type[EspfError], status: int, code: str
) -> None:
    response = error_response(error_class("what went wrong"))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert json.loads(bytes(response.body)) == {"error": code, "message": "what went wrong"}


@pytest.mark.parametrize(("error_class", "status", "code"), EXPECTED)
def test_a_specific_code_replaces_the_class_default(
    error_class: type[EspfError], status: int, code: str
) -> None:
    error = error_class("bad field", code="invalid_field")
    assert error.as_json() == {"error": "invalid_field", "message": "bad field"}
    assert error.http_status == status
    # ...without changing the class default for the next instance.
    assert error_class("again").code == code


def test_401_carries_www_authenticate() -> None:
    response = error_response(Unauthorized("log in"))
    assert response.headers["www-authenticate"] == WWW_AUTHENTICATE
    assert response.headers["www-authenticate"].startswith("Basic ")


@pytest.mark.parametrize(
    "error_class", [BadRequest, Forbidden, NotFound, Conflict, PayloadTooLarge, Unavailable]
)
def test_other_errors_do_not_ask_for_credentials(error_class: type[EspfError]) -> None:
    assert "www-authenticate" not in error_response(error_class("x")).headers


def test_extra_headers_are_passed_through() -> None:
    response = error_response(BadRequest("x"), headers={"Allow": "POST"})
    assert response.headers["allow"] == "POST"


def test_client_errors_have_non_zero_distinct_cli_exit_codes() -> None:
    assert all(cls.exit_code != 0 for cls, _, _ in EXPECTED)
    assert len({BadRequest.exit_code, NotFound.exit_code, Conflict.exit_code}) == 3


def test_errors_are_exceptions_with_their_message() -> None:
    error = NotFound("event 5 does not exist")
    assert str(error) == "event 5 does not exist"
    assert isinstance(error, EspfError)

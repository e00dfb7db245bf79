"""The authorization header EventSender puts on each request."""

from __future__ import annotations

import base64
import dataclasses

from espf.auth_header import authorization_header
from espf.domain import AuthMethod
from tests.factories import a_handler

A_HANDLER = a_handler(timeout_s=300.0)


def test_basic_is_base64_of_login_colon_password() -> None:
    assert authorization_header(A_HANDLER) == ("Authorization", "Basic ZXNwZjpzM2NyZXQ=")
    assert base64.b64decode("ZXNwZjpzM2NyZXQ=") == b"espf:s3cret"


def test_basic_encodes_non_ascii_credentials_as_utf8() -> None:
    handler = dataclasses.replace(A_HANDLER, login="jürgen", password="pässword")
    name, value = authorization_header(handler) or ("", "")
    scheme, _, encoded = value.partition(" ")
    assert (name, scheme) == ("Authorization", "Basic")
    assert base64.b64decode(encoded).decode("utf-8") == "jürgen:pässword"


def test_basic_with_a_custom_header_name() -> None:
    handler = dataclasses.replace(A_HANDLER, auth_header="X-Espf-Authorization")
    assert authorization_header(handler) == ("X-Espf-Authorization", "Basic ZXNwZjpzM2NyZXQ=")


def test_custom_is_scheme_space_token_under_the_configured_header() -> None:
    handler = dataclasses.replace(
        A_HANDLER,
        auth_method=AuthMethod.CUSTOM,
        login=None,
        password=None,
        auth_scheme="Token",
        auth_token="abc.123=",
        auth_header="X-App-Auth",
    )
    assert authorization_header(handler) == ("X-App-Auth", "Token abc.123=")


def test_custom_with_the_default_header_name() -> None:
    handler = dataclasses.replace(
        A_HANDLER, auth_method=AuthMethod.CUSTOM, auth_scheme="Bearer", auth_token="t0k3n"
    )
    assert authorization_header(handler) == ("Authorization", "Bearer t0k3n")


def test_none_sends_no_header_even_with_credentials_left_over() -> None:
    handler = dataclasses.replace(A_HANDLER, auth_method=AuthMethod.NONE)
    assert authorization_header(handler) is None

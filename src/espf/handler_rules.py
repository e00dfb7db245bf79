"""What a valid handler is: its name, and settings that make sense
together (an http(s) URL, the credentials its auth method needs, bounds).
The service checks every create and change with these rules, so the API and
the CLI refuse the same things with the same messages. Also the rules of a
handler's life beside its settings: the name a deleted handler keeps in the
history, and which answers count as a handler being healthy."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import fields, replace
from typing import TypeVar
from urllib.parse import urlsplit

from espf.circuit_breaker import MAX_BREAKER_AFTER
from espf.domain import (
    AttemptOutcome,
    AuthMethod,
    Handler,
    HandlerSettings,
    RetryOverrides,
    TlsSettings,
)
from espf.errors import BadRequest
from espf.names import VARIABLE_NAME
from espf.rate_limits import MAX_BURST, MAX_IN_FLIGHT, MAX_RATE, MIN_RATE
from espf.retry import RetryPolicy, Verdict, classify
from espf.retry_overrides import retry_policy_for
from espf.signing import validate_signing_secret

# RFC 7230 token: what an HTTP header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_AUTH_SCHEME = _HEADER_NAME
MAX_HANDLER_TIMEOUT_S = 3600.0


def handler_name(raw: str) -> str:
    name = raw.strip()
    if not name or any(ch.isspace() or not ch.isprintable() for ch in name) or len(name) > 100:
        raise BadRequest(
            f"handler name {raw!r} is not valid: 1 to 100 characters, no spaces",
            code="invalid_handler",
        )
    return name


HANDLER_SETTING_FIELDS = tuple(f.name for f in fields(HandlerSettings))

_T = TypeVar("_T", RetryOverrides, TlsSettings)

# An empty set of retry overrides given to handler_set: back to the default policy.
RESET_RETRY = RetryOverrides()


def merge_settings(current: _T, changes: _T) -> _T:
    """``changes`` fields that are set replace those of ``current``. Retry
    overrides go back to the default with ``RESET`` (see CLI --retry-default)."""
    if changes == RESET_RETRY:
        return current.__class__()
    return replace(
        current,
        **{f.name: v for f in fields(changes) if (v := getattr(changes, f.name)) is not None},
    )


def validate_handler_settings(settings: HandlerSettings) -> None:
    """Raise BadRequest naming the first setting that is wrong."""

    def bad(message: str) -> BadRequest:
        return BadRequest(message, code="invalid_handler")

    if not settings.url:
        raise bad("a handler needs --url, the Application's address (http:// or https://)")
    parts = urlsplit(settings.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise bad(f"url {settings.url!r} is not an http:// or https:// address")
    method = settings.auth_method
    if method is AuthMethod.BASIC and not settings.login:
        raise bad(
            "basic auth (the default) needs --login and --password; "
            "use --auth none to send no Authorization header"
        )
    if method is AuthMethod.BASIC and settings.login and ":" in settings.login:
        raise bad("a basic auth login cannot contain ':'")
    if method is AuthMethod.CUSTOM:
        if not settings.auth_scheme or not _AUTH_SCHEME.match(settings.auth_scheme):
            raise bad("custom auth needs --auth-scheme, one word such as 'Token'")
        if not settings.auth_token or any(ch in "\r\n" for ch in settings.auth_token):
            raise bad("custom auth needs --auth-token, on one line")
    if method is AuthMethod.SIGNATURE:
        if not settings.signing_secrets:
            raise bad("signature auth needs --signing-secret (e.g. one made by 'espf secret')")
        for secret in settings.signing_secrets:
            validate_signing_secret(secret)
    if settings.auth_header is not None and not _HEADER_NAME.match(settings.auth_header):
        raise bad(f"auth header name {settings.auth_header!r} is not a valid HTTP header name")
    timeout = settings.timeout_s
    if timeout is not None and not 0 < timeout <= MAX_HANDLER_TIMEOUT_S:
        raise bad(f"timeout must be more than 0 and at most {MAX_HANDLER_TIMEOUT_S:g} seconds")
    if settings.auto_pause_after_s is not None and settings.auto_pause_after_s <= 0:
        raise bad("auto-pause time must be more than 0 seconds")
    validate_limits(settings)
    if settings.order_key is not None and not VARIABLE_NAME.match(settings.order_key):
        raise bad(f"order key {settings.order_key!r} is not a variable name such as i_account")
    if settings.retry is not None:
        retry_policy_for(settings.retry, RetryPolicy())  # raises BadRequest if wrong
    if settings.tls is not None:
        for label, path in (
            ("CA bundle", settings.tls.ca_file),
            ("client certificate", settings.tls.client_cert),
            ("client key", settings.tls.client_key),
        ):
            if path is not None and not os.path.isfile(path):
                raise bad(f"TLS {label} {path!r} is not a readable file")
        if settings.tls.client_key and not settings.tls.client_cert:
            raise bad("a TLS client key needs its client certificate (--tls-client-cert)")


def _bad_limit(message: str) -> BadRequest:
    return BadRequest(message, code="invalid_handler")


def validate_limits(settings: HandlerSettings) -> None:
    """Delivery limits: whole numbers of requests, a positive rate; 0
    removes a limit."""
    if settings.max_in_flight is not None and not 0 <= settings.max_in_flight <= MAX_IN_FLIGHT:
        raise _bad_limit(
            f"max_in_flight must be a whole number from 1 to {MAX_IN_FLIGHT} (0 removes the limit)"
        )
    rate = settings.max_rate
    if rate is not None and not (math.isfinite(rate) and 0 <= rate <= MAX_RATE):
        raise _bad_limit(
            f"max_rate must be a number of requests per second, more than 0 and at most "
            f"{MAX_RATE:g} (0 removes the limit)"
        )
    if rate is not None and 0 < rate < MIN_RATE:
        raise _bad_limit(f"max_rate must be at least {MIN_RATE:g} requests per second")
    if settings.rate_burst is not None and not 0 <= settings.rate_burst <= MAX_BURST:
        raise _bad_limit(
            f"rate_burst must be a whole number of requests from 1 to {MAX_BURST} "
            "(0: the default, 1)"
        )
    after = settings.breaker_after
    if after is not None and not 0 <= after <= MAX_BREAKER_AFTER:
        raise _bad_limit(
            f"breaker_after must be a whole number of failures in a row from 1 to "
            f"{MAX_BREAKER_AFTER} (0 turns the circuit breaker off)"
        )


def settings_of(handler: Handler) -> HandlerSettings:
    """The settings a handler has now, every one set."""
    return HandlerSettings(**{name: getattr(handler, name) for name in HANDLER_SETTING_FIELDS})


def deleted_handler_name(handler: Handler) -> str:
    """What a deleted handler is called in the history of its deliveries.
    Live names have no spaces, so this never takes a live handler's name."""
    return f"{handler.name} (deleted #{handler.i_handler})"


def split_by_health(outcomes: Sequence[AttemptOutcome]) -> tuple[set[int], dict[int, int]]:
    """Handlers that answered (any 2xx or final 4xx: the Application is alive),
    and for the others the time of their first failure in this batch."""
    answered: set[int] = set()
    failing: dict[int, int] = {}
    for o in outcomes:
        if classify(o.status_code) is not Verdict.RETRY:
            answered.add(o.i_handler)
        else:
            failing[o.i_handler] = min(failing.get(o.i_handler, o.started_at), o.started_at)
    for i_handler in answered:
        failing.pop(i_handler, None)
    return answered, failing

"""A handler's settings from a JSON request: the same settings as the CLI's
``handler create`` and ``handler set`` options, with the same meaning.

An absent (or null) field means "as it is" on update and "the default" on
create. ``retry`` and ``tls`` change field by field; an empty ``retry``
object (``{}``) puts the service's default retry policy back, as the CLI's
``--retry-default`` does.
"""

from __future__ import annotations

from espf.api.json_input import Fields
from espf.circuit_breaker import MAX_BREAKER_AFTER
from espf.domain import AuthMethod, HandlerSettings, RetryOverrides, TlsSettings
from espf.handler_rules import MAX_HANDLER_TIMEOUT_S
from espf.rate_limits import MAX_BURST, MAX_IN_FLIGHT, MAX_RATE
from espf.retry import MAX_DELAY_S
from espf.retry_overrides import MAX_RETRY_AGE_S, MAX_RETRY_ATTEMPTS, MAX_RETRY_FACTOR

SETTING_FIELDS = (
    "url",
    "login",
    "password",
    "auth",
    "auth_scheme",
    "auth_token",
    "auth_header",
    "timeout",
    "signing_secrets",
    "retry",
    "auto_pause_after",
    "ordered",
    "order_key",
    "tls",
    "max_in_flight",
    "max_rate",
    "rate_burst",
    "breaker_after",
    "enabled",
)
HANDLER_FIELDS = ("name", *SETTING_FIELDS)
RETRY_FIELDS = ("schedule", "base", "factor", "cap", "max_attempts", "max_age")
TLS_FIELDS = ("verify", "ca_file", "client_cert", "client_key")

MAX_NAME_LENGTH = 100
MAX_URL_LENGTH = 2000
MAX_SECRET_LENGTH = 1000
MAX_PATH_LENGTH = 1000
MAX_SIGNING_SECRETS = 10
MAX_AUTO_PAUSE_S = 365 * 86400.0


def handler_settings(f: Fields) -> HandlerSettings:
    """Raise BadRequest naming the first field of the wrong type or size;
    the service checks what the values mean (validate_handler_settings)."""
    auth = f.choice("auth", [m.value for m in AuthMethod])
    secrets = f.text_list("signing_secrets", MAX_SIGNING_SECRETS, MAX_SECRET_LENGTH)
    return HandlerSettings(
        url=f.text("url", max_length=MAX_URL_LENGTH),
        auth_method=AuthMethod(auth) if auth else None,
        login=f.text("login", max_length=MAX_SECRET_LENGTH),
        password=f.text("password", max_length=MAX_SECRET_LENGTH),
        auth_scheme=f.text("auth_scheme", max_length=100),
        auth_token=f.text("auth_token", max_length=MAX_SECRET_LENGTH),
        auth_header=f.text("auth_header", max_length=100),
        timeout_s=f.number("timeout", 0, MAX_HANDLER_TIMEOUT_S),
        signing_secrets=tuple(secrets) if f.has("signing_secrets") else None,
        retry=_retry(f.nested("retry", RETRY_FIELDS)),
        auto_pause_after_s=f.number("auto_pause_after", 0, MAX_AUTO_PAUSE_S),
        ordered=f.optional_flag("ordered"),
        order_key=f.text("order_key", max_length=64),
        tls=_tls(f.nested("tls", TLS_FIELDS)),
        enabled=f.optional_flag("enabled"),
        max_in_flight=f.integer("max_in_flight", minimum=0, maximum=MAX_IN_FLIGHT),
        max_rate=f.number("max_rate", 0, MAX_RATE, exclusive_minimum=False),
        rate_burst=f.integer("rate_burst", minimum=0, maximum=MAX_BURST),
        breaker_after=f.integer("breaker_after", minimum=0, maximum=MAX_BREAKER_AFTER),
    )


def _retry(f: Fields | None) -> RetryOverrides | None:
    if f is None:
        return None
    return RetryOverrides(
        schedule=f.text("schedule", max_length=1000),
        base_s=f.number("base", 0, MAX_DELAY_S),
        factor=f.number("factor", 1, MAX_RETRY_FACTOR, exclusive_minimum=False),
        cap_s=f.number("cap", 0, MAX_DELAY_S),
        max_attempts=f.integer("max_attempts", maximum=MAX_RETRY_ATTEMPTS),
        max_age_s=f.number("max_age", 0, MAX_RETRY_AGE_S),
    )


def _tls(f: Fields | None) -> TlsSettings | None:
    if f is None:
        return None
    return TlsSettings(
        verify=f.optional_flag("verify"),
        ca_file=f.text("ca_file", max_length=MAX_PATH_LENGTH),
        client_cert=f.text("client_cert", max_length=MAX_PATH_LENGTH),
        client_key=f.text("client_key", max_length=MAX_PATH_LENGTH),
    )

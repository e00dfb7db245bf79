"""Settings, read once at start from a TOML file and the environment.

Every setting ``name`` is read from the environment variable ``ESPF_NAME``
(upper case) or from the key ``name`` of the TOML file named by
``ESPF_CONFIG``; the environment wins. Values are validated here so that a bad
setting stops the process at start with a message naming it, not later in the
middle of a delivery.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from espf.errors import BadRequest
from espf.retention import (
    RetentionError,
    RetentionPolicy,
    parse_retention,
    parse_retention_by_env,
)
from espf.retry import DEFAULT_MAX_AGE_S, DEFAULT_SCHEDULE, RetryPolicy, parse_schedule

DEFAULT_DATABASE_URL = "sqlite:///espf.db"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # PostgreSQL: the most connections this process opens (a dispatcher opens
    # one more, to LISTEN). Sum over all processes below max_connections.
    db_pool_size: int = 10
    host: str = "127.0.0.1"
    port: int = 8080
    # The largest event/create body accepted; larger ones get 413.
    max_body_bytes: int = 64 * 1024
    admin_login: str | None = None
    admin_password: str | None = None
    # Accept an admin_password shorter than the length rule (logged).
    admin_allow_weak_password: bool = False
    # How long a verified Basic credential is trusted without hashing again.
    credential_cache_ttl_s: float = 60.0
    # Sessions of /rest/Session/login: an access token's lifetime (longer than
    # the PHP clients' one-hour refresh margin, so they refresh about hourly),
    # how long a session lives after its last refresh, and how long an API
    # node trusts a session it has checked: a logout or password change
    # reaches every other node within that time.
    session_access_ttl_s: float = 2 * 3600.0
    session_ttl_s: float = 48 * 3600.0
    session_check_ttl_s: float = 5.0
    # When to resend, see retry.py. The schedule wins; set it to "" for plain
    # exponential back-off (base * factor^(n-1), capped).
    retry_schedule: str = DEFAULT_SCHEDULE
    retry_base_s: float = 1.0
    retry_factor: float = 2.0
    retry_cap_s: float = 3600.0
    # Limits; 0 means none. At least one must be set.
    retry_max_attempts: int = 0
    retry_max_age_s: float = DEFAULT_MAX_AGE_S
    # A handler failing without a break for this long is paused (never dropping).
    auto_pause_after_s: float = 6 * 3600.0
    # An Idempotency-Key of event/create is remembered this long.
    idempotency_window_s: float = 24 * 3600.0
    # The original waits 300 s for the Application's answer.
    handler_timeout_s: float = 300.0
    # Deliveries claimed per round trip to the store, and sent at once.
    dispatch_batch_size: int = 256
    dispatch_concurrency: int = 256
    # Keep-alive connections per handler.
    handler_connections: int = 64
    # Safety net: wake at least this often even if nobody announced new work
    # (events created by another process on SQLite, clock jumps).
    poll_interval_s: float = 1.0
    # A dispatcher node that has not beaten its heart for this long is dead:
    # its in-flight deliveries are taken over by others.
    node_ttl_s: float = 15.0
    heartbeat_interval_s: float = 3.0
    # On SIGTERM, how long in-flight requests may finish before being released.
    shutdown_grace_s: float = 10.0
    log_level: str = "info"
    log_format: str = "text"  # or "json"
    # HTTPS: both files (PEM) or neither.
    tls_cert: str | None = None
    tls_key: str | None = None
    # Trust X-Forwarded-For/-Proto only from these proxy addresses
    # (comma-separated, "*" for any); empty: trust no one.
    forwarded_allow_ips: str = ""
    # How long finished events are kept, by final state (retention.py); the
    # states left out keep their defaults (7 days delivered and superseded,
    # 30 days the others and account status history).
    retention: str = ""
    # Windows of their own for some environments, e.g. "3: delivered=1d";
    # the others keep retention's.
    retention_by_env: str = ""
    # Pruning, run by the dispatcher: every prune_interval_s, in batches of
    # prune_batch_size events, each its own short transaction.
    prune_interval_s: float = 60.0
    prune_batch_size: int = 100

    @property
    def retention_windows_s(self) -> dict[str, float]:
        return parse_retention(self.retention)

    @property
    def retention_policy(self) -> RetentionPolicy:
        windows = self.retention_windows_s
        return RetentionPolicy(windows, parse_retention_by_env(self.retention_by_env, windows))

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            schedule=parse_schedule(self.retry_schedule) if self.retry_schedule else None,
            base_s=self.retry_base_s,
            factor=self.retry_factor,
            cap_s=self.retry_cap_s,
            max_attempts=self.retry_max_attempts or None,
            max_age_s=self.retry_max_age_s or None,
        )

    def replace(self, **changes: Any) -> Settings:
        return _validated(dataclasses.replace(self, **changes))


_POSITIVE = {
    "db_pool_size",
    "max_body_bytes",
    "credential_cache_ttl_s",
    "session_access_ttl_s",
    "session_ttl_s",
    "retry_base_s",
    "retry_cap_s",
    "auto_pause_after_s",
    "idempotency_window_s",
    "handler_timeout_s",
    "dispatch_batch_size",
    "dispatch_concurrency",
    "handler_connections",
    "poll_interval_s",
    "node_ttl_s",
    "heartbeat_interval_s",
    "prune_interval_s",
    "prune_batch_size",
}


def _convert(name: str, type_name: str, raw: Any) -> Any:
    try:
        if type_name == "bool":
            return _to_bool(raw)
        if type_name == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
        if type_name == "float":
            if isinstance(raw, bool):
                raise ValueError
            return float(raw)
        if raw is None:
            return None
        return str(raw)
    except (TypeError, ValueError):
        kind = {"int": "an integer", "float": "a number", "bool": "true or false"}.get(
            type_name, "a string"
        )
        raise ConfigError(
            f"setting {name} (ESPF_{name.upper()}) must be {kind}, got {raw!r}"
        ) from None


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _validated(settings: Settings) -> Settings:
    for name in _POSITIVE:
        if getattr(settings, name) <= 0:
            raise ConfigError(
                f"setting {name} (ESPF_{name.upper()}) must be greater than 0, "
                f"got {getattr(settings, name)!r}"
            )
    if not 0 < settings.port < 65536:
        raise ConfigError(f"setting port (ESPF_PORT) must be 1..65535, got {settings.port}")
    if settings.retry_factor < 1:
        raise ConfigError("setting retry_factor (ESPF_RETRY_FACTOR) must be at least 1")
    if settings.heartbeat_interval_s >= settings.node_ttl_s:
        raise ConfigError(
            "setting heartbeat_interval_s must be shorter than node_ttl_s, or live "
            "dispatchers would be taken for dead"
        )
    if settings.retry_max_attempts < 0 or settings.retry_max_age_s < 0:
        raise ConfigError("settings retry_max_attempts and retry_max_age_s cannot be negative")
    if not settings.retry_max_attempts and not settings.retry_max_age_s:
        raise ConfigError(
            "set retry_max_attempts or retry_max_age_s (or both): without a limit a "
            "delivery the Application never accepts would be retried forever"
        )
    if settings.retry_schedule:
        try:
            parse_schedule(settings.retry_schedule)
        except BadRequest as exc:
            raise ConfigError(f"setting retry_schedule (ESPF_RETRY_SCHEDULE): {exc}") from None
    if settings.session_check_ttl_s < 0:
        raise ConfigError("setting session_check_ttl_s cannot be negative (0: check every time)")
    if settings.log_format not in ("text", "json"):
        raise ConfigError("setting log_format (ESPF_LOG_FORMAT) must be text or json")
    if (settings.tls_cert is None) != (settings.tls_key is None):
        raise ConfigError("settings tls_cert and tls_key go together: give both or neither")
    for name in ("tls_cert", "tls_key"):
        path = getattr(settings, name)
        if path is not None and not Path(path).is_file():
            raise ConfigError(f"setting {name} (ESPF_{name.upper()}): {path} is not a file")
    try:
        parse_retention(settings.retention)
    except RetentionError as exc:
        raise ConfigError(f"setting retention (ESPF_RETENTION): {exc}") from None
    try:
        settings.retention_policy  # noqa: B018 - parsed to refuse a bad one at start
    except RetentionError as exc:
        raise ConfigError(f"setting retention_by_env (ESPF_RETENTION_BY_ENV): {exc}") from None
    if settings.log_level.lower() not in {"debug", "info", "warning", "error"}:
        raise ConfigError("setting log_level must be one of debug, info, warning, error")
    return settings


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the TOML file (``ESPF_CONFIG``), the environment and
    explicit overrides (command-line options), in increasing precedence."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    config_path = env.get("ESPF_CONFIG")
    known = {f.name: f for f in fields(Settings)}
    if config_path:
        try:
            data = tomllib.loads(Path(config_path).read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read ESPF_CONFIG file {config_path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"ESPF_CONFIG file {config_path} is not valid TOML: {exc}") from None
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting(s) in {config_path}: {', '.join(unknown)}")
        values.update(data)
    for name in known:
        env_value = env.get(f"ESPF_{name.upper()}")
        if env_value is not None and env_value != "":
            values[name] = env_value
    values.update({k: v for k, v in overrides.items() if v is not None})
    converted = {}
    for name, raw in values.items():
        type_name = str(known[name].type).split("|")[0].strip()
        converted[name] = _convert(name, type_name, raw)
    return _validated(Settings(**converted))


SECRET_SETTINGS = frozenset({"admin_password"})


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings, with every secret (passwords, the password in
    the database URL) replaced by a mask, for `espf config show`."""
    shown: dict[str, Any] = {}
    for f in fields(Settings):
        value = getattr(settings, f.name)
        if f.name in SECRET_SETTINGS and value:
            value = "********"
        elif f.name == "database_url":
            value = mask_url_password(value)
        shown[f.name] = value
    return shown


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":********@", 1)
    return urlunsplit(parts._replace(netloc=netloc))

"""Typed results of the API's methods: frozen dataclasses whose fields are
the answer's fields, times as timezone-aware UTC datetimes.

Fields the server adds in a later release are ignored, so an older client
keeps working against a newer server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """An event in the queue."""

    i_event: int
    i_env: int
    event_type: str
    variables: dict[str, Any]
    start_time: datetime
    created: datetime
    state: str
    created_by: int | None = None
    # Created with a time_zone: the local start time asked for, and the zone.
    local_start_time: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One HTTP request of a delivery."""

    attempt: int
    started: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one handler."""

    i_delivery: int
    i_event: int
    handler: str
    state: str
    attempts: int
    next_attempt: datetime | None = None
    finished: datetime | None = None
    last_status_code: int | None = None
    last_error: str | None = None
    order_key: str | None = None
    waiting: str | None = None
    attempt_log: tuple[Attempt, ...] = ()


@dataclass(frozen=True, slots=True)
class Transition:
    """One recorded state change; ``i_delivery`` None: a change of the event itself."""

    at: datetime
    i_delivery: int | None
    state: str
    reason: str


@dataclass(frozen=True, slots=True)
class EventDetail:
    """An event with its deliveries, their attempts and its history."""

    i_event: int
    i_env: int
    event_type: str
    variables: dict[str, Any]
    start_time: datetime
    created: datetime
    state: str
    created_by: int | None = None
    deliveries: tuple[Delivery, ...] = ()
    history: tuple[Transition, ...] = ()
    local_start_time: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class EventPage:
    """One page of ``event_list``; pass ``next_cursor`` back as ``cursor``."""

    events: tuple[Event, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AccountExpunged:
    """``account_expunge``: what was deleted; ``i_expunge`` names the record
    of the deletion, which is kept."""

    i_expunge: int
    events: int
    deliveries: int
    attempts: int
    transitions: int
    status_reports: int


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """``event_replay``: with ``dry_run`` only ``matched`` is set, else ``replayed``."""

    dry_run: bool
    matched: int | None = None
    replayed: int | None = None


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """A handler's own retry policy; None fields follow the service default.
    Sent with handler_create/update: ``RetrySettings()`` puts the default back."""

    schedule: str | None = None
    base: float | None = None
    factor: float | None = None
    cap: float | None = None
    max_attempts: int | None = None
    max_age: float | None = None


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """TLS towards the Application; files are paths on the espf server. In
    answers ``client_key`` is masked."""

    verify: bool | None = None
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None


@dataclass(frozen=True, slots=True)
class Handler:
    """A handler's settings and state; secrets are masked (``"********"``)."""

    name: str
    i_env: int
    type: str
    enabled: bool
    paused: bool
    url: str
    auth: str
    auth_header: str
    timeout: float
    ordered: bool
    paused_since: datetime | None = None
    paused_reason: str | None = None
    failing_since: datetime | None = None
    login: str | None = None
    password: str | None = None
    auth_scheme: str | None = None
    auth_token: str | None = None
    signing_secrets: tuple[str, ...] = ()
    auto_pause_after: float | None = None
    order_key: str | None = None
    max_in_flight: int | None = None
    max_rate: float | None = None
    rate_burst: int | None = None
    retry: RetrySettings = field(default_factory=RetrySettings)
    tls: TlsSettings = field(default_factory=TlsSettings)
    breaker_after: int = 0
    failures_in_row: int = 0
    # Requests per second sent at most now: max_rate, lowered by adaptive back-off.
    effective_rate: float | None = None
    circuit: HandlerCircuit = field(default_factory=lambda: HandlerCircuit())


@dataclass(frozen=True, slots=True)
class HandlerCircuit:
    """Open: only one probe at a time is sent to the handler until one succeeds."""

    open: bool = False
    opened_at: datetime | None = None
    next_probe_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class HandlerDeleted:
    name: str
    deleted: bool
    history_name: str


@dataclass(frozen=True, slots=True)
class Subscriptions:
    handler: str
    event_types: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """``handler_subscribe``/``handler_unsubscribe``: the state afterwards."""

    handler: str
    event_type: str
    subscribed: bool


@dataclass(frozen=True, slots=True)
class SubscribedAll:
    handler: str
    added: int


@dataclass(frozen=True, slots=True)
class BlockingDelivery:
    i_delivery: int
    i_event: int
    state: str
    attempts: int
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class BlockedKey:
    """An ordered handler's key whose later deliveries wait behind ``blocked_by``."""

    handler: str
    order_key: str
    blocked_by: BlockingDelivery
    waiting: int


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """One-off (``start``, ``end``) or recurring (``rule`` in ``time_zone``,
    open ``duration`` seconds)."""

    id: int
    start: datetime | None = None
    end: datetime | None = None
    rule: str | None = None
    time_zone: str | None = None
    duration: int | None = None


@dataclass(frozen=True, slots=True)
class WindowSpan:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Maintenance:
    """A handler's windows; ``next`` is the one open now or the next to open."""

    handler: str
    in_maintenance: bool
    reason: str | None = None
    next: WindowSpan | None = None
    windows: tuple[MaintenanceWindow, ...] = ()


@dataclass(frozen=True, slots=True)
class EventType:
    i_event_type: int
    name: str
    builtin: bool


@dataclass(frozen=True, slots=True)
class EventTypeDeleted:
    i_event_type: int
    name: str
    builtin: bool
    deleted: bool


@dataclass(frozen=True, slots=True)
class User:
    """An API user; its password is never shown."""

    i_user: int
    i_env: int
    login: str
    role: str
    # True: the password is below the length rule, allowed explicitly.
    weak_password: bool = False


@dataclass(frozen=True, slots=True)
class UserDeleted:
    login: str
    deleted: bool


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token of a user, usable instead of its password for
    ``/rest/Session/login``; the secret itself is shown only once, when made."""

    i_api_token: int
    login: str
    name: str
    created: datetime
    last_used: datetime | None = None


@dataclass(frozen=True, slots=True)
class ApiTokenCreated:
    """A new API token with its secret (``token``), which is never shown again."""

    i_api_token: int
    login: str
    name: str
    created: datetime
    token: str


@dataclass(frozen=True, slots=True)
class ApiTokenRevoked:
    i_api_token: int
    revoked: bool


@dataclass(frozen=True, slots=True)
class AccountStatusChange:
    """One report of an account's status in one service group."""

    i_status_change: int
    group: str
    status: str
    message: str
    time: datetime
    reported_by: int | None = None


@dataclass(frozen=True, slots=True)
class AccountStatusReported:
    """The answer to a report: the account (by ``i_account`` or by ``id``)
    and the change recorded."""

    i_status_change: int
    group: str
    status: str
    message: str
    time: datetime
    reported_by: int | None = None
    i_account: int | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """An account's current status per group, and its history newest first."""

    groups: tuple[AccountStatusChange, ...]
    history: tuple[AccountStatusChange, ...]
    next_cursor: str | None
    i_account: int | None = None
    id: str | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A recurring schedule that makes events (docs/calendar.md)."""

    i_schedule: int
    i_env: int
    key: str
    event_type: str
    variables: dict[str, Any]
    rule: str
    time_zone: str
    catch_up: str
    paused: bool
    created: datetime
    updated: datetime
    start_time: str | None = None  # local time in time_zone
    end_time: str | None = None
    catch_up_window_s: int | None = None
    next_time: datetime | None = None
    next_local_time: str | None = None  # with its offset
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class SchedulePage:
    """One page of ``schedule_list``; pass ``next_after`` back as ``after``."""

    schedules: tuple[Schedule, ...]
    next_after: int | None


@dataclass(frozen=True, slots=True)
class Occurrence:
    """One occurrence of ``schedule_preview``."""

    time: datetime
    local_time: str  # 'YYYY-MM-DD HH:MM:SS+HH:MM'
    moved: bool  # a spring-forward gap moved it

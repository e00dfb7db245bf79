"""The nouns of espf, as plain dataclasses the store returns and everyone reads.

Instants are epoch milliseconds (UTC), see ``clock.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EventState(StrEnum):
    """An event's state follows its deliveries once it is due."""

    SCHEDULED = "scheduled"  # waiting for its start_time
    PENDING = "pending"  # due; some delivery waits for its next attempt
    IN_FLIGHT = "in_flight"  # some delivery's request is under way
    DELIVERED = "delivered"  # every delivery done, at least one accepted, none failed
    REJECTED = "rejected"  # an Application answered 4xx
    FAILED = "failed"  # some delivery ran out of attempts
    CANCELLED = "cancelled"  # an operator cancelled it before it was sent
    SUPERSEDED = "superseded"  # a newer event of its "latest only" type replaced it
    UNROUTED = "unrouted"  # due, but no enabled handler was subscribed to its type


class DeliveryState(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    IN_FLIGHT = "in_flight"  # claimed by a dispatcher node, request under way
    HELD = "held"  # its handler is paused or disabled; goes out when it resumes
    WAITING = "waiting"  # ordered handler: queued behind an earlier event of its key
    DELIVERED = "delivered"  # the Application answered 2xx
    REJECTED = "rejected"  # the Application answered 4xx: never resent
    FAILED = "failed"  # attempts exhausted
    CANCELLED = "cancelled"  # an operator cancelled it
    SUPERSEDED = "superseded"  # a newer event of a "latest only" type replaced it

    @property
    def is_final(self) -> bool:
        return self in _FINAL_DELIVERY_STATES


_FINAL_DELIVERY_STATES = {
    DeliveryState.DELIVERED,
    DeliveryState.REJECTED,
    DeliveryState.FAILED,
    DeliveryState.CANCELLED,
    DeliveryState.SUPERSEDED,
}


class AuthMethod(StrEnum):
    BASIC = "basic"
    CUSTOM = "custom"
    SIGNATURE = "signature"  # Standard Webhooks HMAC-SHA256
    NONE = "none"


class Role(StrEnum):
    ADMIN = "admin"
    PRODUCER = "producer"


@dataclass(frozen=True, slots=True)
class Environment:
    i_env: int
    name: str


@dataclass(frozen=True, slots=True)
class ApiUser:
    i_user: int
    i_env: int
    login: str
    password_hash: str
    role: Role
    # The password was set below the length rule, allowed explicitly.
    weak_password: bool = False


@dataclass(frozen=True, slots=True)
class EventType:
    i_event_type: int
    name: str
    builtin: bool


@dataclass(frozen=True, slots=True)
class Handler:
    i_handler: int
    i_env: int
    name: str
    kind: str
    enabled: bool
    url: str
    auth_method: AuthMethod
    login: str | None
    password: str | None
    auth_scheme: str | None
    auth_token: str | None
    auth_header: str
    timeout_s: float
    paused: bool = False
    paused_at: int | None = None
    paused_reason: str | None = None
    failing_since: int | None = None
    auto_pause_after_s: float | None = None
    retry: RetryOverrides = field(default_factory=lambda: RetryOverrides())
    ordered: bool = False
    order_key: str | None = None
    signing_secrets: tuple[str, ...] = ()
    tls: TlsSettings = field(default_factory=lambda: TlsSettings())
    # Delivery limits (rate_limits.py); None or 0: no limit.
    max_in_flight: int | None = None
    max_rate: float | None = None
    rate_burst: int | None = None
    # Circuit breaker (circuit_breaker.py): the failures in a row that open it
    # (None: the default, 0: never), and the current run of failures.
    breaker_after: int | None = None
    failures_in_row: int = 0


@dataclass(frozen=True, slots=True)
class RetryOverrides:
    """A handler's own retry policy; None everywhere means the service default."""

    max_attempts: int | None = None
    max_age_s: float | None = None
    schedule: str | None = None
    base_s: float | None = None
    factor: float | None = None
    cap_s: float | None = None


@dataclass(frozen=True, slots=True)
class TlsSettings:
    # None means the default: verify. Only an explicit False turns it off.
    verify: bool | None = field(default=None, metadata={"stored_default": True})
    ca_file: str | None = None
    client_cert: str | None = None
    client_key: str | None = None


@dataclass(frozen=True, slots=True)
class HandlerSettings:
    """Everything an administrator sets on a handler; ``None`` means 'leave as is'.

    The store keeps one column per field (store/handler_columns.py); a
    ``stored_default`` in a field's metadata is what is stored when it is unset."""

    url: str | None = None
    auth_method: AuthMethod | None = None
    login: str | None = None
    password: str | None = None
    auth_scheme: str | None = None
    auth_token: str | None = None
    auth_header: str | None = field(default=None, metadata={"stored_default": "Authorization"})
    timeout_s: float | None = None
    enabled: bool | None = None
    auto_pause_after_s: float | None = None
    retry: RetryOverrides | None = None
    ordered: bool | None = None
    order_key: str | None = None
    signing_secrets: tuple[str, ...] | None = None
    tls: TlsSettings | None = None
    # 0 removes a limit (None leaves it as is).
    max_in_flight: int | None = None
    max_rate: float | None = None
    rate_burst: int | None = None
    # 0 turns the circuit breaker off.
    breaker_after: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    i_event: int
    i_env: int
    event_type: str
    variables: dict[str, Any]
    start_at: int
    created_at: int
    state: EventState
    # The API user who created it; None for the CLI and espf's own events.
    created_by: int | None = None
    # Created with a time_zone: the local start time asked for, naive
    # ('YYYY-MM-DD HH:MM:SS[.mmm]'), and the zone; None for a UTC start_time.
    local_start: str | None = None
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class NewEvent:
    i_env: int
    i_event_type: int
    variables_json: str
    start_at: int
    # "latest only" types: '<type id>:<variable>=<value>', see coalescing.py
    coalesce_key: str | None = None
    idempotency: Idempotency | None = None
    created_by: int | None = None  # the API user, see Event.created_by
    local_start: str | None = None  # see Event.local_start
    time_zone: str | None = None


@dataclass(frozen=True, slots=True)
class Idempotency:
    key: str
    request_hash: str
    not_before: int  # a key older than this has expired


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change of an event (``i_delivery`` None) or of a delivery."""

    i_event: int
    i_delivery: int | None
    state: str
    at: int
    reason: str


@dataclass(frozen=True, slots=True)
class Attempt:
    i_attempt: int
    i_delivery: int
    attempt_no: int
    started_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str


@dataclass(frozen=True, slots=True)
class Delivery:
    i_delivery: int
    i_event: int
    i_handler: int
    handler_name: str
    state: DeliveryState
    attempts: int
    next_at: int | None
    finished_at: int | None
    last_status: int | None
    last_error: str | None
    attempt_log: list[Attempt] = field(default_factory=list)
    order_key: str | None = None
    created_at: int | None = None  # when its event became due and it was made
    # Why a pending delivery is not sent now, e.g. "maintenance until 03:00
    # Europe/Prague"; worked out when read (service/maintenance.py).
    waiting: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a dispatcher node now holds, with all it needs to send it."""

    i_delivery: int
    i_event: int
    i_env: int
    event_type: str
    variables_json: str
    attempts: int  # attempts made before this one
    handler: Handler
    # The current retry budget started at this attempt count and instant.
    budget_from_attempt: int = 0
    budget_from_at: int = 0
    # Not before this instant (ms): its slot in the handler's rate limit.
    send_at: int = 0
    # Claimed at an effective rate lowered by adaptive back-off: its good
    # answer counts towards raising the rate again.
    backing_off: bool = False


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one HTTP attempt led to, ready for the store to record."""

    i_delivery: int
    attempt_no: int
    started_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    new_state: DeliveryState  # PENDING (retry later), DELIVERED, REJECTED or FAILED
    next_at: int | None  # when PENDING
    i_event: int = 0
    i_handler: int = 0
    reason: str = ""  # for the transition log, e.g. "HTTP 503; next attempt in 30 s"
    # 429, 503 or no answer in time: the handler asks for less (adaptive back-off).
    overloaded: bool = False
    # The outcome counts for the handler's effective rate: it has a max_rate,
    # and the answer asked for less or the rate is lowered (adaptive_rate.py).
    rate_limited: bool = False


@dataclass(frozen=True, slots=True)
class EventFilter:
    i_env: int | None = None
    event_type: str | None = None
    state: EventState | None = None
    limit: int = 100
    before_i_event: int | None = None
    variable: tuple[str, str] | None = None  # (name, value as text), e.g. ("i_account", "541")
    created_from: int | None = None
    created_to: int | None = None
    # Only the events this API user created (a producer's view).
    created_by: int | None = None


@dataclass(frozen=True, slots=True)
class ReplayFilter:
    """Which deliveries an operator replays; every field narrows the match."""

    i_env: int
    handler: str | None = None
    event_type: str | None = None
    variable: tuple[str, str] | None = None
    states: tuple[DeliveryState, ...] = ()
    created_from: int | None = None
    created_to: int | None = None


@dataclass(frozen=True, slots=True)
class BlockedKey:
    """An ordered handler's key whose later deliveries wait behind ``head``."""

    i_handler: int
    handler_name: str
    order_key: str
    head_i_delivery: int
    head_i_event: int
    head_state: DeliveryState
    head_attempts: int
    head_last_error: str | None
    waiting: int


@dataclass(frozen=True, slots=True)
class HandlerFlow:
    """How much espf sends a handler now: its effective rate under adaptive
    back-off (adaptive_rate.py) and its circuit (circuit_breaker.py)."""

    i_handler: int
    name: str
    max_rate: float | None
    effective_rate: float | None  # what the claim uses now; None without max_rate
    failures_in_row: int
    circuit_opened_at: int | None  # None: the circuit is closed
    probe_at: int | None  # while open: when the next probe may go

    @property
    def circuit_open(self) -> bool:
        return self.circuit_opened_at is not None


@dataclass(frozen=True, slots=True)
class HandlerHealth:
    """A handler whose latest attempts failed, and since when: the dispatcher
    pauses it once that lasts longer than its auto-pause limit."""

    i_handler: int
    i_env: int
    name: str
    failing_since: int
    auto_pause_after_s: float | None
    paused: bool
    enabled: bool
    failures_in_row: int = 0
    # True: these outcomes opened the handler's circuit; False: they closed it.
    circuit_opened: bool | None = None


@dataclass(frozen=True, slots=True)
class EventTypeUsage:
    """What keeps an event type from being deleted. Other environments are
    counted, never named: a user sees nothing of another environment."""

    subscribers_here: list[str]  # handler names in the asking environment
    events_here: int
    subscriptions_elsewhere: int
    events_elsewhere: int

    @property
    def in_use(self) -> bool:
        return bool(
            self.subscribers_here
            or self.events_here
            or self.subscriptions_elsewhere
            or self.events_elsewhere
        )


class ProvisioningStatus(StrEnum):
    """What the Application reports about an account in one service group."""

    OK = "OK"
    IN_PROGRESS = "IN_PROGRESS"
    RETRY = "RETRY"
    FAILED = "FAILED"


class AccountKind(StrEnum):
    I_ACCOUNT = "i_account"  # /account/i/<i_account>/status
    ID = "id"  # /account/<id>/status


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An account as the Application names it. espf keeps no directory of
    accounts, so ``i_account`` 541 and id ``"541"`` are two different keys."""

    kind: AccountKind
    key: str  # the i_account in decimal, or the id


@dataclass(frozen=True, slots=True)
class AccountStatusChange:
    """One report: the status of an account in one service group."""

    i_status_change: int
    group: str
    status: ProvisioningStatus
    message: str
    reported_at: int
    reported_by: int | None  # the API user who reported it

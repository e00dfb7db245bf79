"""The JSON shape of domain objects in API answers. Secrets never leave: a
handler's password, token and signing secrets are shown masked."""

from __future__ import annotations

from typing import Any

from espf.circuit_breaker import breaker_threshold
from espf.clock import format_ms
from espf.config import mask_url_password
from espf.domain import (
    AccountKind,
    AccountRef,
    AccountStatusChange,
    ApiUser,
    Attempt,
    BlockedKey,
    Delivery,
    Event,
    EventType,
    Handler,
    HandlerFlow,
    Transition,
)
from espf.rate_limits import burst_of
from espf.service import EventDetail

MASK = "********"


def _time(ms: int | None) -> str | None:
    return format_ms(ms) if ms is not None else None


def event_json(event: Event) -> dict[str, Any]:
    return {
        "i_event": event.i_event,
        "i_env": event.i_env,
        "event_type": event.event_type,
        "variables": event.variables,
        "start_time": _time(event.start_at),
        "created": _time(event.created_at),
        "state": event.state.value,
        "created_by": event.created_by,
        "local_start_time": event.local_start,
        "time_zone": event.time_zone,
    }


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    return {
        "attempt": attempt.attempt_no,
        "started": _time(attempt.started_at),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "outcome": attempt.outcome,
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    return {
        "i_delivery": delivery.i_delivery,
        "i_event": delivery.i_event,
        "handler": delivery.handler_name,
        "state": delivery.state.value,
        "attempts": delivery.attempts,
        "next_attempt": None if delivery.state.is_final else _time(delivery.next_at),
        "finished": _time(delivery.finished_at),
        "last_status_code": delivery.last_status,
        "last_error": delivery.last_error,
        "order_key": delivery.order_key,
        "waiting": delivery.waiting,
        "attempt_log": [attempt_json(a) for a in delivery.attempt_log],
    }


def transition_json(transition: Transition) -> dict[str, Any]:
    return {
        "at": _time(transition.at),
        "i_delivery": transition.i_delivery,
        "state": transition.state,
        "reason": transition.reason,
    }


def event_detail_json(detail: EventDetail) -> dict[str, Any]:
    return {
        **event_json(detail.event),
        "deliveries": [delivery_json(d) for d in detail.deliveries],
        "history": [transition_json(t) for t in detail.transitions],
    }


def flow_json(handler: Handler, flow: HandlerFlow | None) -> dict[str, Any]:
    """The handler's effective rate and circuit, as handler_json shows them."""
    opened_at = flow.circuit_opened_at if flow else None
    return {
        "breaker_after": breaker_threshold(handler.breaker_after) or 0,
        "failures_in_row": handler.failures_in_row,
        "effective_rate": flow.effective_rate if flow else (handler.max_rate or None),
        "circuit": {
            "open": opened_at is not None,
            "opened_at": _time(opened_at),
            "next_probe_at": _time(flow.probe_at if flow and opened_at is not None else None),
        },
    }


def handler_json(handler: Handler, flow: HandlerFlow | None = None) -> dict[str, Any]:
    retry = handler.retry
    tls = handler.tls
    shown: dict[str, Any] = {
        "name": handler.name,
        "i_env": handler.i_env,
        "type": handler.kind,
        "enabled": handler.enabled,
        "paused": handler.paused,
        "paused_since": _time(handler.paused_at),
        "paused_reason": handler.paused_reason,
        "failing_since": _time(handler.failing_since),
        # A password written into the URL (https://user:pass@host) is a secret too.
        "url": mask_url_password(handler.url),
        "auth": handler.auth_method.value,
        "login": handler.login,
        "password": MASK if handler.password else None,
        "auth_scheme": handler.auth_scheme,
        "auth_token": MASK if handler.auth_token else None,
        "auth_header": handler.auth_header,
        "signing_secrets": [MASK for _ in handler.signing_secrets],
        "timeout": handler.timeout_s,
        "auto_pause_after": handler.auto_pause_after_s,
        "max_in_flight": handler.max_in_flight or None,
        "max_rate": handler.max_rate or None,
        "rate_burst": burst_of(handler.max_rate, handler.rate_burst) if handler.max_rate else None,
        "ordered": handler.ordered,
        "order_key": handler.order_key,
        "retry": {
            "schedule": retry.schedule,
            "base": retry.base_s,
            "factor": retry.factor,
            "cap": retry.cap_s,
            "max_attempts": retry.max_attempts,
            "max_age": retry.max_age_s,
        },
        "tls": {
            "verify": tls.verify is not False,
            "ca_file": tls.ca_file,
            "client_cert": tls.client_cert,
            "client_key": MASK if tls.client_key else None,
        },
    }
    return shown | flow_json(handler, flow)


def blocked_key_json(key: BlockedKey) -> dict[str, Any]:
    return {
        "handler": key.handler_name,
        "order_key": key.order_key,
        "blocked_by": {
            "i_delivery": key.head_i_delivery,
            "i_event": key.head_i_event,
            "state": key.head_state.value,
            "attempts": key.head_attempts,
            "last_error": key.head_last_error,
        },
        "waiting": key.waiting,
    }


def event_type_json(event_type: EventType) -> dict[str, Any]:
    return {
        "i_event_type": event_type.i_event_type,
        "name": event_type.name,
        "builtin": event_type.builtin,
    }


def user_json(user: ApiUser) -> dict[str, Any]:
    """Never the password hash."""
    return {
        "i_user": user.i_user,
        "i_env": user.i_env,
        "login": user.login,
        "role": user.role.value,
        # True: the password is below the length rule, allowed explicitly.
        "weak_password": user.weak_password,
    }


def account_json(account: AccountRef) -> dict[str, Any]:
    if account.kind is AccountKind.I_ACCOUNT:
        return {"i_account": int(account.key)}
    return {"id": account.key}


def account_status_change_json(change: AccountStatusChange) -> dict[str, Any]:
    return {
        "i_status_change": change.i_status_change,
        "group": change.group,
        "status": change.status.value,
        "message": change.message,
        "time": _time(change.reported_at),
        "reported_by": change.reported_by,
    }

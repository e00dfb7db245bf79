"""Query parameters built from domain objects, shared by both backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from espf.domain import AttemptOutcome, DeliveryState, Handler, HandlerSettings


def settings_of(handler: Handler) -> HandlerSettings:
    return HandlerSettings(
        url=handler.url,
        auth_method=handler.auth_method,
        login=handler.login,
        password=handler.password,
        auth_scheme=handler.auth_scheme,
        auth_token=handler.auth_token,
        auth_header=handler.auth_header,
        timeout_s=handler.timeout_s,
        enabled=handler.enabled,
    )


def handler_params(settings: HandlerSettings) -> dict[str, Any]:
    assert settings.auth_method is not None and settings.url is not None
    return {
        "url": settings.url,
        "auth_method": settings.auth_method.value,
        "login": settings.login,
        "password": settings.password,
        "auth_scheme": settings.auth_scheme,
        "auth_token": settings.auth_token,
        "auth_header": settings.auth_header or "Authorization",
        "timeout_s": settings.timeout_s,
        "enabled": bool(settings.enabled),
    }


def outcome_params(
    node_id: str, outcomes: Sequence[AttemptOutcome]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    updates, attempts = [], []
    for o in outcomes:
        final = o.new_state is not DeliveryState.PENDING
        updates.append(
            {
                "i_delivery": o.i_delivery,
                "node_id": node_id,
                "state": o.new_state.value,
                "attempt_no": o.attempt_no,
                "next_at": None if final else o.next_at,
                "status_code": o.status_code,
                "error": o.error,
                "finished_at": o.started_at + o.duration_ms if final else None,
            }
        )
        attempts.append(
            {
                "i_delivery": o.i_delivery,
                "attempt_no": o.attempt_no,
                "started_at": o.started_at,
                "duration_ms": o.duration_ms,
                "status_code": o.status_code,
                "error": o.error,
                "outcome": _attempt_outcome(o),
            }
        )
    return updates, attempts


def _attempt_outcome(o: AttemptOutcome) -> str:
    if o.new_state is DeliveryState.PENDING:
        return "retry"
    return o.new_state.value


INTERRUPTED_ERROR = "dispatcher stopped before the answer was recorded; sent again"


def interrupted_attempts(rescued: list[Any], now: int) -> list[dict[str, Any]]:
    return [
        {
            "i_delivery": i_delivery,
            "attempt_no": attempts,
            "started_at": claimed_at or now,
            "duration_ms": max(now - (claimed_at or now), 0),
            "status_code": None,
            "error": INTERRUPTED_ERROR,
            "outcome": "interrupted",
        }
        for i_delivery, attempts, claimed_at in rescued
    ]

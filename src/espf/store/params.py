"""Query parameters built from domain objects, shared by both backends."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from espf.delivery_reasons import INTERRUPTED_ERROR
from espf.domain import (
    AccountRef,
    AttemptOutcome,
    DeliveryState,
    EventFilter,
    Idempotency,
    NewEvent,
    ReplayFilter,
)
from espf.errors import Conflict


def outcome_params(
    node_id: str, outcomes: Sequence[AttemptOutcome]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Parameters for the delivery updates and the attempt log."""
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


def outcome_reasons(outcomes: Sequence[AttemptOutcome]) -> dict[int, tuple[str, int]]:
    """For the transition log: why each delivery changed state, and when."""
    return {
        o.i_delivery: (o.reason or _attempt_outcome(o), o.started_at + o.duration_ms)
        for o in outcomes
    }


def _attempt_outcome(o: AttemptOutcome) -> str:
    if o.new_state is DeliveryState.PENDING:
        return "retry"
    return o.new_state.value


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
        for i_delivery, attempts, claimed_at, _ in rescued
    ]


def interrupted_transitions(rescued: list[Any], now: int) -> list[dict[str, Any]]:
    return [
        transition_row(i_event, i_delivery, "pending", now, INTERRUPTED_ERROR)
        for i_delivery, _, _, i_event in rescued
    ]


def transition_row(
    i_event: int, i_delivery: int | None, state: str, at: int, reason: str
) -> dict[str, Any]:
    return {
        "i_event": i_event,
        "i_delivery": i_delivery,
        "state": state,
        "at": at,
        "reason": reason,
    }


def new_event_params(event: NewEvent, now: int) -> dict[str, Any]:
    return {
        "i_env": event.i_env,
        "i_event_type": event.i_event_type,
        "variables": event.variables_json,
        "start_at": event.start_at,
        "coalesce_key": event.coalesce_key,
        "created_by": event.created_by,
        "local_start": event.local_start,
        "time_zone": event.time_zone,
        "now": now,
    }


def idempotency_key_params(event: NewEvent, i_event: int, now: int) -> dict[str, Any]:
    """The key of an idempotent create, pointing at the event it made."""
    assert event.idempotency is not None
    return {
        "i_env": event.i_env,
        "key": event.idempotency.key,
        "request_hash": event.idempotency.request_hash,
        "i_event": i_event,
        "now": now,
    }


def idempotent_repeat(idem: Idempotency, stored_hash: str, i_event: int) -> int:
    """The first answer for a repeated key; a different body under the same key is a conflict."""
    if stored_hash != idem.request_hash:
        raise Conflict(
            f"Idempotency-Key {idem.key!r} was already used for a different request "
            f"(event {i_event}); use a new key for a new event",
            code="idempotency_key_reused",
        )
    return i_event


def event_filter_params(event_filter: EventFilter) -> dict[str, Any]:
    name, value = event_filter.variable or (None, None)
    return {
        "i_env": event_filter.i_env,
        "event_type": event_filter.event_type,
        "state": event_filter.state.value if event_filter.state else None,
        "before": event_filter.before_i_event,
        "limit": event_filter.limit,
        "var_name": name,
        "var_value": value,
        "created_from": event_filter.created_from,
        "created_to": event_filter.created_to,
        "created_by": event_filter.created_by,
    }


def account_status_params(i_env: int, account: AccountRef, group: str | None) -> dict[str, Any]:
    return {
        "i_env": i_env,
        "account_kind": account.kind.value,
        "account": account.key,
        "service_group": group,
    }


def replay_params(replay: ReplayFilter) -> dict[str, Any]:
    states = replay.states or (
        DeliveryState.DELIVERED,
        DeliveryState.REJECTED,
        DeliveryState.FAILED,
        DeliveryState.CANCELLED,
        DeliveryState.SUPERSEDED,
    )
    name, value = replay.variable or (None, None)
    return {
        "i_env": replay.i_env,
        "handler": replay.handler,
        "event_type": replay.event_type,
        "states": orjson.dumps([state.value for state in states]).decode(),
        "var_name": name,
        "var_value": value,
        "created_from": replay.created_from,
        "created_to": replay.created_to,
    }

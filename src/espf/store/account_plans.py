"""An account's history, exported or expunged, as plans (plan.py) written
once for both backends. Export reads in one snapshot; expunge deletes in one
transaction, refusing while a delivery of the account is in flight."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from espf.account_history import AccountExpunged, AccountHistory
from espf.domain import AccountRef
from espf.store.plan import Plan, row, rows, run

_EVENT = [
    "i_event",
    "i_env",
    "event_type",
    "variables",
    "start_at",
    "created_at",
    "state",
    "dispatched_at",
]
_DELIVERY = [
    "i_delivery",
    "i_event",
    "i_handler",
    "state",
    "attempts",
    "next_at",
    "finished_at",
    "last_status",
    "last_error",
    "created_at",
]
_ATTEMPT = [
    "i_attempt",
    "i_delivery",
    "attempt_no",
    "started_at",
    "duration_ms",
    "status_code",
    "error",
    "outcome",
]
_TRANSITION = ("i_transition", "i_event", "i_delivery", "state", "at", "reason")
_STATUS = ("i_status_change", "group", "status", "message", "reported_at", "reported_by")


class DeliveryInFlight(Exception):
    """A delivery of the account is being sent: expunge must wait."""

    def __init__(self, i_deliveries: list[int]) -> None:
        super().__init__(i_deliveries)
        self.i_deliveries = i_deliveries


def _records(
    kind: str, names: Sequence[str], found: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    return [{"record": kind, **dict(zip(names, r, strict=True))} for r in found]


def _account_params(i_env: int, account: AccountRef) -> dict[str, Any]:
    return {"i_env": i_env, "kind": account.kind.value, "account": account.key}


def export_account(i_env: int, account: AccountRef) -> Plan[AccountHistory]:
    found = yield rows("account_event_ids", {"i_env": i_env, "account": account.key})
    ids = {"ids": [int(r[0]) for r in found]}
    events = _records("event", _EVENT, (yield rows("account_export_events", ids)))
    for event in events:
        event["variables"] = orjson.loads(event["variables"])
    deliveries = _records("delivery", _DELIVERY, (yield rows("account_export_deliveries", ids)))
    attempts = _records("attempt", _ATTEMPT, (yield rows("account_export_attempts", ids)))
    transitions = _records(
        "transition", _TRANSITION, (yield rows("account_export_transitions", ids))
    )
    statuses = _records(
        "status", _STATUS, (yield rows("account_export_statuses", _account_params(i_env, account)))
    )
    for status in statuses:
        status["account"] = {account.kind.value: account.key}
    return AccountHistory(events + deliveries + attempts + transitions + statuses)


def expunge_account(
    i_env: int, account: AccountRef, now: int, by: int | None
) -> Plan[AccountExpunged]:
    found = yield rows("account_event_ids", {"i_env": i_env, "account": account.key})
    ids = {"ids": [int(r[0]) for r in found]}
    deliveries = yield rows("account_deliveries_lock", ids)
    in_flight = [int(r[0]) for r in deliveries if r[1] == "in_flight"]
    if in_flight:
        raise DeliveryInFlight(in_flight)
    transitions: int = yield run("prune_transitions", ids)
    attempts: int = yield run("prune_attempts", ids)
    removed_deliveries: int = yield run("prune_deliveries", ids)
    events: int = yield run("prune_events", ids)
    params = _account_params(i_env, account)
    yield run("account_statuses_delete", params)
    reports: int = yield run("account_status_history_delete", params)
    record = yield row(
        "account_expunge_record",
        {**params, "now": now, "events": events, "status_reports": reports, "by": by},
    )
    return AccountExpunged(
        int(record[0]), events, removed_deliveries, attempts, transitions, reports
    )

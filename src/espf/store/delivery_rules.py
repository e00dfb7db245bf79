"""The delivery rules, written once for every backend as plans (plan.py).

Fan-out of due events to their handlers' deliveries, "latest only"
supersession, ordering per key and the promotion of a key's next delivery,
outcome recording, handler health for automatic pause, reopening (replay),
pause and resume, cancel and reschedule, and the rescue of deliveries a dead
node held. Each function is one transaction's worth of statements; the
backend decides only how a statement runs (sqlite.py, postgres.py).

Ordering keys are locked (``lock`` steps) in one sorted order before a key's
queue is changed, so that two PostgreSQL transactions never wait for each
other in a circle; SQLite's single writer skips the locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from espf.delivery_reasons import (
    HELD_REASON,
    PROMOTED_REASON,
    SUPERSEDED_REASON,
    UNROUTED_REASON,
    WAITING_REASON,
)
from espf.domain import AttemptOutcome, ClaimedDelivery, Handler, HandlerHealth, NewEvent
from espf.store import rows as to
from espf.store.flow_plans import note_handler_health
from espf.store.limit_plans import claim_limited
from espf.store.params import (
    interrupted_attempts,
    interrupted_transitions,
    new_event_params,
    outcome_reasons,
    transition_row,
)
from espf.store.plan import Plan, lock, row, rows, run, run_many

Row = Sequence[Any]
Key = tuple[int, str | None]
# How a backend records a batch of outcomes: one statement per delivery
# (SQLite) or one for the batch (PostgreSQL). Yields the changed rows:
# (i_delivery, i_event, i_handler, order_key, state).
RecordRows = Callable[[str, list[dict[str, Any]]], Plan[list[Row]]]


def lock_keys(keys: Iterable[Key]) -> Plan[None]:
    for i_handler, order_key in sorted({(h, k) for h, k in keys if k is not None}):
        yield lock("ordering_key_lock", {"i_handler": i_handler, "order_key": order_key})


def refresh_events(event_ids: set[int]) -> Plan[None]:
    if event_ids:
        yield run("event_refresh_state", {"ids": sorted(event_ids)})


def promote_keys(finished: Iterable[Key], now: int) -> Plan[set[int]]:
    """After a key's head is finished, let the next waiting delivery of the key go."""
    keys = sorted({(h, k) for h, k in finished if k is not None})
    yield from lock_keys(keys)
    touched: set[int] = set()
    for i_handler, order_key in keys:
        promoted = yield row(
            "delivery_promote_next_of_key",
            {"i_handler": i_handler, "order_key": order_key, "now": now},
        )
        if promoted is not None:
            yield run(
                "transition_insert",
                transition_row(promoted[1], promoted[0], "pending", now, PROMOTED_REASON),
            )
            touched.add(promoted[1])
    return touched


def fan_out(event_ids: list[int], now: int) -> Plan[None]:
    """Deliveries for due events, then ordering and "latest only" rules."""
    ids = {"ids": event_ids, "now": now}
    created = yield rows("delivery_fan_out", ids)
    unrouted = {r[0] for r in (yield rows("event_mark_unrouted", ids))}
    transitions = [
        transition_row(i_event, None, "unrouted", now, UNROUTED_REASON) for i_event in unrouted
    ]
    # Becoming due is in the delivery row (created_at); only a delivery that
    # does not go out at once says why here.
    transitions += [
        transition_row(r[1], r[0], "held", now, HELD_REASON) for r in created if r[3] == "held"
    ]
    new_ids = {"ids": [r[0] for r in created], "now": now}
    ordered = [(r[2], r[5]) for r in created if r[5] is not None]
    if ordered:
        yield from lock_keys(ordered)
        for i_delivery, i_event in (yield rows("delivery_queue_behind_key", new_ids)):
            transitions.append(transition_row(i_event, i_delivery, "waiting", now, WAITING_REASON))
    # Events just taken are 'pending' already; only supersession changes more.
    touched: set[int] = set()
    if any(r[4] is not None for r in created):
        superseded = yield rows("delivery_supersede_older", new_ids)
        transitions += [
            transition_row(r[1], r[0], "superseded", now, SUPERSEDED_REASON) for r in superseded
        ]
        touched |= {r[1] for r in superseded}
        touched |= yield from promote_keys([(r[2], r[3]) for r in superseded if r[3]], now)
    yield run_many("transition_insert", transitions)
    yield from refresh_events(touched)


def dispatch_due(
    node_id: str, now: int, limit: int, with_limits: bool = True
) -> Plan[list[ClaimedDelivery]]:
    """Fan out the events that came due, then claim due deliveries for
    ``node_id``; ``with_limits`` False skips limited handlers (none has limits)."""
    due = yield rows("event_take_due", {"now": now, "limit": limit})
    if due:
        yield from fan_out([r[0] for r in due], now)
    # Limited handlers first: their share is bounded by their limits, and a
    # backlog of unlimited work must not starve them.
    send_at = (yield from claim_limited(node_id, now, limit)) if with_limits else {}
    ids = list(send_at)
    if len(ids) < limit:
        params = {"node_id": node_id, "now": now, "limit": limit - len(ids)}
        ids += [r[0] for r in (yield rows("delivery_claim_due", params))]
    if not ids:
        return []
    detail = yield rows("delivery_claimed_detail", {"ids": ids})
    deliveries = to.claimed_deliveries([tuple(r) for r in detail])
    if send_at:
        deliveries = [
            replace(d, send_at=send_at[d.i_delivery][0], backing_off=send_at[d.i_delivery][1])
            if d.i_delivery in send_at
            else d
            for d in deliveries
        ]
    yield run("event_mark_in_flight", {"ids": sorted({d.i_event for d in deliveries})})
    return deliveries


def record_outcomes(
    node_id: str,
    outcomes: Sequence[AttemptOutcome],
    updates: list[dict[str, Any]],
    attempts: list[dict[str, Any]],
    record_rows: RecordRows,
) -> Plan[list[HandlerHealth]]:
    reasons = outcome_reasons(outcomes)
    transitions: list[dict[str, Any]] = []
    finished: list[Key] = []
    touched: set[int] = set()
    # Deliveries another node took over meanwhile do not match and are left alone.
    for r in (yield from record_rows(node_id, updates)):
        touched.add(r[1])
        reason, at = reasons[r[0]]
        # r[4]: the state it got (a retry for a paused handler is held)
        transitions.append(transition_row(r[1], r[0], r[4], at, reason))
        if r[3] is not None and r[4] not in ("pending", "held"):
            finished.append((r[2], r[3]))
    yield run_many("attempt_insert", attempts)
    yield run_many("transition_insert", transitions)
    touched |= yield from promote_keys(finished, max(o.started_at for o in outcomes))
    yield from refresh_events(touched)
    return (yield from note_handler_health(outcomes))


def reopen(ids: list[int], now: int, reason: str) -> Plan[int]:
    """Replay: finished deliveries become pending again, behind their key."""
    reopened = yield rows("delivery_reopen", {"ids": ids, "now": now})
    if not reopened:
        return 0
    transitions = [transition_row(r[1], r[0], "pending", now, reason) for r in reopened]
    ordered = [(r[2], r[3]) for r in reopened if r[3] is not None]
    if ordered:
        yield from lock_keys(ordered)
        queued = yield rows("delivery_queue_behind_key", {"ids": [r[0] for r in reopened]})
        transitions += [transition_row(r[1], r[0], "waiting", now, WAITING_REASON) for r in queued]
    yield run_many("transition_insert", transitions)
    yield from refresh_events({r[1] for r in reopened})
    return len(reopened)


def set_paused(
    handler: Handler, paused: bool, reason: str, now: int, announce: NewEvent | None
) -> Plan[int | None]:
    """None if nothing changed; else the announcing event's id (0 if none)."""
    changed = yield run(
        "handler_set_paused",
        {
            "i_handler": handler.i_handler,
            "paused": paused,
            "paused_at": now if paused else None,
            "reason": reason if paused else None,
            "now": now,
        },
    )
    if not changed:
        return None
    if handler.enabled:
        waiting = "hold" if paused else "unhold"
        moved = yield rows(f"delivery_{waiting}_for_handler", {"i_handler": handler.i_handler})
        state = "held" if paused else "pending"
        yield run_many(
            "transition_insert", [transition_row(r[1], r[0], state, now, reason) for r in moved]
        )
        yield from refresh_events({r[1] for r in moved})
    if announce is None:
        return 0
    inserted = yield row("event_insert", new_event_params(announce, now))
    return int(inserted[0])


def hold_or_release(handler: Handler) -> Plan[None]:
    """After a settings change: a handler that does not run (disabled or
    paused) holds its pending deliveries, one that runs releases them."""
    runs = handler.enabled and not handler.paused
    hold = "delivery_unhold_for_handler" if runs else "delivery_hold_for_handler"
    moved = yield rows(hold, {"i_handler": handler.i_handler})
    yield from refresh_events({r[1] for r in moved})


def cancel_event(i_event: int, i_env: int, now: int, reason: str) -> Plan[int]:
    key = {"i_event": i_event, "i_env": i_env, "now": now}
    if (yield row("event_cancel_scheduled", key)):
        yield run("transition_insert", transition_row(i_event, None, "cancelled", now, reason))
        return 1
    cancelled = yield rows("delivery_cancel_for_event", key)
    yield run_many(
        "transition_insert",
        [transition_row(i_event, r[0], "cancelled", now, reason) for r in cancelled],
    )
    yield from promote_keys([(r[2], r[3]) for r in cancelled if r[3]], now)
    yield from refresh_events({i_event})
    return len(cancelled)


def reschedule_event(i_event: int, i_env: int, start_at: int, now: int, reason: str) -> Plan[bool]:
    key = {"i_event": i_event, "i_env": i_env, "start_at": start_at}
    if not (yield row("event_reschedule_scheduled", key)):
        unfinished, other = yield row("event_count_unfinished_deliveries", key)
        if not unfinished or other:
            return False
        yield run("event_reschedule_dispatched", key)
        yield run("delivery_reschedule_for_event", key)
    yield run("transition_insert", transition_row(i_event, None, "rescheduled", now, reason))
    return True


def rescue_orphans(now: int, cutoff: int) -> Plan[int]:
    """Deliveries claimed by nodes that stopped beating go back to pending."""
    rescued = [
        tuple(r) for r in (yield rows("delivery_rescue_orphans", {"now": now, "cutoff": cutoff}))
    ]
    yield run_many("attempt_insert", interrupted_attempts(rescued, now))
    yield run_many("transition_insert", interrupted_transitions(rescued, now))
    yield run("node_delete_dead", {"cutoff": cutoff})
    yield from refresh_events({r[3] for r in rescued})
    return len(rescued)


def release_node(node_id: str, now: int) -> Plan[int]:
    """A node stopping cleanly gives back what it had claimed."""
    released = yield rows("delivery_release_node", {"node_id": node_id, "now": now})
    yield run("limiter_end_turns", {"node_id": node_id})
    yield run("node_delete", {"node_id": node_id})
    yield from refresh_events({r[0] for r in released})
    return len(released)

"""What a batch of outcomes tells about each handler's health, as plans run
in the outcome-recording transaction on every backend: how long it has been
failing (automatic pause), its run of failures in a row (the circuit
breaker, circuit_breaker.py) and, for a handler with a rate, whether it
asks for less (adaptive back-off, adaptive_rate.py).

A healthy handler without a rate costs nothing more here: a success writes
only when the handler was failing, and rates are read only for handlers
that have one. Handlers are written in i_handler order, their handler rows
before their limiter rows, so that two transactions never wait for each
other in a circle (the claim locks limiter rows, never handler rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from espf.adaptive_rate import RateState, adapt, rate_signals
from espf.circuit_breaker import next_probe_interval, trips
from espf.domain import AttemptOutcome, HandlerHealth
from espf.handler_rules import split_by_health
from espf.store import rows as to
from espf.store.limit_plans import sync_limiter
from espf.store.params import transition_row
from espf.store.plan import Plan, row, rows, run, run_many


def failures_by_handler(outcomes: Sequence[AttemptOutcome], failing: set[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for o in outcomes:
        if o.i_handler in failing:
            counts[o.i_handler] = counts.get(o.i_handler, 0) + 1
    return counts


def note_handler_health(outcomes: Sequence[AttemptOutcome]) -> Plan[list[HandlerHealth]]:
    """Track each handler's failures; open or close its circuit; adapt its
    rate. Answers the failing handlers (for automatic pause) and those whose
    circuit these outcomes opened or closed."""
    answered, failing = split_by_health(outcomes)
    now = max(o.started_at + o.duration_ms for o in outcomes)
    counts = failures_by_handler(outcomes, set(failing))
    health: list[HandlerHealth] = []
    for i_handler in sorted(answered | failing.keys()):
        if i_handler in answered:
            noted = yield from note_success(i_handler, now)
        else:
            noted = yield from note_failure(i_handler, failing[i_handler], counts, now)
        if noted is not None:
            health.append(noted)
    yield from adjust_rates(outcomes, now)
    return health


def note_success(i_handler: int, now: int) -> Plan[HandlerHealth | None]:
    """A good answer ends the run of failures and closes an open circuit;
    answers the handler if it closed one."""
    was_failing = yield row("handler_note_success", {"i_handler": i_handler})
    if was_failing is None:
        return None
    if (yield row("limiter_close_circuit", {"i_handler": i_handler})) is None:
        return None
    handler = to.handler(was_failing)
    # Back to the plain claim if nothing else limits it.
    yield from sync_limiter(handler, now)
    return HandlerHealth(
        handler.i_handler,
        handler.i_env,
        handler.name,
        now,
        handler.auto_pause_after_s,
        handler.paused,
        handler.enabled,
        circuit_opened=False,
    )


def note_failure(
    i_handler: int, first_failure: int, counts: dict[int, int], now: int
) -> Plan[HandlerHealth | None]:
    params = {"i_handler": i_handler, "at": first_failure, "failures": counts[i_handler]}
    found = yield row("handler_note_failure", params)
    if found is None:
        return None
    noted = replace(to.handler_health(tuple(found)), failures_in_row=int(found[7]))
    key = {"i_handler": i_handler}
    if found[9] is not None:
        # Open already: what came back from flight waits behind it too.
        yield run("delivery_mark_pending_limited", key)
    elif trips(found[8], noted.failures_in_row):
        interval = next_probe_interval(None)
        opening = key | {"now": now, "probe_at": now + interval, "probe_interval_ms": interval}
        if (yield row("limiter_open_circuit", opening)) is not None:
            yield run("delivery_mark_pending_limited", key)
            noted = replace(noted, circuit_opened=True)
    return noted


def adjust_rates(outcomes: Sequence[AttemptOutcome], now: int) -> Plan[None]:
    """Adaptive back-off of the handlers with a rate in this batch."""
    for i_handler, signal in sorted(rate_signals(outcomes).items()):
        found = yield row("limiter_rate_read", {"i_handler": i_handler})
        if found is None or not found[0]:
            continue
        read = RateState(found[1], found[2], found[3])
        change = adapt(float(found[0]), read, signal, now)
        if change is not None:
            yield run(
                "limiter_set_rate",
                {
                    "i_handler": i_handler,
                    "effective_rate": change.effective_rate,
                    "adjusted_at": change.adjusted_at,
                    "overloaded_at": change.overloaded_at,
                    "read_at": read.adjusted_at,
                    "never_adjusted": read.adjusted_at is None,
                },
            )


def hand_back(node_id: str, ids: list[int], now: int, next_at: int, reason: str) -> Plan[int]:
    """Deliveries this node claimed and did not send go back to wait, their
    attempt count unchanged; behind the circuit if it is open by now."""
    back = yield rows("delivery_hand_back", {"ids": ids, "node_id": node_id, "next_at": next_at})
    for i_handler in sorted({r[2] for r in back}):
        key = {"i_handler": i_handler}
        if (yield row("limiter_circuit_open", key)) is not None:
            yield run("delivery_mark_pending_limited", key)
    yield run_many(
        "transition_insert", [transition_row(r[1], r[0], r[3], now, reason) for r in back]
    )
    if back:
        yield run("event_refresh_state", {"ids": sorted({r[1] for r in back})})
    return len(back)

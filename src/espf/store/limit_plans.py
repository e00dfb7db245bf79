"""Claiming the work of handlers with delivery limits (rate_limits.py) or
maintenance windows (maintenance.py), as plans run inside the claim's
transaction on every backend.

Such a handler is claimed through its limiter row: the row holds the token
bucket, the maintenance window open now or next, the effective rate of
adaptive back-off (adaptive_rate.py) and the circuit breaker's state
(circuit_breaker.py; a handler without limits has a row while its circuit
is open), and the requests open
are counted from the deliveries in flight on every node, so that the limits
hold over all dispatchers and a dead node's requests stop counting as soon
as they are rescued. Handlers with neither have no row and never reach this
code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from espf.adaptive_rate import current_rate
from espf.circuit_breaker import FIRST_PROBE_MS, next_probe_interval
from espf.domain import Handler
from espf.maintenance import MaintenanceWindow, OpenWindow, is_open, next_window
from espf.rate_limits import (
    HEADROOM_MS,
    TURN_MS,
    Bucket,
    Spent,
    full_bucket,
    is_limited,
    may_send,
    refill,
    spend,
)
from espf.store import rows as to
from espf.store.plan import Plan, row, rows, run

_HANDLER_AT = 10  # where the handler's columns start in a limiter_ready row


def window_of(found: Sequence[Any]) -> MaintenanceWindow:
    return MaintenanceWindow(*found)


def windows_of(i_handler: int) -> Plan[list[MaintenanceWindow]]:
    found = yield rows("maintenance_list_for_handler", {"i_handler": i_handler})
    return [window_of(r) for r in found]


def claim_limited(node_id: str, now: int, limit: int) -> Plan[dict[int, tuple[int, bool]]]:
    """Claim up to ``limit`` due deliveries of limited handlers, as many of
    each as its limits, windows, circuit and turn allow now; answer each
    claimed id with the instant it may be sent (its slot in the rate) and
    whether adaptive back-off has lowered the rate."""
    if limit <= 0:
        return {}
    # The bucket's clock: slots are never in the past when the claim commits.
    # What is stored (ready_at, probe_at, turns) is on the claim's clock.
    slot_clock = now + HEADROOM_MS
    claimed: dict[int, tuple[int, bool]] = {}
    for found in (yield rows("limiter_ready", {"now": now})):
        wanted = limit - len(claimed)
        if wanted <= 0:
            break
        handler = to.handler(found, _HANDLER_AT)
        sender, sender_until = found[8], int(found[9])
        if handler.max_rate and sender not in (None, node_id) and sender_until > now:
            continue  # another node's turn: it sends this handler's requests now
        # The bucket fills at the effective rate while back-off is in effect.
        rate = current_rate(handler.max_rate, found[4])
        backing_off = rate != handler.max_rate
        if backing_off:
            handler = replace(handler, max_rate=rate)
        window = None if found[3] is None else OpenWindow(int(found[2]), int(found[3]))
        if window is not None and now >= window.closes_at:
            window = next_window((yield from windows_of(handler.i_handler)), now)
        bucket = refill(handler, Bucket(float(found[0]), int(found[1])), slot_clock)
        probe_at, interval = found[6], found[7]
        key = {"i_handler": handler.i_handler}
        if is_open(window, now) or is_open(window, slot_clock):
            assert window is not None
            # Nothing goes out until it ends.
            spent = Spent(bucket, window.closes_at + HEADROOM_MS, [])
        elif found[5] is not None and now < probe_at:
            spent = Spent(bucket, probe_at + HEADROOM_MS, [])  # an open circuit: wait to probe
        else:
            in_flight = int((yield row("limiter_in_flight", key))[0])
            if found[5] is not None:
                wanted = 0 if in_flight else 1  # an open circuit: one probe at a time
            allowed = may_send(handler, bucket, in_flight, wanted)
            got: list[int] = []
            if allowed:
                params = key | {"node_id": node_id, "now": now, "limit": allowed}
                got = sorted(r[0] for r in (yield rows("delivery_claim_due_limited", params)))
            spent = spend(handler, bucket, len(got))
            if found[5] is not None:
                # The next probe, whatever this one answers, waits longer.
                interval = next_probe_interval(interval) if got else interval
                probe_at = now + (interval or FIRST_PROBE_MS)
                ready_at = max(spent.ready_at, probe_at + HEADROOM_MS)
                spent = Spent(spent.bucket, ready_at, spent.send_at)
            claimed.update((i, (at, backing_off)) for i, at in zip(got, spent.send_at, strict=True))
            if got and handler.max_rate:
                # This node's turn, until a while after its last slot.
                sender, sender_until = node_id, max(spent.send_at) - HEADROOM_MS + TURN_MS
        yield run(
            "limiter_update",
            key
            | {
                "tokens": spent.bucket.tokens,
                "refilled_at": spent.bucket.refilled_at,
                # On the claim's clock, which limiter_ready and next_due_at
                # compare it with; 0 without a rate.
                "ready_at": max(0, spent.ready_at - HEADROOM_MS),
                "window_from": window.opens_at if window else None,
                "window_until": window.closes_at if window else None,
                "probe_at": probe_at,
                "probe_interval_ms": interval,
                "sender": sender,
                "sender_until": sender_until,
            },
        )
    return claimed


def sync_limiter(handler: Handler, now: int) -> Plan[None]:
    """After a handler is created or changed, its windows are, or its
    circuit closes: give it a limiter row (a full bucket, its next window)
    if it has limits, windows or an open circuit, else none, and mark its
    deliveries to match."""
    key = {"i_handler": handler.i_handler}
    windows = yield from windows_of(handler.i_handler)
    circuit_open = (yield row("limiter_circuit_open", key)) is not None
    limited = is_limited(handler) or bool(windows) or circuit_open
    if limited:
        yield run("limiter_insert", key | {"tokens": full_bucket(handler, now).tokens, "now": now})
        window = next_window(windows, now)
        yield run(
            "limiter_set_window",
            key
            | {
                "window_from": window.opens_at if window else None,
                "window_until": window.closes_at if window else None,
            },
        )
    else:
        yield run("limiter_delete", key)
    yield run("delivery_mark_limited", key | {"limited": limited})


def add_window(handler: Handler, window: MaintenanceWindow, now: int) -> Plan[int]:
    params = {
        "i_handler": handler.i_handler,
        "starts_at": window.starts_at,
        "ends_at": window.ends_at,
        "rule": window.rule,
        "time_zone": window.time_zone,
        "duration_s": window.duration_s,
        "now": now,
    }
    i_window = int((yield row("maintenance_insert", params))[0])
    yield from sync_limiter(handler, now)
    return i_window


def remove_window(handler: Handler, i_window: int, now: int) -> Plan[bool]:
    key = {"i_handler": handler.i_handler, "i_window": i_window}
    removed = yield run("maintenance_delete", key)
    if removed:
        yield from sync_limiter(handler, now)
    return bool(removed)

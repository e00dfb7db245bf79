"""The circuit breaker: after a run of failures in a row (``breaker_after``,
a handler setting) espf stops sending the handler's queued deliveries and
sends one probe at a time, at growing intervals, until one succeeds.

Deliveries held by an open circuit are not claimed, so they keep their
attempt count: a dead Application costs a few probes, not an attempt of
every delivery waiting for it. The state lives in the handler's limiter row,
shared by every node (limit_plans.py claims the probes, flow_plans.py opens
and closes the circuit in the outcome-recording transaction). Pure rules
here.
"""

from __future__ import annotations

from espf.clock import format_ms

# Failures in a row that open a circuit when the handler does not say. A
# healthy Application rarely fails ten times without one good answer; a dead
# one reaches it within its first batch.
DEFAULT_BREAKER_AFTER = 10
MAX_BREAKER_AFTER = 1_000_000
# The first probe goes this long after the circuit opens; each next one
# waits twice as long as the one before, up to PROBE_CAP_MS.
FIRST_PROBE_MS = 1000
PROBE_GROWTH = 2
PROBE_CAP_MS = 60_000


def breaker_threshold(breaker_after: int | None) -> int | None:
    """The failures in a row that open the circuit; None: never."""
    if breaker_after is None:
        return DEFAULT_BREAKER_AFTER
    return breaker_after or None


def trips(breaker_after: int | None, failures_in_row: int) -> bool:
    threshold = breaker_threshold(breaker_after)
    return threshold is not None and failures_in_row >= threshold


def next_probe_interval(interval_ms: int | None) -> int:
    if not interval_ms:
        return FIRST_PROBE_MS
    return min(PROBE_CAP_MS, interval_ms * PROBE_GROWTH)


def probes_within(seconds: float) -> int:
    """How many probes an open circuit sends in ``seconds`` (each one failing)."""
    count, at, interval = 0, 0, None
    while True:
        interval = next_probe_interval(interval)
        at += interval
        if at > seconds * 1000:
            return count
        count += 1


def circuit_reason(opened_at: int, probe_at: int | None) -> str:
    """Why a pending delivery of a handler with an open circuit waits."""
    reason = (
        f"circuit open since {format_ms(opened_at)} UTC: the handler failed every recent attempt"
    )
    if probe_at is not None:
        reason += f"; one probe at a time, the next at {format_ms(probe_at)} UTC"
    return reason

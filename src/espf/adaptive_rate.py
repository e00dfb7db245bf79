"""Adaptive back-off: a handler that answers 429 or 503, or does not answer
in time, asks for less. espf then lowers the handler's effective rate
multiplicatively and raises it again step by step while answers are good
(AIMD, the rule TCP uses to share a link), never above ``max_rate``.

The effective rate lives in the handler's limiter row, shared by every
dispatcher node: the outcome-recording transaction adjusts it, the claim
spends tokens at it (limit_plans.py). Pure rules here.

Only a handler with ``max_rate`` adapts: the rate it starts from and comes
back to is the operator's statement of what the Application takes. A
handler without one has no rate to lower; Retry-After, the retry policy and
the circuit breaker (circuit_breaker.py) protect it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from espf.domain import AttemptOutcome
from espf.rate_limits import MIN_RATE

# At most one change per interval: a batch of 20 overload answers, or the
# answers to requests sent before the last cut, make one decrease, not 20.
ADJUST_INTERVAL_MS = 1000
# Each decrease keeps this share of the rate. Milder than TCP's half: the
# signal is explicit and comes within a round trip, so a smaller cut
# suffices and the rate stays nearer what the Application takes.
DECREASE_FACTOR = 0.75
# Each interval of good answers adds this share of max_rate (at 50/s: 1/s
# more every second).
INCREASE_SHARE = 0.02
# The rate never goes below this share of max_rate (at 50/s: 0.5/s); an
# Application that keeps refusing at that rate trips the circuit breaker.
FLOOR_SHARE = 0.01
OVERLOAD_STATUSES = frozenset({429, 503})


def is_overload(status_code: int | None, timed_out: bool) -> bool:
    return timed_out or status_code in OVERLOAD_STATUSES


@dataclass(frozen=True, slots=True)
class RateSignal:
    overloaded: bool  # some answer asked for less
    good: bool  # some answer was not an overload


def rate_signals(outcomes: Sequence[AttemptOutcome]) -> dict[int, RateSignal]:
    """Per rate-limited handler in a batch of outcomes: did it ask for less,
    did it answer well."""
    found: dict[int, tuple[bool, bool]] = {}
    for o in outcomes:
        if not o.rate_limited:
            continue
        overloaded, good = found.get(o.i_handler, (False, False))
        found[o.i_handler] = (overloaded or o.overloaded, good or not o.overloaded)
    return {i: RateSignal(*flags) for i, flags in found.items()}


def current_rate(max_rate: float | None, effective_rate: float | None) -> float | None:
    """The rate the claim uses: the effective one while back-off is in
    effect, never above max_rate (which the operator may have lowered)."""
    if not max_rate:
        return max_rate
    if effective_rate is None:
        return max_rate
    return min(max_rate, effective_rate)


def floor_of(max_rate: float) -> float:
    return max(MIN_RATE, max_rate * FLOOR_SHARE)


@dataclass(frozen=True, slots=True)
class RateState:
    """What the limiter row holds of a handler's adaptive rate."""

    effective_rate: float | None  # None: at max_rate
    adjusted_at: int | None  # the last change
    overloaded_at: int | None  # the last answer that asked for less


def adapt(max_rate: float, state: RateState, signal: RateSignal, now: int) -> RateState | None:
    """The state after a batch's answers, or None to leave it as it is.

    Overload wins: any overload answer cuts the rate, once per interval, and
    the rate grows again only after a whole interval without one (good
    answers come first in every second an overloaded Application accepts
    some, so a rule that let each good batch raise it would never let it
    settle)."""
    changed_lately = state.adjusted_at is not None and now - state.adjusted_at < ADJUST_INTERVAL_MS
    rate = current_rate(max_rate, state.effective_rate) or max_rate
    if signal.overloaded:
        if changed_lately:
            return replace(state, overloaded_at=now)
        return RateState(max(floor_of(max_rate), rate * DECREASE_FACTOR), now, now)
    if state.effective_rate is None or not signal.good or changed_lately:
        return None
    if state.overloaded_at is not None and now - state.overloaded_at < ADJUST_INTERVAL_MS:
        return None
    raised = rate + max_rate * INCREASE_SHARE
    return RateState(None if raised >= max_rate else raised, now, state.overloaded_at)

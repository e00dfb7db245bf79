"""Adaptive back-off and circuit-breaker rules, without a database."""

from __future__ import annotations

import pytest

from espf.adaptive_rate import (
    ADJUST_INTERVAL_MS,
    RateSignal,
    RateState,
    adapt,
    current_rate,
    floor_of,
    is_overload,
    rate_signals,
)
from espf.circuit_breaker import (
    DEFAULT_BREAKER_AFTER,
    PROBE_CAP_MS,
    breaker_threshold,
    next_probe_interval,
    trips,
)
from espf.domain import AttemptOutcome, DeliveryState

OVERLOAD = RateSignal(overloaded=True, good=False)
GOOD = RateSignal(overloaded=False, good=True)


@pytest.mark.parametrize(
    ("status", "timed_out", "overload"),
    [(429, False, True), (503, False, True), (None, True, True), (500, False, False),
     (None, False, False), (200, False, False)],
)  # fmt: skip
def test_429_503_and_timeouts_ask_for_less(
    status: int | None, timed_out: bool, overload: bool
) -> None:
    assert is_overload(status, timed_out) is overload


def test_a_decrease_is_multiplicative_and_once_per_interval() -> None:
    first = adapt(50.0, RateState(None, None, None), OVERLOAD, 10_000)
    assert first == RateState(37.5, 10_000, 10_000)
    # More overload answers within the interval: no second cut, but noted.
    soon = adapt(50.0, first, OVERLOAD, 10_000 + ADJUST_INTERVAL_MS - 1)
    assert soon == RateState(37.5, 10_000, 10_000 + ADJUST_INTERVAL_MS - 1)
    again = adapt(50.0, first, OVERLOAD, 10_000 + ADJUST_INTERVAL_MS)
    assert again is not None and again.effective_rate == pytest.approx(28.125)


def test_it_never_falls_below_the_floor() -> None:
    change = adapt(50.0, RateState(floor_of(50.0), 0, 0), OVERLOAD, 10_000)
    assert change is not None and change.effective_rate == floor_of(50.0) == 0.5


def test_good_answers_raise_it_step_by_step_up_to_max_rate() -> None:
    up = adapt(50.0, RateState(20.0, 0, 0), GOOD, 5_000)
    assert up == RateState(21.0, 5_000, 0)
    assert adapt(50.0, RateState(20.0, 4_500, 0), GOOD, 5_000) is None  # changed lately
    top = adapt(50.0, RateState(49.5, 0, 0), GOOD, 5_000)
    assert top is not None and top.effective_rate is None  # back at max_rate
    assert adapt(50.0, RateState(None, 0, 0), GOOD, 5_000) is None  # nothing to raise


def test_it_rises_only_after_a_whole_interval_without_overload() -> None:
    # An Application taking some requests every second answers well first:
    # that must not raise the rate while it still refuses the rest.
    assert adapt(50.0, RateState(20.0, 0, 4_500), GOOD, 5_000) is None
    assert adapt(50.0, RateState(20.0, 0, 4_000), GOOD, 5_000) is not None


def test_a_lowered_max_rate_caps_the_effective_rate() -> None:
    assert current_rate(10.0, 30.0) == 10.0
    assert current_rate(10.0, None) == 10.0
    assert current_rate(None, 5.0) is None


def test_only_outcomes_of_rate_limited_handlers_count() -> None:
    def outcome(i_handler: int, overloaded: bool, rate_limited: bool = True) -> AttemptOutcome:
        return AttemptOutcome(
            1, 1, 0, 1, 503 if overloaded else 200, None, DeliveryState.DELIVERED, None,
            i_handler=i_handler, overloaded=overloaded, rate_limited=rate_limited,
        )  # fmt: skip

    signals = rate_signals(
        [outcome(1, True), outcome(1, False), outcome(2, False), outcome(3, True, False)]
    )
    assert signals == {1: RateSignal(True, True), 2: RateSignal(False, True)}


def test_the_breaker_threshold_and_probe_intervals() -> None:
    assert breaker_threshold(None) == DEFAULT_BREAKER_AFTER
    assert breaker_threshold(0) is None
    assert not trips(0, 1_000)
    assert trips(None, DEFAULT_BREAKER_AFTER) and not trips(None, DEFAULT_BREAKER_AFTER - 1)
    intervals = [next_probe_interval(None)]
    for _ in range(10):
        intervals.append(next_probe_interval(intervals[-1]))
    assert intervals[:4] == [1000, 2000, 4000, 8000]
    assert max(intervals) == PROBE_CAP_MS == intervals[-1]

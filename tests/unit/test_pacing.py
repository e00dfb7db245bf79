"""A node's pacer re-spaces sends whose timers fired together, lets a burst
through, and leaves sends that are already spaced alone."""

from __future__ import annotations

from espf.dispatch.pacing import Pacer
from tests.factories import a_handler

T0 = 1_700_000_000_000


def test_sends_that_fire_together_are_spaced_by_the_rate() -> None:
    pacer, handler = Pacer(), a_handler(i_handler=7, max_rate=50.0)
    assert [pacer.reserve(handler, T0) for _ in range(4)] == [0, 20, 40, 60]


def test_sends_on_their_slots_are_never_delayed() -> None:
    pacer, handler = Pacer(), a_handler(i_handler=7, max_rate=50.0)
    assert [pacer.reserve(handler, T0 + 20 * k) for k in range(10)] == [0] * 10
    # A gap, then on time again.
    assert pacer.reserve(handler, T0 + 5_000) == 0
    assert pacer.reserve(handler, T0 + 5_020) == 0


def test_a_burst_goes_at_once_then_the_rate_applies() -> None:
    pacer, handler = Pacer(), a_handler(i_handler=7, max_rate=50.0, rate_burst=3)
    assert [pacer.reserve(handler, T0) for _ in range(5)] == [0, 0, 0, 20, 40]


def test_handlers_without_a_rate_and_other_handlers_are_not_held() -> None:
    pacer = Pacer()
    free, rated = a_handler(i_handler=1), a_handler(i_handler=2, max_rate=1.0)
    assert [pacer.reserve(free, T0) for _ in range(3)] == [0, 0, 0]
    assert pacer.reserve(rated, T0) == 0
    assert pacer.reserve(rated, T0) == 1000
    assert pacer.reserve(a_handler(i_handler=3, max_rate=1.0), T0) == 0

"""A node's own hold on a burst to a failing handler (breaker_gate.py),
without a database: the window of requests open, and the deliveries it
hands back once it has seen the run of failures that opens the circuit."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from espf.circuit_breaker import DEFAULT_BREAKER_AFTER
from espf.clock import SystemClock
from espf.dispatch.breaker_gate import PROBATION_REQUESTS, BreakerGate
from tests.factories import a_claimed_delivery, a_handler


class _Store:
    def __init__(self) -> None:
        self.handed_back: list[int] = []

    async def deliveries_hand_back(
        self, node_id: str, ids: Sequence[int], now: int, next_at: int, reason: str
    ) -> int:
        self.handed_back += ids
        return len(ids)


def _gate(store: _Store) -> BreakerGate:
    return BreakerGate(store, "n1", SystemClock(), connections=64)  # type: ignore[arg-type]


async def test_a_handler_not_yet_answered_well_gets_a_few_requests_at_a_time() -> None:
    gate, handler = _gate(_Store()), a_handler(i_handler=3)
    delivery = a_claimed_delivery(handler)
    for _ in range(PROBATION_REQUESTS):
        assert await gate.admit(delivery)
    waiting = asyncio.ensure_future(gate.admit(delivery))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    gate.done(handler, failed=False)  # a good answer: the whole window
    assert await waiting
    for _ in range(20):
        assert await asyncio.wait_for(gate.admit(delivery), 0.1)


async def test_after_the_run_of_failures_the_rest_is_handed_back_unsent() -> None:
    store = _Store()
    gate, handler = _gate(store), a_handler(i_handler=3)
    for n in range(DEFAULT_BREAKER_AFTER):
        assert await gate.admit(a_claimed_delivery(handler, i_delivery=n))
        gate.done(handler, failed=True)
    late = a_claimed_delivery(handler, i_delivery=99)
    assert not await gate.admit(late)
    gate.hand_back(late)
    await gate.drain()
    assert store.handed_back == [99] and gate.unwritten == 0
    # A probe, claimed through the limiter with its slot, always goes.
    assert await gate.admit(a_claimed_delivery(handler, i_delivery=100, send_at=1))


async def test_a_handler_with_the_breaker_off_is_never_held() -> None:
    gate, handler = _gate(_Store()), a_handler(i_handler=3, breaker_after=0)
    for n in range(50):
        assert await gate.admit(a_claimed_delivery(handler, i_delivery=n))
        gate.done(handler, failed=True)

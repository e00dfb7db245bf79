"""A burst of concurrent producers: every event is acknowledged with its own
i_event and delivered exactly once when nothing fails."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
import pytest

from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD, EspfProcess, basic_auth
from tests.e2e.receiver import Receiver

pytestmark = pytest.mark.e2e

EVENTS = 500
PRODUCER_CONNECTIONS = 32
EVENT_TYPE = "Account/BalanceChanged"


async def post_concurrently(base_url: str, count: int) -> list[tuple[int, int, dict[str, int]]]:
    """POST ``count`` events over a pool of connections; return
    ``(n, status, answer)`` for each."""
    headers = {"Authorization": basic_auth(ADMIN_LOGIN, ADMIN_PASSWORD)}
    connector = aiohttp.TCPConnector(limit=PRODUCER_CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def post(n: int) -> tuple[int, int, dict[str, int]]:
            body = {"event_type": EVENT_TYPE, "variables": {"n": n}}
            async with session.post(f"{base_url}/espf/v1/event/create", json=body) as response:
                return n, response.status, await response.json()

        return await asyncio.gather(*(post(n) for n in range(count)))


def test_500_concurrent_events_are_each_delivered_exactly_once(
    espf: EspfProcess, receiver: Receiver
) -> None:
    espf.add_handler(1, "EventSender", receiver.url, "--auth", "none")
    espf.cli("handler", "subscribe", "1", "EventSender", EVENT_TYPE)

    answers = asyncio.run(post_concurrently(espf.base_url, EVENTS))
    assert [status for _, status, _ in answers] == [200] * EVENTS
    i_event_of = {n: answer["i_event"] for n, _, answer in answers}
    assert len(set(i_event_of.values())) == EVENTS, "an i_event was given twice"

    receiver.wait_for(EVENTS, timeout=30)
    time.sleep(1.0)  # several back-off periods: any resend would show by now
    received = receiver.received()
    counts = Counter(r.i_event for r in received)
    duplicates = {i: c for i, c in counts.items() if c > 1}
    assert not duplicates, f"delivered more than once: {duplicates}"
    assert set(counts) == set(i_event_of.values())
    # Each request carries the variables of the event its i_event names.
    for request in received:
        n = request.json()["variables"]["n"]
        assert request.i_event == i_event_of[n]

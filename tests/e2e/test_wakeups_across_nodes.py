"""Operator actions on one node wake the dispatcher of another at once.

Node A runs only the API, node B only a dispatcher, on one PostgreSQL. The
dispatcher polls every 5 s, so a delivery that arrives within 200 ms of the
API's answer was woken by the announcement (espf.due_wakeups), not found by
the poll. Checked for resume, enable, retry and replay, and for the next
delivery of an ordering key once the one before it is delivered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.e2e.multinode_support import (
    EVENT_TYPE,
    PRODUCER_LOGIN,
    PRODUCER_PASSWORD,
    EspfProcess,
    Receiver,
    basic_auth,
    espf_env,
    free_port,
    prepare_database,
    wait_for_api,
    wait_for_nodes,
)

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

POLL_S = 5.0
WITHIN_S = 0.2
HANDLER = "EventSender"


class NodeA:
    """The API of node A, as an administrator of environment 1."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._base = f"{base_url}/espf/v1"

    async def call(self, method: str, **body: Any) -> Any:
        async with self._session.post(f"{self._base}/{method}", data=orjson.dumps(body)) as answer:
            payload = await answer.read()
            assert answer.status == 200, f"{method}: {answer.status} {payload!r}"
            return orjson.loads(payload)

    async def create(self, tag: str, **variables: Any) -> int:
        body = {"event_type": EVENT_TYPE, "variables": {"tag": tag, **variables}}
        return int((await self.call("event/create", **body))["i_event"])

    async def delivery_states(self, i_event: int) -> list[str]:
        detail = await self.call("event/get", i_event=i_event)
        return [d["state"] for d in detail["deliveries"]]


@asynccontextmanager
async def two_nodes(
    url: str, receiver: Receiver, log_dir: Path
) -> AsyncIterator[tuple[NodeA, list[EspfProcess]]]:
    await prepare_database(url, receiver.url)
    # The default heartbeat (5 s): nothing but an announcement wakes node B.
    env = espf_env(url, poll_interval_s=POLL_S, log_level="info")
    api = EspfProcess("api", env, log_dir, "node-a-api", port=free_port())
    dispatcher = EspfProcess("dispatcher", env, log_dir, "node-b-dispatcher")
    headers = {"Authorization": basic_auth(PRODUCER_LOGIN, PRODUCER_PASSWORD)}
    try:
        await wait_for_api([api])
        await wait_for_nodes(url, 1)
        # The dispatcher LISTENs on a connection it opens in the background.
        await asyncio.sleep(1.0)
        async with aiohttp.ClientSession(headers=headers) as session:
            yield NodeA(session, api.base_url), [api, dispatcher]
    finally:
        for proc in (api, dispatcher):
            proc.stop()
            print(f"--- {proc.name}\n{proc.log_text()[-3000:]}")


async def arrival_after(
    receiver: Receiver, events: set[int], since: float, timeout: float = 3 * POLL_S
) -> float:
    """Seconds from ``since`` until every one of ``events`` has arrived (again)."""
    deadline = time.monotonic() + timeout
    while True:
        arrived = {i: t for i, t in receiver.arrivals if i in events and t >= since}
        if set(arrived) == events:
            return max(arrived.values()) - since
        assert time.monotonic() < deadline, f"{events - set(arrived)} never arrived"
        await asyncio.sleep(0.005)


async def held_until(node: NodeA, events: list[int], state: str = "held") -> None:
    """Wait until the dispatcher has made every event's delivery ``state``."""
    deadline = time.monotonic() + 3 * POLL_S
    while True:
        found = [await node.delivery_states(i) for i in events]
        if all(states == [state] for states in found):
            return
        assert time.monotonic() < deadline, f"deliveries still {found}"
        await asyncio.sleep(0.05)


async def test_actions_on_node_a_are_delivered_by_node_b_at_once(
    postgres_url: str, tmp_path: Path
) -> None:
    async with Receiver() as receiver, two_nodes(postgres_url, receiver, tmp_path) as (a, procs):
        latencies: dict[str, float] = {}

        # Resume: events wait, held, for a paused handler.
        await a.call("handler/pause", name=HANDLER)
        resumed = [await a.create("resume") for _ in range(3)]
        await held_until(a, resumed)
        await asyncio.sleep(0.3)  # let node B settle into its poll-long sleep
        await a.call("handler/resume", name=HANDLER)
        answered = time.monotonic()
        latencies["resume"] = await arrival_after(receiver, set(resumed), answered)

        # Enable: a disabled handler keeps the deliveries it held; enabling
        # releases them (new events meanwhile are not routed to it).
        await a.call("handler/pause", name=HANDLER)
        waiting = [await a.create("enable") for _ in range(3)]
        await held_until(a, waiting)
        await a.call("handler/disable", name=HANDLER)
        await a.call("handler/resume", name=HANDLER)
        await asyncio.sleep(0.5)
        assert not {i for i, _ in receiver.arrivals} & set(waiting), "disabled, still held"
        await a.call("handler/enable", name=HANDLER)
        answered = time.monotonic()
        latencies["enable"] = await arrival_after(receiver, set(waiting), answered)

        # Retry one delivered delivery, then replay the "resume" ones.
        detail = await a.call("event/get", i_event=waiting[0])
        await asyncio.sleep(0.3)  # let node B settle into its poll-long sleep
        await a.call("delivery/retry", i_delivery=detail["deliveries"][0]["i_delivery"])
        answered = time.monotonic()
        latencies["retry"] = await arrival_after(receiver, {waiting[0]}, answered)
        await asyncio.sleep(0.3)
        replayed = await a.call("event/replay", variable="tag=resume")
        answered = time.monotonic()
        assert replayed["replayed"] == 3
        latencies["replay"] = await arrival_after(receiver, set(resumed), answered)

        # Promotion: the second event of an ordering key goes as soon as the
        # first is delivered. The first takes a while to answer, so that
        # the wake-ups of the two creates are long over by then.
        await a.call("handler/update", name=HANDLER, ordered=True)
        receiver.answer_after_s = 0.5
        first = await a.create("ordered", i_account=541)
        second = await a.create("ordered", i_account=541)
        first_answered = await arrival_after(receiver, {first}, 0.0) + receiver.answer_after_s
        latencies["promotion"] = await arrival_after(receiver, {second}, first_answered)

        print(f"latencies (s): {latencies}")
        assert all(proc.alive() for proc in procs)
        slow = {action: s for action, s in latencies.items() if s > WITHIN_S}
        assert not slow, f"not woken at once (poll every {POLL_S} s): {slow}"

"""The one wake-up seam (espf.due_wakeups): every operation that makes a
delivery due calls it exactly once, after its commit, and it reaches both the
local dispatchers and the store's announcement to other nodes; operations
that make nothing due stay quiet."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from espf.clock import FrozenClock
from espf.config import load_settings
from espf.dispatch.dispatcher import Dispatcher
from espf.dispatch.outcomes import OutcomeRecorder
from espf.domain import AttemptOutcome, DeliveryState, HandlerHealth, ReplayFilter
from espf.due_wakeups import DueWakeups
from espf.service import Service
from espf.store import create_store
from espf.timeparse import parse_start_time
from tests.contract.test_delivery_control import answer, claim, create, handler


@dataclass
class Seam:
    service: Service
    heard: list[int]  # what a local dispatcher was told
    announced: list[int]  # what the store was asked to tell other nodes

    def calls(self) -> list[int]:
        """The calls since the last look; both sides must have seen each."""
        assert self.heard == self.announced
        found = list(self.heard)
        self.heard.clear()
        self.announced.clear()
        return found

    @property
    def now(self) -> int:
        return self.service.clock.now_ms()


@pytest.fixture
async def seam(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Seam]:
    store = create_store(f"sqlite:///{tmp_path / 'espf.db'}")
    await store.open()
    service = Service(store, load_settings({}), FrozenClock())
    await service.prepare_database()
    await service.env_create("one", 1)
    announced: list[int] = []
    monkeypatch.setattr(store, "announce_due", announced.append)
    heard: list[int] = []
    service.wakeups.listen(heard.append)
    try:
        yield Seam(service, heard, announced)
    finally:
        await store.close()


async def test_create_and_reschedule_announce_the_start_time(seam: Seam) -> None:
    await handler(seam.service)
    later = "2099-01-01 00:00:00"
    i_event = await seam.service.event_create(
        1, {"event_type": "Account/New", "variables": {}, "start_time": later}
    )
    assert seam.calls() == [parse_start_time(later)]
    await seam.service.event_reschedule(i_event, 1, "2098-06-01 12:00:00")
    assert seam.calls() == [parse_start_time("2098-06-01 12:00:00")]


async def test_pause_is_quiet_and_resume_wakes_once(seam: Seam) -> None:
    await handler(seam.service)
    await seam.service.handler_pause(1, "H")
    assert seam.calls() == []
    await seam.service.handler_resume(1, "H")
    assert seam.calls() == [seam.now]
    await seam.service.handler_resume(1, "H")
    assert seam.calls() == [], "resuming a running handler makes nothing due"


async def test_enabling_wakes_once_and_other_settings_do_not(seam: Seam) -> None:
    await handler(seam.service)
    await seam.service.handler_set_enabled(1, "H", False)
    assert seam.calls() == []
    await seam.service.handler_set_enabled(1, "H", True)
    assert seam.calls() == [seam.now]
    await seam.service.handler_set_enabled(1, "H", True)
    assert seam.calls() == []


async def test_retry_replay_and_cancel_wake_once(seam: Seam) -> None:
    service = seam.service
    await handler(service)
    a = await create(service, i_account=1)
    b = await create(service, i_account=2)
    await answer(service, await claim(service), 400)
    seam.calls()
    delivery = (await service.event_get(a, 1)).deliveries[0]
    await service.delivery_retry(delivery.i_delivery, 1)
    assert seam.calls() == [seam.now]
    replay = ReplayFilter(i_env=1, variable=("i_account", "2"))
    assert await service.replay(replay, dry_run=True) == 1
    assert seam.calls() == [], "a dry run changes nothing"
    assert await service.replay(replay, dry_run=False) == 1
    assert seam.calls() == [seam.now]
    await service.event_cancel(b, 1)
    assert seam.calls() == [seam.now], "the next delivery of its key may go"


class _RecordingStore:
    """Just enough of a store for the outcome recorder."""

    async def delivery_record_outcomes(
        self, node_id: str, outcomes: list[AttemptOutcome]
    ) -> list[HandlerHealth]:
        return []


def _outcome(i_delivery: int, started_at: int, state: DeliveryState) -> AttemptOutcome:
    next_at = started_at + 1000 if state is DeliveryState.PENDING else None
    return AttemptOutcome(i_delivery, 1, started_at, 1, 200, None, state, next_at)


async def test_finishing_an_ordered_delivery_wakes_once_after_its_write() -> None:
    announced: list[int] = []

    class Announcer:
        def announce_due(self, due_at: int) -> None:
            announced.append(due_at)

    wakeups = DueWakeups(Announcer())
    heard: list[int] = []
    wakeups.listen(heard.append)

    async def no_health(health: list[HandlerHealth]) -> None:
        return None

    recorder = OutcomeRecorder(
        _RecordingStore(),  # type: ignore[arg-type]
        "node",
        no_health,
        wakeups=wakeups,
    )
    recorder.add(_outcome(1, 1_000, DeliveryState.DELIVERED), frees_key=True)
    recorder.add(_outcome(2, 2_000, DeliveryState.REJECTED), frees_key=True)
    recorder.add(_outcome(3, 3_000, DeliveryState.DELIVERED))  # not ordered
    assert heard == [], "nothing is due before the outcome is written"
    await recorder.drain()
    assert heard == announced == [2_000]
    recorder.add(_outcome(4, 4_000, DeliveryState.DELIVERED))
    await recorder.drain()
    assert heard == [2_000], "an unordered handler's outcome promotes nothing"


async def test_a_dispatcher_handing_back_its_deliveries_wakes_the_others(seam: Seam) -> None:
    service = seam.service
    await handler(service)
    await create(service, i_account=1)
    dispatcher = Dispatcher(service.store, service.settings, service.clock, wakeups=service.wakeups)
    claimed = await service.store.dispatch_due(dispatcher.node_id, seam.now, 10)
    assert len(claimed) == 1
    seam.calls()
    await dispatcher.stop()
    assert seam.calls() == [seam.now]

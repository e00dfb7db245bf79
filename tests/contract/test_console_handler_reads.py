"""The console's reads about limits, maintenance and schedules, through the
service, on both backends: an account's schedules (the indexed query of
migration "console_schedules"), which handlers are in maintenance now, and
each window's next opening."""

from __future__ import annotations

import pytest

from espf.clock import FrozenClock
from espf.config import load_settings
from espf.errors import BadRequest
from espf.maintenance import MaintenanceWindow, OpenWindow
from espf.schedules.request import ScheduleSpec
from espf.service import Service
from espf.store import Store
from espf.timeparse import parse_start_time
from tests.contract.senders import sender_settings

TYPE = "Custom/NextMonth"
NOW = parse_start_time("2026-03-24 00:30:00")  # a Tuesday, 01:30 in Prague
HOUR = 3_600_000


@pytest.fixture
async def service(store: Store) -> Service:
    svc = Service(store, load_settings({}), FrozenClock(NOW))
    await svc.prepare_database()
    for i_env in (1, 2):
        await svc.env_create(f"env{i_env}", i_env)
    await svc.type_create(TYPE)
    return svc


def schedule(key: str, variables: dict[str, object], zone: str = "Europe/Prague") -> ScheduleSpec:
    return ScheduleSpec(
        key=key,
        event_type=TYPE,
        rule="monthly on day 1 at 00:00",
        time_zone=zone,
        variables=variables,
    )


async def test_an_accounts_schedules_are_its_own_in_its_environment(service: Service) -> None:
    first = await service.schedule_create(1, schedule("a", {"i_account": 541}))
    await service.schedule_create(1, schedule("b", {"i_account": 5410}))
    await service.schedule_create(1, schedule("c", {"i_customer": 541}))
    await service.schedule_create(2, schedule("d", {"i_account": 541}))
    second = await service.schedule_create(
        1, schedule("e", {"i_account": 541, "plan": "gold"}, zone="America/New_York")
    )

    found = await service.schedules_of_account(1, 541)

    assert [s.i_schedule for s in found] == [first.i_schedule, second.i_schedule]
    assert found[1].time_zone == "America/New_York"
    assert found[0].next_at == parse_start_time("2026-03-31T22:00:00+00:00")  # 1 April, Prague
    assert await service.schedules_of_account(1, 9) == []
    assert [s.key for s in await service.schedules_of_account(1, 541, limit=1)] == ["a"]
    with pytest.raises(BadRequest):
        await service.schedules_of_account(1, 541, limit=0)


async def test_handlers_in_maintenance_now_by_name_in_their_environment(service: Service) -> None:
    for i_env in (1, 2):
        for name in ("hss", "pcrf"):
            await service.handler_create(i_env, name, sender_settings(name))
    # hss of env 1: open now until 03:00 Prague; pcrf of env 2: opens later.
    await service.maintenance_add(
        1,
        "hss",
        MaintenanceWindow(0, 0, rule="daily at 01:00", time_zone="Europe/Prague", duration_s=7200),
    )
    await service.maintenance_add(
        2, "pcrf", MaintenanceWindow(0, 0, starts_at=NOW + HOUR, ends_at=NOW + 2 * HOUR)
    )

    assert await service.maintenance_open_now(1) == {"hss": "maintenance until 03:00 Europe/Prague"}
    assert await service.maintenance_open_now(2) == {}


async def test_each_window_says_when_it_is_open_or_opens_next(service: Service) -> None:
    await service.handler_create(1, "hss", sender_settings("hss"))
    weekly = MaintenanceWindow(
        0, 0, rule="weekly on thursday at 23:00", time_zone="Europe/Prague", duration_s=3600
    )
    once = MaintenanceWindow(0, 0, starts_at=NOW - HOUR, ends_at=NOW + HOUR)
    await service.maintenance_add(1, "hss", weekly)
    await service.maintenance_add(1, "hss", once)

    state = await service.maintenance_list(1, "hss")

    thursday = parse_start_time("2026-03-26T22:00:00+00:00")  # 23:00 in Prague (CET)
    assert state.spans == (
        OpenWindow(thursday, thursday + HOUR, "Europe/Prague"),
        OpenWindow(NOW - HOUR, NOW + HOUR),
    )
    assert state.in_maintenance

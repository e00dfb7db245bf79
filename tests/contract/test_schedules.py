"""Schedules in the store, through the service, on both backends: create,
replace by key, pause/resume, delete, bad input, and materialization exactly
once per occurrence (DST instants, missed-run policies with a stopped
service, a repeat after a crash, the clock stepping back).

The clock is frozen and moved by hand; "the service is stopped" means the
materializer simply does not run while the clock moves."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from espf.clock import FrozenClock, format_ms
from espf.config import load_settings
from espf.domain import Event, EventFilter
from espf.errors import BadRequest, Conflict, NotFound
from espf.schedule_model import Advance, Firing, Schedule
from espf.schedules.decide import Decider
from espf.schedules.request import ScheduleSpec
from espf.service import Service
from espf.service.schedules import ScheduleRef
from espf.store import Store
from espf.timeparse import parse_start_time

TYPE = "Custom/NextMonth"
Decision = tuple[list[Firing], list[Advance]]


def at(text: str) -> int:
    return parse_start_time(text)


@pytest.fixture
async def service(store: Store) -> Service:
    svc = Service(store, load_settings({}), FrozenClock(at("2026-01-15 12:00:00")))
    await svc.prepare_database()
    await svc.env_create("one", 1)
    await svc.type_create(TYPE)
    return svc


def clock(service: Service) -> FrozenClock:
    assert isinstance(service.clock, FrozenClock)
    return service.clock


def move_to(service: Service, text: str) -> None:
    c = clock(service)
    c.advance(at(text) - c.now_ms())


def spec(key: str = "i_account=541", **changes: object) -> ScheduleSpec:
    base: dict[str, object] = {
        "key": key,
        "event_type": TYPE,
        "rule": "monthly on day 1 at 00:00",
        "time_zone": "Europe/Prague",
        "variables": {"i_account": 541},
    }
    return ScheduleSpec(**(base | changes))  # type: ignore[arg-type]


async def events(service: Service) -> list[Event]:
    return sorted(
        await service.event_list(EventFilter(i_env=1, limit=1000)), key=lambda e: e.start_at
    )


async def materialize(service: Service, decider: Decider | None = None) -> int:
    made = 0
    while True:
        done = await service.schedules_materialize(decider or Decider(), limit=50)
        made += done.events
        if done.schedules == 0:
            return made


async def test_create_shows_the_next_occurrence_and_get_by_key(service: Service) -> None:
    created = await service.schedule_create(1, spec())
    assert created.next_at == at("2026-01-31 23:00:00")
    assert created.catch_up == "skip" and not created.paused
    by_key = await service.schedule_get(1, ScheduleRef(key="i_account=541"))
    assert by_key == created
    assert (await service.schedule_get(1, ScheduleRef(created.i_schedule))).key == "i_account=541"


async def test_an_existing_key_is_a_conflict_unless_replaced(service: Service) -> None:
    first = await service.schedule_create(1, spec())
    with pytest.raises(Conflict) as caught:
        await service.schedule_create(1, spec(rule="daily at 02:30"))
    assert "i_account=541" in caught.value.message and "replace" in caught.value.message
    assert (await service.schedule_get(1, ScheduleRef(key="i_account=541"))).rule == first.rule
    replaced = await service.schedule_create(1, spec(rule="daily at 02:30"), replace=True)
    assert replaced.i_schedule == first.i_schedule and replaced.rule == "daily at 02:30"
    assert replaced.next_at == at("2026-01-16 01:30:00")


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"time_zone": "Europe/Pargue"}, "invalid_time_zone"),
        ({"rule": "30 2 30 2 *"}, "invalid_rule"),
        ({"rule": "monthly on day 31 at 00:00"}, "invalid_rule"),
        ({"start_time": "2026-03-01 00:00:00", "end_time": "2026-02-01 00:00:00"},
         "invalid_schedule_bounds"),
        ({"catch_up": "sometimes"}, "invalid_missed_policy"),
        ({"catch_up": "all"}, "invalid_missed_policy"),
        ({"key": " "}, "invalid_key"),
        ({"variables": {"schedule_id": 1}}, "invalid_field"),
    ],
)  # fmt: skip
async def test_bad_input_creates_nothing(
    service: Service, changes: dict[str, object], code: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await service.schedule_create(1, spec(**changes))  # type: ignore[arg-type]
    assert caught.value.code == code
    assert (await service.schedule_page(1)).schedules == []


async def test_unknown_type_and_schedule(service: Service) -> None:
    with pytest.raises(NotFound):
        await service.schedule_create(1, spec(event_type="Custom/Nope"))
    with pytest.raises(NotFound):
        await service.schedule_get(1, ScheduleRef(key="nobody"))
    assert (await service.schedule_page(1)).schedules == []


async def test_list_pages_and_filters_by_key_prefix(service: Service) -> None:
    for account in range(5):
        await service.schedule_create(1, spec(f"i_account={account}"))
    await service.schedule_create(1, spec("other"))
    page = await service.schedule_page(1, limit=2, key_prefix="i_account=")
    assert [s.key for s in page.schedules] == ["i_account=0", "i_account=1"]
    rest = await service.schedule_page(1, after=page.next_after or 0, key_prefix="i_account=")
    assert [s.key for s in rest.schedules] == ["i_account=2", "i_account=3", "i_account=4"]
    assert rest.next_after is None


async def test_each_month_start_makes_one_event_with_the_schedule_variables(
    service: Service,
) -> None:
    schedule = await service.schedule_create(1, spec())
    assert await materialize(service) == 0  # nothing due yet
    move_to(service, "2026-01-31 23:00:00")
    assert await materialize(service) == 1
    assert await materialize(service) == 0  # the same instant again: nothing
    move_to(service, "2026-04-01 00:00:00")  # in summer time the month starts at 22:00 UTC
    assert await materialize(service) == 0  # March's start is missed (skip)
    made = await events(service)
    assert [format_ms(e.start_at) for e in made] == ["2026-01-31 23:00:00"]
    assert made[0].variables == {
        "i_account": 541,
        "schedule_id": schedule.i_schedule,
        "schedule_key": "i_account=541",
        "occurrence_local_time": "2026-02-01 00:00:00+01:00",
    }
    assert (made[0].local_start, made[0].time_zone) == ("2026-02-01 00:00:00", "Europe/Prague")


async def materialize_every_5_minutes(service: Service, until: str) -> dict[str, list[str]]:
    """Run the materializer as a live service would, every 5 minutes of the
    frozen clock; the events' UTC start times by schedule key."""
    while clock(service).now_ms() < at(until):
        clock(service).advance(5 * 60_000)
        await materialize(service)
    made: dict[str, list[str]] = {}
    for e in await events(service):
        made.setdefault(e.variables["schedule_key"], []).append(format_ms(e.start_at))
    return made


async def test_spring_forward_in_three_zones(service: Service) -> None:
    move_to(service, "2026-03-28 00:00:00")
    await service.schedule_create(1, spec("prague", rule="daily at 02:30"))
    await service.schedule_create(1, spec("hourly", rule="hourly at :15"))
    move_to(service, "2026-03-07 00:00:00")
    await service.schedule_create(
        1, spec("new_york", rule="daily at 02:30", time_zone="America/New_York")
    )
    move_to(service, "2026-10-02 12:00:00")
    await service.schedule_create(
        1, spec("adelaide", rule="daily at 02:30", time_zone="Australia/Adelaide")
    )
    # Each zone's gap on its own day; the clock runs through all three.
    move_to(service, "2026-03-07 00:00:00")
    made = await materialize_every_5_minutes(service, "2026-03-09 12:00:00")
    move_to(service, "2026-03-28 00:00:00")
    made = await materialize_every_5_minutes(service, "2026-03-30 00:00:00")
    move_to(service, "2026-10-02 12:00:00")
    made = await materialize_every_5_minutes(service, "2026-10-04 12:00:00")
    # 02:30 is in each gap: the end of the gap, once.
    assert made["new_york"][:3] == [
        "2026-03-07 07:30:00",
        "2026-03-08 07:00:00",  # 03:00 EDT
        "2026-03-09 06:30:00",
    ]
    assert made["prague"][:2] == ["2026-03-28 01:30:00", "2026-03-29 01:00:00"]
    # 02:30 ACST (+09:30), then 03:00 ACDT (+10:30) at the end of the gap.
    assert made["adelaide"] == ["2026-10-02 17:00:00", "2026-10-03 16:30:00"]
    # An hourly rule: once in every real hour, none moved into the gap.
    around_the_gap = [t for t in made["hourly"] if "2026-03-28 23" <= t < "2026-03-29 03"]
    assert around_the_gap == [
        "2026-03-28 23:15:00",
        "2026-03-29 00:15:00",  # 01:15 CET
        "2026-03-29 01:15:00",  # 03:15 CEST
        "2026-03-29 02:15:00",
    ]


async def test_fall_back_fires_once_in_the_repeated_hour(service: Service) -> None:
    move_to(service, "2026-10-24 12:00:00")
    await service.schedule_create(1, spec("prague", rule="daily at 02:30"))
    await service.schedule_create(
        1, spec("sydney", rule="daily at 02:30", time_zone="Australia/Sydney")
    )
    made = await materialize_every_5_minutes(service, "2026-10-26 12:00:00")
    # 02:30 happens twice in Prague on 25 October: the first pass (CEST) only.
    assert made["prague"] == ["2026-10-25 00:30:00", "2026-10-26 01:30:00"]
    assert made["sydney"] == ["2026-10-24 15:30:00", "2026-10-25 15:30:00"]
    move_to(service, "2026-04-03 12:00:00")
    await service.schedule_create(
        1, spec("sydney", rule="daily at 02:30", time_zone="Australia/Sydney"), replace=True
    )
    made = await materialize_every_5_minutes(service, "2026-04-05 12:00:00")
    # Sydney's repeated hour on 5 April: the first pass, AEDT (+11:00), once.
    april = [t for t in made["sydney"] if t.startswith("2026-04")]
    assert april == ["2026-04-03 15:30:00", "2026-04-04 15:30:00"]


@pytest.mark.parametrize(
    ("policy", "window_s", "fired"),
    [
        ("skip", None, ["2026-05-02"]),
        ("latest", None, ["2026-05-01", "2026-05-02"]),
        ("all", 2 * 86400 + 3600, ["2026-04-30", "2026-05-01", "2026-05-02"]),
        ("all", 7 * 86400, ["2026-04-29", "2026-04-30", "2026-05-01", "2026-05-02"]),
    ],
)
async def test_missed_runs_after_a_stopped_service(
    service: Service, policy: str, window_s: int | None, fired: list[str]
) -> None:
    move_to(service, "2026-04-27 12:00:00")
    await service.schedule_create(
        1,
        spec(rule="daily at 00:00", time_zone="UTC", catch_up=policy, catch_up_window_s=window_s),
    )
    move_to(service, "2026-04-28 00:00:00")
    assert await materialize(service) == 1
    move_to(service, "2026-05-02 00:03:00")  # stopped from 28 April 12:00 until now
    await materialize(service)
    days = [format_ms(e.start_at)[:10] for e in await events(service)]
    assert days == ["2026-04-28", *fired]


async def test_paused_schedules_make_nothing_and_resume_by_their_policy(
    service: Service,
) -> None:
    await service.schedule_create(1, spec(rule="daily at 00:00", time_zone="UTC",
                                          catch_up="latest"))  # fmt: skip
    paused = await service.schedule_pause(1, ScheduleRef(key="i_account=541"))
    assert paused.paused and paused.next_at is None
    move_to(service, "2026-01-20 12:00:00")
    assert await materialize(service) == 0
    resumed = await service.schedule_resume(1, ScheduleRef(key="i_account=541"))
    assert resumed.next_at == at("2026-01-16 00:00:00")
    assert await materialize(service) == 1  # the latest missed: 20 January
    assert [format_ms(e.start_at) for e in await events(service)] == ["2026-01-20 00:00:00"]


async def test_a_clock_stepping_back_makes_no_second_event(service: Service) -> None:
    await service.schedule_create(1, spec(rule="every 10 minutes", time_zone="UTC"))
    move_to(service, "2026-01-15 12:10:00")
    assert await materialize(service) == 1
    move_to(service, "2026-01-15 12:05:00")  # NTP steps the clock back
    assert await materialize(service) == 0
    move_to(service, "2026-01-15 12:10:00")
    assert await materialize(service) == 0
    move_to(service, "2026-01-15 12:20:00")
    assert await materialize(service) == 1
    assert len(await events(service)) == 2


async def test_a_repeat_after_a_crash_makes_no_second_event(service: Service) -> None:
    """A crash after the commit but before next_at was seen to move, or a
    replace that sets the schedule back: the identity (schedule, instant) in
    the database refuses the occurrence made before."""
    schedule = await service.schedule_create(1, spec(rule="every 10 minutes", time_zone="UTC"))
    move_to(service, "2026-01-15 12:10:00")
    assert await materialize(service) == 1

    # next_at set back, as if the advance had been lost: the same occurrence is due again.
    await service.store.schedule_set_paused(
        1, schedule.i_schedule, False, at("2026-01-15 12:10:00"), clock(service).now_ms()
    )
    done = await service.schedules_materialize(Decider())
    assert (done.schedules, done.events) == (1, 0)
    assert len(await events(service)) == 1


async def test_a_crash_before_the_commit_leaves_nothing(service: Service) -> None:
    await service.schedule_create(1, spec(rule="every 10 minutes", time_zone="UTC"))
    move_to(service, "2026-01-15 12:10:00")

    def crash(schedules: Sequence[Schedule], now: int) -> Decision:
        firings, _ = Decider()(schedules, now)
        assert firings
        raise RuntimeError("killed mid-materialization")

    with pytest.raises(RuntimeError):
        await service.schedules_materialize(crash)
    assert await events(service) == []
    assert await materialize(service) == 1
    assert len(await events(service)) == 1


async def test_delete_by_key(service: Service) -> None:
    await service.schedule_create(1, spec())
    deleted = await service.schedule_delete(1, ScheduleRef(key="i_account=541"))
    assert deleted.key == "i_account=541"
    assert (await service.schedule_page(1)).schedules == []
    again = await service.schedule_create(1, spec())
    assert again.i_schedule != deleted.i_schedule


async def test_preview_in_utc_and_local_time(service: Service) -> None:
    await service.schedule_create(1, spec())
    shown = await service.schedule_preview(1, ScheduleRef(key="i_account=541"), 3)
    assert [format_ms(o.instant_ms) for o in shown] == [
        "2026-01-31 23:00:00",
        "2026-02-28 23:00:00",
        "2026-03-31 22:00:00",
    ]
    assert shown[2].local.isoformat() == "2026-04-01T00:00:00+02:00"

"""event/create with a time_zone: start_time read as local time, the instant
and the asked-for local time stored with the event. Runs once per backend,
through the service, so that PostgreSQL's batched insert is covered too."""

from __future__ import annotations

import pytest

from espf.clock import FrozenClock, format_ms
from espf.config import load_settings
from espf.domain import EventFilter
from espf.errors import BadRequest
from espf.service import Service
from espf.store import Store


@pytest.fixture
async def service(store: Store) -> Service:
    svc = Service(store, load_settings({}), FrozenClock())
    await svc.prepare_database()
    await svc.env_create("one", 1)
    await svc.type_create("Custom/NextMonth")
    return svc


@pytest.mark.parametrize(
    ("zone", "local", "utc"),
    [
        ("Europe/Prague", "2026-03-01 00:00:00", "2026-02-28 23:00:00"),
        # Spring-forward gap: the first instant after it.
        ("Europe/Prague", "2026-03-29 02:30:00", "2026-03-29 01:00:00"),
        # Fall-back: the first of the two.
        ("America/New_York", "2026-11-01 01:30:00", "2026-11-01 05:30:00"),
        ("Australia/Adelaide", "2026-10-04 02:30:00", "2026-10-03 16:30:00"),
        ("Asia/Kolkata", "2026-03-29 02:30:00.250", "2026-03-28 21:00:00.250"),
    ],
)
async def test_local_start_time_is_stored_with_its_instant(
    service: Service, zone: str, local: str, utc: str
) -> None:
    body = {"event_type": "Custom/NextMonth", "start_time": local, "time_zone": zone}
    i_event = await service.event_create(1, body)
    event = (await service.event_get(i_event, 1)).event
    assert format_ms(event.start_at) == utc
    assert (event.local_start, event.time_zone) == (local, zone)


async def test_without_a_zone_nothing_local_is_stored(service: Service) -> None:
    body = {"event_type": "Custom/NextMonth", "start_time": "2026-03-01 00:00:00"}
    event = (await service.event_get(await service.event_create(1, body), 1)).event
    assert (event.local_start, event.time_zone) == (None, None)
    assert format_ms(event.start_at) == "2026-03-01 00:00:00"


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"start_time": "2026-03-01 00:00:00", "time_zone": "Europe/Pargue"},
         "invalid_time_zone", "'Europe/Pargue'"),
        ({"start_time": "2026-03-01 00:00:00+01:00", "time_zone": "Europe/Prague"},
         "invalid_start_time", "without an offset"),
        ({"time_zone": "Europe/Prague"}, "missing_field", "needs a start_time"),
        ({"start_time": "2026-03-01 00:00:00", "time_zone": 5}, "invalid_field", "IANA"),
    ],
)  # fmt: skip
async def test_bad_zones_and_times_create_nothing(
    service: Service, body: dict[str, object], code: str, words: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await service.event_create(1, {"event_type": "Custom/NextMonth", **body})
    assert caught.value.code == code
    assert words in caught.value.message
    assert await service.event_list(EventFilter(i_env=1)) == []

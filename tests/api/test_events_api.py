"""Events over HTTP: create, get, list with filters and cursors, and the
operator actions, for each role and across environments."""

from __future__ import annotations

import pytest

from espf.clock import FrozenClock
from tests.api.conftest import ADMIN3, ADMIN4, CUSTOM_TYPE, PRODUCER3, Api, expect_error


def create(api: Api, user: tuple[str, str] = ADMIN3, **variables: object) -> int:
    body = {"event_type": CUSTOM_TYPE, "variables": variables or {"i_account": 1}}
    i_event: int = api.ok("event/create", body, user)["i_event"]
    return i_event


def test_create_records_who_created_the_event(api: Api) -> None:
    i_event = create(api, PRODUCER3)
    assert api.ok("event/get", {"i_event": i_event}, PRODUCER3)["created_by"] is not None
    cli_event = api.ok("event/get", {"i_event": api.ids["cli_event_3"]})
    assert cli_event["created_by"] is None


def test_get_answers_the_event_with_its_history(api: Api) -> None:
    detail = api.ok("event/get", {"i_event": api.ids["producer_event_3"]})
    assert detail["event_type"] == CUSTOM_TYPE
    assert detail["variables"] == {"i_account": 541}
    assert detail["state"] == "scheduled"
    assert detail["deliveries"] == []
    assert [h["state"] for h in detail["history"]] == ["scheduled"]


def test_get_errors(api: Api) -> None:
    api.error("event/get", {}, 400, "missing_field")
    api.error("event/get", {"i_event": "1"}, 400, "invalid_field")
    api.error("event/get", {"i_event": 2**64}, 400, "number_out_of_range")
    api.error("event/get", {"i_event": 2**63}, 400, "invalid_field")
    api.error("event/get", {"i_event": 1, "x": 1}, 400, "unknown_field")
    api.error("event/get", {"i_event": 999_999}, 404, "unknown_event")
    api.error("event/get", {"i_event": 1}, 401, "missing_credentials", user=None)
    api.error("event/get", {"i_event": 1}, 401, "invalid_credentials", user=("admin3", "wrong"))


def test_another_environments_event_does_not_exist(api: Api) -> None:
    api.error("event/get", {"i_event": api.ids["event_4"]}, 404, "unknown_event")
    api.ok("event/get", {"i_event": api.ids["event_4"]}, ADMIN4)
    assert api.ids["event_4"] not in ids_of(api.ok("event/list", {}))
    for method, body in (
        ("event/cancel", {"i_event": api.ids["event_4"]}),
        ("event/reschedule", {"i_event": api.ids["event_4"], "start_time": "2030-01-01 00:00:00"}),
    ):
        api.error(method, body, 404, "unknown_event")


def test_a_producer_sees_only_its_own_events(api: Api) -> None:
    own = api.ids["producer_event_3"]
    api.ok("event/get", {"i_event": own}, PRODUCER3)
    api.error("event/get", {"i_event": api.ids["cli_event_3"]}, 404, "unknown_event", PRODUCER3)
    mine = create(api, PRODUCER3)
    create(api, ADMIN3)
    assert ids_of(api.ok("event/list", {}, PRODUCER3)) == [mine, own]
    assert len(ids_of(api.ok("event/list", {}, ADMIN3))) == 4


def test_a_producer_may_not_steer_events(api: Api) -> None:
    own = api.ids["producer_event_3"]
    for method, body in (
        ("event/cancel", {"i_event": own}),
        ("event/reschedule", {"i_event": own, "start_time": "2030-01-01 00:00:00"}),
        ("event/replay", {}),
        ("delivery/retry", {"i_delivery": 1}),
    ):
        api.error(method, body, 403, "admin_required", PRODUCER3)


def ids_of(page: dict[str, object]) -> list[int]:
    events = page["events"]
    assert isinstance(events, list)
    return [e["i_event"] for e in events]


def test_list_filters(api: Api) -> None:
    clock = api.service.clock
    assert isinstance(clock, FrozenClock)
    clock.advance(60_000)
    later = create(api, i_account=777)
    api.ok("event/cancel", {"i_event": later})
    assert ids_of(api.ok("event/list", {"variable": "i_account=777"})) == [later]
    assert ids_of(api.ok("event/list", {"state": "cancelled"})) == [later]
    assert later not in ids_of(api.ok("event/list", {"state": "scheduled"}))
    assert ids_of(api.ok("event/list", {"event_type": "Account/New"})) == []
    assert ids_of(api.ok("event/list", {"from": "2023-11-14 22:14:00"})) == [later]
    assert later not in ids_of(api.ok("event/list", {"to": "2023-11-14 22:14:00"}))
    assert len(ids_of(api.ok("event/list", {"event_type": CUSTOM_TYPE}))) == 3
    assert len(ids_of(api.ok("event/list", {"event_type": f" {CUSTOM_TYPE} "}))) == 3


def test_list_errors(api: Api) -> None:
    api.error("event/list", {"state": "nope"}, 400, "invalid_field")
    api.error("event/list", {"variable": "no equals sign"}, 400, "invalid_filter")
    api.error("event/list", {"from": "yesterday"}, 400, "invalid_start_time")
    api.error("event/list", {"limit": 0}, 400, "invalid_field")
    api.error("event/list", {"limit": 1001}, 400, "invalid_field")
    api.error("event/list", {"cursor": "not-a-cursor"}, 400, "invalid_cursor")
    api.error("event/list", {"event_type": "Custom/Nope"}, 404, "unknown_event_type")
    api.error("event/list", {"page": 2}, 400, "unknown_field")


def test_cursor_pages_through_everything_once(api: Api) -> None:
    created = [create(api, i_account=n) for n in range(7)]
    expected = sorted([*created, api.ids["cli_event_3"], api.ids["producer_event_3"]], reverse=True)
    seen: list[int] = []
    body: dict[str, object] = {"limit": 2}
    pages = 0
    while True:
        page = api.ok("event/list", body)
        pages += 1
        seen += ids_of(page)
        if page["next_cursor"] is None:
            break
        assert isinstance(page["next_cursor"], str)
        body = {"limit": 2, "cursor": page["next_cursor"]}
    assert seen == expected
    assert pages == 5  # 9 events, 2 a page; the last page says so itself


def test_a_cursor_of_an_exact_last_page_is_null(api: Api) -> None:
    page = api.ok("event/list", {"limit": 2})
    assert len(page["events"]) == 2
    assert page["next_cursor"] is None


def test_a_cursor_grants_nothing_across_environments(api: Api) -> None:
    page = api.ok("event/list", {"limit": 1}, ADMIN4)
    assert page["next_cursor"] is None
    first = api.ok("event/list", {"limit": 1})
    assert first["next_cursor"] is not None
    other = api.ok("event/list", {"cursor": first["next_cursor"]}, ADMIN4)
    assert all(e["i_env"] == 4 for e in other["events"])


def test_cancel_reschedule_and_replay(api: Api) -> None:
    i_event = create(api)
    moved = api.ok("event/reschedule", {"i_event": i_event, "start_time": "2030-01-01 00:00:00"})
    assert moved["start_time"] == "2030-01-01 00:00:00"
    cancelled = api.ok("event/cancel", {"i_event": i_event, "reason": "test"})
    assert cancelled["state"] == "cancelled"
    api.error("event/cancel", {"i_event": i_event}, 409, "not_cancellable")
    assert api.ok("event/replay", {"dry_run": True}) == {"matched": 0, "dry_run": True}
    assert api.ok("event/replay", {}) == {"replayed": 0, "dry_run": False}
    api.error("event/replay", {"states": ["pending"]}, 400, "invalid_field")
    api.error("delivery/retry", {"i_delivery": 12345}, 404, "unknown_delivery")


def test_create_errors(api: Api) -> None:
    api.error("event/create", {"event_type": "Custom/Nope"}, 404, "unknown_event_type")
    api.error("event/create", {"event_type": CUSTOM_TYPE, "extra": 1}, 400, "unknown_field")
    nul = {"event_type": CUSTOM_TYPE, "variables": {"note": ["a\x00b"]}}
    api.error("event/create", nul, 400, "invalid_field")
    # The six characters \u0000 are no NUL: accepted.
    api.ok("event/create", {"event_type": CUSTOM_TYPE, "variables": {"path": "C:\\u0000"}})
    response = api.client.post("/espf/v1/event/create", content=b"{not json", auth=ADMIN3)
    expect_error(response, 400, "malformed_json")


@pytest.mark.parametrize("method", ["event/create", "event/list", "handler/create", "user/create"])
def test_every_body_is_limited(api: Api, method: str) -> None:
    limit = api.service.settings.max_body_bytes
    response = api.client.post(
        f"/espf/v1/{method}",
        content=b'{"a": "' + b"x" * limit + b'"}',
        headers={"Content-Type": "application/json"},
        auth=ADMIN3,
    )
    expect_error(response, 413, "payload_too_large")


def test_create_with_a_time_zone_shows_both_times(api: Api) -> None:
    body = {
        "event_type": CUSTOM_TYPE,
        "start_time": "2026-03-29 02:30:00",
        "time_zone": "Europe/Prague",
    }
    i_event = api.ok("event/create", body)["i_event"]
    event = api.ok("event/get", {"i_event": i_event})
    # In the spring-forward gap: the first instant after it.
    assert event["start_time"] == "2026-03-29 01:00:00"
    assert event["local_start_time"] == "2026-03-29 02:30:00"
    assert event["time_zone"] == "Europe/Prague"
    plain = api.ok("event/get", {"i_event": api.ids["producer_event_3"]})
    assert (plain["local_start_time"], plain["time_zone"]) == (None, None)


def test_an_unknown_time_zone_is_a_400_naming_it(api: Api) -> None:
    before = api.ok("event/list", {})
    body = {
        "event_type": CUSTOM_TYPE,
        "start_time": "2026-03-01 00:00:00",
        "time_zone": "Mars/Base",
    }
    error = api.error("event/create", body, 400, "invalid_time_zone")
    assert "'Mars/Base'" in error["message"]
    assert api.ok("event/list", {}) == before

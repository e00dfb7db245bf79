"""Schedules over HTTP: create, replace by key, list, get, pause, resume,
delete and preview, each refusal a 4xx that creates nothing, and another
environment's schedules invisible."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import ADMIN4, CUSTOM_TYPE, PRODUCER3, Api

BODY = {
    "key": "i_account=541",
    "event_type": CUSTOM_TYPE,
    "variables": {"i_account": 541},
    "rule": "monthly on day 1 at 00:00",
    "time_zone": "Europe/Prague",
}


def keys(api: Api, user: tuple[str, str] | None = None) -> list[str]:
    answer: dict[str, Any] = (
        api.ok("schedule/list", {}, user) if user else api.ok("schedule/list", {})
    )
    return [s["key"] for s in answer["schedules"]]


def test_create_get_and_preview(api: Api) -> None:
    created = api.ok("schedule/create", BODY)
    # The frozen clock is 2023-11-14 22:13:20 UTC.
    assert created["next_time"] == "2023-11-30 23:00:00"
    assert created["next_local_time"] == "2023-12-01 00:00:00+01:00"
    assert created["catch_up"] == "skip" and created["paused"] is False
    assert api.ok("schedule/get", {"key": "i_account=541"}) == created
    assert api.ok("schedule/get", {"i_schedule": created["i_schedule"]}) == created
    shown = api.ok("schedule/preview", {"key": "i_account=541", "count": 2})["occurrences"]
    assert shown == [
        {"time": "2023-11-30 23:00:00", "local_time": "2023-12-01 00:00:00+01:00", "moved": False},
        {"time": "2023-12-31 23:00:00", "local_time": "2024-01-01 00:00:00+01:00", "moved": False},
    ]


def test_a_key_that_exists_is_a_409_unless_replaced(api: Api) -> None:
    first = api.ok("schedule/create", BODY)
    error = api.error("schedule/create", {**BODY, "rule": "daily at 02:30"}, 409)
    assert "i_account=541" in error["message"] and "replace" in error["message"]
    assert api.ok("schedule/get", {"key": "i_account=541"})["rule"] == BODY["rule"]
    replaced = api.ok("schedule/create", {**BODY, "rule": "daily at 02:30", "replace": True})
    assert replaced["i_schedule"] == first["i_schedule"] and replaced["rule"] == "daily at 02:30"
    assert keys(api) == ["i_account=541"]


def test_bad_input_is_a_400_and_creates_nothing(api: Api) -> None:
    for changes, code, words in (
        ({"time_zone": "Europe/Pargue"}, "invalid_time_zone", "Europe/Pargue"),
        ({"rule": "every day at noon"}, "invalid_rule", "rule"),
        ({"rule": "30 2 30 2 *"}, "invalid_rule", "never"),
        ({"start_time": "2024-03-01 00:00:00", "end_time": "2024-01-01 00:00:00"},
         "invalid_schedule_bounds", "after its start"),
        ({"catch_up": "all"}, "invalid_missed_policy", "window"),
        ({"variables": [1]}, "invalid_field", "variables"),
        ({"unknown": 1}, "unknown_field", "unknown"),
    ):  # fmt: skip
        error = api.error("schedule/create", {**BODY, **changes}, 400, code)
        assert words in error["message"], error
    api.error("schedule/create", {**BODY, "event_type": "Custom/Nope"}, 404)
    assert keys(api) == []


def test_pause_resume_delete_by_key(api: Api) -> None:
    api.ok("schedule/create", BODY)
    paused = api.ok("schedule/pause", {"key": "i_account=541"})
    assert paused["paused"] is True and paused["next_time"] is None
    resumed = api.ok("schedule/resume", {"key": "i_account=541"})
    assert resumed["paused"] is False and resumed["next_time"] == "2023-11-30 23:00:00"
    deleted = api.ok("schedule/delete", {"key": "i_account=541"})
    assert deleted["deleted"] is True and deleted["key"] == "i_account=541"
    api.error("schedule/get", {"key": "i_account=541"}, 404, "unknown_schedule")
    api.error("schedule/get", {}, 400, "missing_field")


def test_list_pages_and_environments_and_roles(api: Api) -> None:
    for account in range(3):
        api.ok("schedule/create", {**BODY, "key": f"i_account={account}"})
    api.ok("schedule/create", {**BODY, "key": "other"})
    page = api.ok("schedule/list", {"limit": 2, "key_prefix": "i_account="})
    assert [s["key"] for s in page["schedules"]] == ["i_account=0", "i_account=1"]
    rest = api.ok("schedule/list", {"after": page["next_after"], "key_prefix": "i_account="})
    assert [s["key"] for s in rest["schedules"]] == ["i_account=2"]
    assert rest["next_after"] is None
    assert keys(api, ADMIN4) == []
    api.error("schedule/get", {"key": "other"}, 404, user=ADMIN4)
    api.error("schedule/create", BODY, 403, user=PRODUCER3)

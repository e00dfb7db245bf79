"""Maintenance windows over HTTP: add (one-off and recurring), list with the
window open now, remove; bad windows are refused saying why and change
nothing; an event whose delivery waits says why."""

from __future__ import annotations

from datetime import timedelta

from espf.clock import format_ms
from tests.api.conftest import Api

NEW = {"name": "Hss", "url": "http://127.0.0.1:9/hook", "auth": "none"}
HOUR = timedelta(hours=1)
BAD = "invalid_maintenance_window"


def _at(api: Api, delta: timedelta) -> str:
    """The service's (frozen) now moved by ``delta``, as the API writes times."""
    return format_ms(api.service.clock.now_ms() + int(delta.total_seconds() * 1000))


def test_add_list_and_remove_windows(api: Api) -> None:
    api.ok("handler/create", NEW)
    one_off = api.ok(
        "handler/maintenance/add",
        {
            "name": "Hss",
            "start": _at(api, timedelta(hours=-1)),
            "end": _at(api, timedelta(hours=2)),
        },
    )
    recurring = api.ok(
        "handler/maintenance/add",
        {"name": "Hss", "rule": "weekly on fri at 23:00", "time_zone": "Europe/Prague",
         "duration": 14400},
    )  # fmt: skip
    assert recurring["rule"] == "weekly on fri at 23:00" and recurring["start"] is None
    listed = api.ok("handler/maintenance/list", {"name": "Hss"})
    assert listed["in_maintenance"] is True
    assert listed["reason"].startswith("maintenance until ")
    assert [w["id"] for w in listed["windows"]] == [one_off["id"], recurring["id"]]
    metrics = api.client.get("/metrics").text
    assert 'espf_handler_in_maintenance{handler="Hss"} 1.0' in metrics

    after = api.ok("handler/maintenance/remove", {"name": "Hss", "id": one_off["id"]})
    assert [w["id"] for w in after["windows"]] == [recurring["id"]]
    assert after["in_maintenance"] is False  # the recurring one is not open now
    api.error(
        "handler/maintenance/remove", {"name": "Hss", "id": one_off["id"]}, 404, "unknown_window"
    )


def test_bad_windows_are_refused_and_change_nothing(api: Api) -> None:
    api.ok("handler/create", NEW)
    for body, code in [
        ({"name": "Hss"}, BAD),
        ({"name": "Hss", "start": "tomorrow", "end": _at(api, HOUR)}, BAD),
        ({"name": "Hss", "start": _at(api, -2 * HOUR), "end": _at(api, -HOUR)}, BAD),
        ({"name": "Hss", "rule": "daily at 01:00", "duration": 0}, "invalid_field"),
        ({"name": "Hss", "rule": "daily at 25:00", "duration": 60}, "invalid_rule"),
        ({"name": "Hss", "rule": "daily at 01:00", "time_zone": "Mars/Base", "duration": 60},
         "invalid_time_zone"),
        ({"name": "Hss", "colour": "red"}, "unknown_field"),
    ]:  # fmt: skip
        api.error("handler/maintenance/add", body, 400, code)
    api.error("handler/maintenance/add", {"name": "Nope", "rule": "daily at 01:00",
              "duration": 60}, 404, "unknown_handler")  # fmt: skip
    assert api.ok("handler/maintenance/list", {"name": "Hss"})["windows"] == []


def test_a_delivery_held_by_a_window_says_why(api: Api) -> None:
    api.ok("handler/create", NEW)
    api.ok("handler/subscribe", {"name": "Hss", "event_type": "Account/New"})
    api.ok(
        "handler/maintenance/add",
        {
            "name": "Hss",
            "start": _at(api, timedelta(hours=-1)),
            "end": _at(api, timedelta(hours=2)),
        },
    )
    body = {"event_type": "Account/New", "variables": {"i_account": 1}}
    i_event = api.ok("event/create", body)["i_event"]
    # A dispatcher's round: the event's delivery is made, and not sent.
    claimed = api.run(api.service.store.dispatch_due, "node", api.service.clock.now_ms(), 100)
    assert "Hss" not in {d.handler.name for d in claimed}
    detail = api.ok("event/get", {"i_event": i_event})
    (delivery,) = detail["deliveries"]
    assert delivery["state"] == "pending" and delivery["attempts"] == 0
    assert delivery["waiting"].startswith("maintenance until ")
    assert delivery["waiting"].endswith(" UTC")

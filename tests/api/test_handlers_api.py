"""Handlers and subscriptions over HTTP: every method, its errors, roles,
isolation, and deletion that keeps the history."""

from __future__ import annotations

from typing import Any

import pytest

from espf.circuit_breaker import DEFAULT_BREAKER_AFTER
from espf.domain import DeliveryState
from tests.api.conftest import ADMIN4, CUSTOM_TYPE, PRODUCER3, Api

NEW = {"name": "Second", "url": "http://127.0.0.1:9/hook", "auth": "none"}


def test_create_with_every_setting(api: Api) -> None:
    created = api.ok(
        "handler/create",
        {
            "name": "Full",
            "url": "https://app.example.com/a",
            "auth": "custom",
            "auth_scheme": "Token",
            "auth_token": "t0ken",
            "auth_header": "X-Auth",
            "timeout": 12.5,
            "retry": {"schedule": "1,5,30", "max_attempts": 4, "max_age": 3600},
            "auto_pause_after": 600,
            "ordered": True,
            "order_key": "i_customer",
            "tls": {"verify": False},
            "enabled": False,
        },
    )
    assert created["auth"] == "custom"
    assert created["auth_token"] == "********"
    assert created["auth_header"] == "X-Auth"
    assert created["timeout"] == 12.5
    assert created["retry"]["schedule"] == "1,5,30"
    assert created["retry"]["max_attempts"] == 4
    assert created["ordered"] is True and created["order_key"] == "i_customer"
    assert created["tls"]["verify"] is False
    assert created["enabled"] is False
    assert api.ok("handler/get", {"name": "Full"}) == created


def test_create_errors(api: Api) -> None:
    api.error("handler/create", {"name": "X"}, 400, "invalid_handler")  # no url
    api.error("handler/create", {**NEW, "url": "ftp://x"}, 400, "invalid_handler")
    api.error("handler/create", {**NEW, "name": "has space"}, 400, "invalid_handler")
    api.error("handler/create", {**NEW, "auth": "kerberos"}, 400, "invalid_field")
    api.error("handler/create", {**NEW, "timeout": 0}, 400, "invalid_field")
    api.error("handler/create", {**NEW, "timeout": True}, 400, "invalid_field")
    api.error("handler/create", {**NEW, "retry": {"factor": 1e300}}, 400, "invalid_field")
    api.error(
        "handler/create", {**NEW, "retry": {"schedule": "1,1e400"}}, 400, "invalid_retry_policy"
    )
    api.error("handler/create", {**NEW, "retry": {"speed": 1}}, 400, "unknown_field")
    api.error("handler/create", {**NEW, "tls": {"ca_file": "/no/such"}}, 400, "invalid_handler")
    api.error("handler/create", {**NEW, "colour": "red"}, 400, "unknown_field")
    api.error("handler/create", {**NEW, "name": "EventSender"}, 409)
    api.error("handler/create", {**NEW, "login": "a\x00b"}, 400, "invalid_field")


def test_update_changes_only_what_is_given(api: Api) -> None:
    api.ok("handler/create", {**NEW, "retry": {"max_attempts": 3, "base": 2}})
    updated = api.ok("handler/update", {"name": "Second", "timeout": 5, "retry": {"base": 4}})
    assert updated["timeout"] == 5
    assert updated["url"] == NEW["url"]
    assert updated["retry"]["max_attempts"] == 3 and updated["retry"]["base"] == 4
    reset = api.ok("handler/update", {"name": "Second", "retry": {}})
    assert set(reset["retry"].values()) == {None}
    api.error("handler/update", {"name": "Nope", "timeout": 5}, 404, "unknown_handler")
    api.error("handler/update", {"timeout": 5}, 400, "missing_field")


def test_enable_disable_pause_resume(api: Api) -> None:
    assert api.ok("handler/disable", {"name": "EventSender"})["enabled"] is False
    assert api.ok("handler/enable", {"name": "EventSender"})["enabled"] is True
    paused = api.ok("handler/pause", {"name": "EventSender", "reason": "maintenance"})
    assert paused["paused"] is True and paused["paused_reason"] == "maintenance"
    assert api.ok("handler/resume", {"name": "EventSender"})["paused"] is False
    assert api.ok("handler/blocked_keys", {}) == {"blocked_keys": []}
    assert api.ok("handler/blocked_keys", {"name": "EventSender"}) == {"blocked_keys": []}


def test_list_shows_only_the_callers_environment(api: Api) -> None:
    api.ok("handler/create", NEW)
    three = api.ok("handler/list")["handlers"]
    assert [(h["name"], h["i_env"]) for h in three] == [
        ("EventSender", 3),
        ("Retired", 3),
        ("Second", 3),
    ]
    four = api.ok("handler/list", {}, ADMIN4)["handlers"]
    assert [(h["name"], h["i_env"]) for h in four] == [("EventSender", 4)]


def test_subscriptions(api: Api) -> None:
    api.ok("handler/create", NEW)
    assert api.ok("handler/subscriptions", {"name": "Second"}) == {
        "handler": "Second",
        "event_types": [],
    }
    answer = api.ok("handler/subscribe", {"name": "Second", "event_type": " Account/New "})
    assert answer == {"handler": "Second", "event_type": "Account/New", "subscribed": True}
    assert api.ok("handler/subscriptions", {"name": "Second"})["event_types"] == ["Account/New"]
    api.ok("handler/unsubscribe", {"name": "Second", "event_type": "Account/New"})
    api.error(
        "handler/unsubscribe",
        {"name": "Second", "event_type": "Account/New"},
        404,
        "not_subscribed",
    )
    api.error(
        "handler/subscribe",
        {"name": "Second", "event_type": "Custom/Nope"},
        404,
        "unknown_event_type",
    )
    added = api.ok("handler/subscribe_all", {"name": "Second"})["added"]
    assert added == len(api.ok("event_type/list")["event_types"])


def test_another_environments_handler_does_not_exist(api: Api) -> None:
    api.ok("handler/create", NEW, ADMIN4)
    for method, body in (
        ("handler/get", {"name": "Second"}),
        ("handler/update", {"name": "Second", "timeout": 1}),
        ("handler/delete", {"name": "Second"}),
        ("handler/enable", {"name": "Second"}),
        ("handler/disable", {"name": "Second"}),
        ("handler/pause", {"name": "Second"}),
        ("handler/resume", {"name": "Second"}),
        ("handler/blocked_keys", {"name": "Second"}),
        ("handler/subscriptions", {"name": "Second"}),
        ("handler/subscribe", {"name": "Second", "event_type": CUSTOM_TYPE}),
        ("handler/unsubscribe", {"name": "Second", "event_type": CUSTOM_TYPE}),
        ("handler/subscribe_all", {"name": "Second"}),
    ):
        api.error(method, body, 404, "unknown_handler")
    assert api.ok("handler/get", {"name": "Second"}, ADMIN4)["i_env"] == 4


@pytest.mark.parametrize(
    "method",
    [
        "handler/create",
        "handler/get",
        "handler/update",
        "handler/delete",
        "handler/enable",
        "handler/disable",
        "handler/list",
        "handler/pause",
        "handler/resume",
        "handler/blocked_keys",
        "handler/subscriptions",
        "handler/subscribe",
        "handler/unsubscribe",
        "handler/subscribe_all",
    ],
)
def test_a_producer_may_not_touch_handlers(api: Api, method: str) -> None:
    api.error(method, {"name": "EventSender"}, 403, "admin_required", PRODUCER3)


def dispatch(api: Api) -> list[Any]:
    return api.run(api.service.store.dispatch_due, "node", api.service.clock.now_ms(), 100)


def test_delete_waits_for_unfinished_deliveries_and_keeps_history(api: Api) -> None:
    assert dispatch(api), "the seeded events are due: their deliveries are now in flight"
    answer = api.error("handler/delete", {"name": "EventSender"}, 409, "handler_busy")
    assert "unfinished" in answer["message"]
    api.run(api.service.store.node_release, "node", api.service.clock.now_ms())
    i_event = api.ids["producer_event_3"]
    api.ok("event/cancel", {"i_event": i_event})
    api.ok("event/cancel", {"i_event": api.ids["cli_event_3"]})
    deleted = api.ok("handler/delete", {"name": "EventSender"})
    assert deleted["deleted"] is True
    assert deleted["history_name"].startswith("EventSender (deleted #")
    api.error("handler/get", {"name": "EventSender"}, 404, "unknown_handler")
    api.error("handler/delete", {"name": "EventSender"}, 404, "unknown_handler")
    assert [h["name"] for h in api.ok("handler/list")["handlers"]] == ["Retired"]
    detail = api.ok("event/get", {"i_event": i_event})
    assert [d["handler"] for d in detail["deliveries"]] == [deleted["history_name"]]
    assert detail["deliveries"][0]["state"] == DeliveryState.CANCELLED
    # A finished delivery of a deleted handler is never sent again.
    i_delivery = detail["deliveries"][0]["i_delivery"]
    api.error("delivery/retry", {"i_delivery": i_delivery}, 409, "not_retryable")
    assert api.ok("event/replay", {"dry_run": True})["matched"] == 0
    # The name is free again, with none of the old subscriptions.
    api.ok("handler/create", {**NEW, "name": "EventSender"})
    assert api.ok("handler/subscriptions", {"name": "EventSender"})["event_types"] == []


def test_delivery_limits_are_set_shown_and_removed(api: Api) -> None:
    created = api.ok("handler/create", {**NEW, "max_in_flight": 4, "max_rate": 50})
    # Without rate_burst the bucket holds one token (rate_limits.DEFAULT_BURST).
    assert (created["max_in_flight"], created["max_rate"], created["rate_burst"]) == (4, 50, 1)
    updated = api.ok("handler/update", {"name": "Second", "rate_burst": 20})
    assert (updated["max_in_flight"], updated["rate_burst"]) == (4, 20)
    cleared = api.ok("handler/update", {"name": "Second", "max_in_flight": 0, "max_rate": 0})
    assert (cleared["max_in_flight"], cleared["max_rate"], cleared["rate_burst"]) == (None,) * 3


def test_the_breaker_and_the_effective_rate_are_shown(api: Api) -> None:
    created = api.ok("handler/create", {**NEW, "max_rate": 50})
    assert created["breaker_after"] == DEFAULT_BREAKER_AFTER  # the default, said as a number
    assert (created["effective_rate"], created["failures_in_row"]) == (50, 0)
    assert created["circuit"] == {"open": False, "opened_at": None, "next_probe_at": None}
    off = api.ok("handler/update", {"name": "Second", "breaker_after": 0, "max_rate": 0})
    assert (off["breaker_after"], off["effective_rate"]) == (0, None)
    assert api.ok("handler/update", {"name": "Second", "breaker_after": 3})["breaker_after"] == 3


@pytest.mark.parametrize(
    "limits",
    [
        {"breaker_after": -1},
        {"breaker_after": 2_000_000},
        {"breaker_after": "often"},
        {"max_in_flight": -1},
        {"max_in_flight": 2.5},
        {"max_in_flight": True},
        {"max_rate": -1},
        {"max_rate": "fast"},
        {"max_rate": 1e9},
        {"rate_burst": -3},
    ],
)
def test_bad_delivery_limits_are_refused_and_change_nothing(
    api: Api, limits: dict[str, Any]
) -> None:
    message = api.error("handler/create", {**NEW, **limits}, 400, "invalid_field")
    assert next(iter(limits)) in message["message"]
    api.error("handler/get", {"name": "Second"}, 404, "unknown_handler")


def test_a_rate_too_small_to_mean_anything_is_refused(api: Api) -> None:
    answer = api.error("handler/create", {**NEW, "max_rate": 0.001}, 400, "invalid_handler")
    assert "max_rate must be at least" in answer["message"]

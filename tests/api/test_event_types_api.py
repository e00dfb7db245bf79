"""Event types over HTTP: shared by every environment, deletable only when
nothing anywhere uses them, and the refusal tells nothing of others."""

from __future__ import annotations

from tests.api.conftest import ADMIN3, ADMIN4, CUSTOM_TYPE, PRODUCER3, Api


def test_list_and_create(api: Api) -> None:
    created = api.ok("event_type/create", {"name": " Custom/Later "})
    assert created == {"i_event_type": 10002, "name": "Custom/Later", "builtin": False}
    names = [t["name"] for t in api.ok("event_type/list", {}, ADMIN4)["event_types"]]
    assert "Custom/Later" in names and "Account/New" in names
    api.error("event_type/create", {"name": "Custom/Later"}, 409)
    api.error("event_type/create", {"name": "NotCustom"}, 400, "invalid_event_type")
    api.error("event_type/create", {}, 400, "missing_field")


def test_delete_an_unused_type_and_never_reuse_its_id(api: Api) -> None:
    api.ok("event_type/create", {"name": "Custom/Gone"})
    deleted = api.ok("event_type/delete", {"name": "Custom/Gone"})
    assert deleted == {
        "i_event_type": 10002,
        "name": "Custom/Gone",
        "builtin": False,
        "deleted": True,
    }
    api.error("event_type/delete", {"name": "Custom/Gone"}, 404, "unknown_event_type")
    api.error("event/create", {"event_type": "Custom/Gone"}, 404, "unknown_event_type")
    again = api.ok("event_type/create", {"name": "Custom/Gone"})
    assert again["i_event_type"] == 10003


def test_a_used_type_is_kept_and_the_refusal_names_only_what_the_caller_sees(api: Api) -> None:
    answer = api.error("event_type/delete", {"name": CUSTOM_TYPE}, 409, "event_type_in_use")
    assert "EventSender" in answer["message"]
    assert "other environments" in answer["message"]
    api.ok("event_type/create", {"name": "Custom/OnlyIn4"})
    api.ok("handler/subscribe", {"name": "EventSender", "event_type": "Custom/OnlyIn4"}, ADMIN4)
    answer = api.error("event_type/delete", {"name": "Custom/OnlyIn4"}, 409, "event_type_in_use")
    assert "EventSender" not in answer["message"]  # environment 4's handler is not named
    assert answer["message"].endswith("subscriptions or events in other environments")


def test_builtin_types_are_kept(api: Api) -> None:
    api.error("event_type/delete", {"name": "Account/New"}, 409, "builtin_event_type")


def test_a_type_used_only_by_events_is_kept(api: Api) -> None:
    api.ok("event_type/create", {"name": "Custom/Evented"})
    api.ok("event/create", {"event_type": "Custom/Evented"}, PRODUCER3)
    answer = api.error("event_type/delete", {"name": "Custom/Evented"}, 409, "event_type_in_use")
    assert "1 event(s)" in answer["message"]


def test_producers_may_not_manage_types(api: Api) -> None:
    for method in ("event_type/list", "event_type/create", "event_type/delete"):
        api.error(method, {"name": "Custom/X"}, 403, "admin_required", PRODUCER3)
    assert ADMIN3  # the administrator may, as the tests above show

"""API users over HTTP: administrators manage their own environment's users."""

from __future__ import annotations

import logging

import pytest

from tests.api.conftest import ADMIN3, ADMIN4, PRODUCER3, Api


def test_create_list_and_sign_in(api: Api) -> None:
    created = api.ok("user/create", {"login": "billing", "password": "billing-password"})
    assert created["role"] == "producer" and created["i_env"] == 3
    assert "password" not in created and "password_hash" not in created
    logins = [u["login"] for u in api.ok("user/list")["users"]]
    assert logins == ["admin3", "producer3", "retired", "billing"]
    assert [u["login"] for u in api.ok("user/list", None, ADMIN4)["users"]] == ["admin4"]
    api.ok("event/create", {"event_type": "Account/New"}, ("billing", "billing-password"))
    admin = api.ok("user/create", {"login": "ops", "password": "ops-password", "role": "admin"})
    assert admin["role"] == "admin"


def test_create_errors(api: Api) -> None:
    api.error("user/create", {"login": "x y", "password": "long-enough"}, 400)
    api.error("user/create", {"login": "short", "password": "short"}, 400)
    api.error("user/create", {"login": "r", "password": "long-enough", "role": "root"}, 400)
    api.error("user/create", {"login": "admin4", "password": "long-enough"}, 409)
    api.error(
        "user/create", {"login": "a", "password": "long-enough", "env": 4}, 400, "unknown_field"
    )


def test_delete(api: Api) -> None:
    api.ok("user/delete", {"login": "producer3"})
    api.error("event/create", {"event_type": "Account/New"}, 401, user=PRODUCER3)
    api.error("user/delete", {"login": "producer3"}, 404, "unknown_user")
    api.error("user/delete", {"login": "admin3"}, 409, "own_user")


def test_the_last_administrator_stays(api: Api) -> None:
    api.ok("user/create", {"login": "ops", "password": "ops-password", "role": "admin"})
    ops = ("ops", "ops-password")
    api.ok("user/delete", {"login": "admin3"}, ops)
    api.error("user/set_role", {"login": "ops", "role": "producer"}, 409, "own_user", ops)
    api.ok("user/create", {"login": "ops2", "password": "ops-password", "role": "admin"}, ops)
    api.ok("user/set_role", {"login": "ops2", "role": "producer"}, ops)
    # ops is now the only administrator: a producer cannot remove it, and nobody else can.
    api.error("user/delete", {"login": "ops"}, 403, "admin_required", ("ops2", "ops-password"))


def test_set_role(api: Api) -> None:
    assert len(api.ok("event/list", {}, PRODUCER3)["events"]) == 1  # its own
    promoted = api.ok("user/set_role", {"login": "producer3", "role": "admin"})
    assert promoted["role"] == "admin"
    assert len(api.ok("event/list", {}, PRODUCER3)["events"]) == 2  # the environment's
    api.ok("user/set_role", {"login": "producer3", "role": "producer"})
    api.error("user/set_role", {"login": "producer3"}, 400, "missing_field")
    api.error("user/set_role", {"login": "producer3", "role": "root"}, 400, "invalid_field")


def test_another_environments_users_do_not_exist(api: Api) -> None:
    api.error("user/delete", {"login": "admin4"}, 404, "unknown_user")
    api.error("user/set_role", {"login": "admin4", "role": "producer"}, 404, "unknown_user")
    api.ok("user/list", {}, ADMIN4)


def test_producers_may_not_manage_users(api: Api) -> None:
    for method in ("user/create", "user/list", "user/delete", "user/set_role"):
        api.error(method, {"login": "x"}, 403, "admin_required", PRODUCER3)
    assert ADMIN3


# -- weak passwords, allowed explicitly ----------------------------------------------
SEED_AUTHORIZATION = "Basic dXNlcm5hbWU6c2VjcmV0"  # the seed request's: username:secret


def test_the_seeds_credential_with_the_explicit_opt_in(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    refused = api.error("user/create", {"login": "username", "password": "secret"}, 400)
    assert refused["error"] == "weak_password" and "allow_weak_password" in refused["message"]
    with caplog.at_level(logging.WARNING, logger="espf.users"):
        created = api.ok(
            "user/create",
            {"login": "username", "password": "secret", "allow_weak_password": True},
        )
    assert created["weak_password"] is True and created["role"] == "producer"
    assert "'username'" in caplog.text and "allowed explicitly" in caplog.text
    listed = {u["login"]: u["weak_password"] for u in api.ok("user/list")["users"]}
    assert listed["username"] is True and listed["admin3"] is False

    # The seed's request, literally.
    response = api.client.post(
        "/espf/v1/event/create",
        content=b'{"event_type": "Custom/NextMonth", "variables": {"i_account": 541}, '
        b'"start_time": "2021-03-01 00:00:00"}',
        headers={"Authorization": SEED_AUTHORIZATION, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["i_event"] and response.json()["i_event"] > 0


def test_set_password(api: Api) -> None:
    api.error("user/set_password", {"login": "producer3", "password": "short"}, 400)
    weak = api.ok(
        "user/set_password",
        {"login": "producer3", "password": "short", "allow_weak_password": True},
    )
    assert weak["weak_password"] is True
    api.error("event/list", {}, 401, user=PRODUCER3)  # the old password is gone
    api.ok("event/list", {}, ("producer3", "short"))
    strong = api.ok("user/set_password", {"login": "producer3", "password": "long-enough-now"})
    assert strong["weak_password"] is False
    api.error("user/set_password", {"login": "admin4", "password": "long-enough"}, 404)
    producer = ("producer3", "long-enough-now")
    api.error("user/set_password", {"login": "producer3", "password": "x"}, 403, user=producer)

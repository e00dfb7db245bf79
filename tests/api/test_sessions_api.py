"""/rest/Session/* and Bearer access tokens, driven by a client that works
like the PHP libraries written for the original ESPF (tests/php_like_client.py),
on the real app over SQLite with a clock the tests move. The same client
runs against two real API processes on PostgreSQL in tests/e2e."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from espf.clock import FrozenClock
from espf.domain import Role
from tests.api.conftest import ADMIN3, PRODUCER3, Api
from tests.php_like_client import AuthFailed, Http, PhpLikeClient, decode_token

EVENT = {"event_type": "Custom/NextMonth", "variables": {"i_account": 541}}


def clock_of(api: Api) -> FrozenClock:
    clock = api.service.clock
    assert isinstance(clock, FrozenClock)
    return clock


def php_client(api: Api, login: str, **secret: str) -> PhpLikeClient:
    clock = clock_of(api)
    http: Http = api.client  # type: ignore[assignment]  # TestClient.post takes more
    return PhpLikeClient(http, {"login": login, **secret}, lambda: clock.now_ms() / 1000)


def login(api: Api, user: tuple[str, str] = PRODUCER3) -> dict[str, Any]:
    response = api.client.post(
        "/rest/Session/login", json={"params": {"login": user[0], "password": user[1]}}
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_event(api: Api, token: str) -> Any:
    return api.client.post("/espf/v1/event/create", json=EVENT, headers=bearer(token))


def test_login_answers_what_the_libraries_read(api: Api) -> None:
    answer = login(api)
    assert set(answer) == {"access_token", "refresh_token", "expires_at", "session_id"}
    claims = decode_token(answer["access_token"])
    now = clock_of(api).now_ms() // 1000
    assert claims["login"] == PRODUCER3[0] and claims["iat"] == now
    assert claims["exp"] == now + 7200  # session_access_ttl_s
    assert claims["sid"] == answer["session_id"]
    assert answer["expires_at"] == "2023-11-15 00:13:20"  # exp: 1_700_007_200, UTC


def test_the_php_client_works_through_expiry_refresh_revocation_and_relogin(api: Api) -> None:
    client = php_client(api, PRODUCER3[0], password=PRODUCER3[1])
    clock = clock_of(api)
    first = client.post("/event/create", EVENT)["i_event"]
    assert (client.logins, client.refreshes) == (1, 0)
    assert api.ok("event/get", {"i_event": first}, user=PRODUCER3)["i_event"] == first

    # Within the client's refresh margin (an hour before exp): it refreshes.
    old_refresh = client.session["refresh_token"]
    clock.advance(3601 * 1000)
    client.post("/event/create", EVENT)
    assert (client.logins, client.refreshes) == (1, 1)
    assert client.session["refresh_token"] != old_refresh
    # The replaced refresh token is refused from now on.
    stale = api.client.post(
        "/rest/Session/refresh_access_token", json={"params": {"refresh_token": old_refresh}}
    )
    assert stale.status_code == 500
    assert stale.json()["faultcode"] == "Server.Session.auth_failed"

    # The token expires without the client noticing (margin 0): 401, and
    # the client logs in again and repeats the call.
    client.refresh_margin_s = 0
    token = client.session["access_token"]
    clock.advance(7200 * 1000)
    expired = create_event(api, token)
    assert expired.status_code == 401 and expired.json()["error"] == "token_expired"
    client.refresh_margin_s = -(10**9)  # never refresh: see the 401 path
    client.post("/event/create", EVENT)
    assert (client.logins, client.retried_after_401) == (2, 1)

    # Revoked (logout elsewhere): 401 session_ended, then a fresh login.
    api.client.post("/rest/Session/logout", json={"params": {"access_token": token}})
    live = client.session["access_token"]
    api.client.post("/rest/Session/logout", json={"params": {"access_token": live}})
    revoked = create_event(api, live)
    assert revoked.status_code == 401 and revoked.json()["error"] == "session_ended"
    assert client.ping() == 0
    client.post("/event/create", EVENT)
    assert (client.logins, client.retried_after_401) == (3, 2)
    assert client.ping() > 0


def test_bearer_works_on_every_method_and_keeps_roles(api: Api) -> None:
    admin = login(api, ADMIN3)["access_token"]
    producer = login(api, PRODUCER3)["access_token"]
    listed = api.client.post("/espf/v1/handler/list", json={}, headers=bearer(admin))
    assert listed.status_code == 200
    refused = api.client.post("/espf/v1/handler/list", json={}, headers=bearer(producer))
    assert refused.status_code == 403
    status = api.client.post(
        "/espf/v1/account/i/541/status",
        json={"status": "OK", "group": "VoIP"},
        headers=bearer(admin),
    )
    assert status.status_code == 200


def test_forged_and_damaged_tokens_are_401(api: Api) -> None:
    token = login(api)["access_token"]
    header, _, signature = token.split(".")
    claims = decode_token(token) | {"login": ADMIN3[0]}
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    for bad in (f"{header}.{forged_payload}.{signature}", token[:-3] + "abc", "x.y.z"):
        response = create_event(api, bad)
        assert response.status_code == 401, bad
        assert response.json()["error"] == "invalid_token"
        assert response.headers["content-type"].startswith("application/json")


def test_a_new_password_ends_the_sessions(api: Api) -> None:
    token = login(api)["access_token"]
    assert create_event(api, token).status_code == 200
    api.ok("user/set_password", {"login": PRODUCER3[0], "password": "another-password"})
    refused = create_event(api, token)
    assert refused.status_code == 401 and refused.json()["error"] == "session_ended"


def test_deleting_the_user_ends_its_sessions(api: Api) -> None:
    token = login(api)["access_token"]
    api.ok("user/delete", {"login": PRODUCER3[0]})
    assert create_event(api, token).status_code == 401


def test_failed_login_is_the_billing_apis_fault(api: Api) -> None:
    client = php_client(api, PRODUCER3[0], password="wrong")
    with pytest.raises(AuthFailed):
        client.login()
    response = api.client.post(
        "/rest/Session/login", json={"params": {"login": "nobody", "password": "x"}}
    )
    assert response.status_code == 500
    assert set(response.json()) == {"faultcode", "faultstring"}
    assert response.json()["faultcode"] == "Server.Session.auth_failed"


def test_failed_logins_are_throttled(api: Api) -> None:
    for _ in range(10):
        api.client.post(
            "/rest/Session/login", json={"params": {"login": PRODUCER3[0], "password": "no"}}
        )
    slowed = api.client.post(
        "/rest/Session/login", json={"params": {"login": PRODUCER3[0], "password": PRODUCER3[1]}}
    )
    assert slowed.status_code == 429 and int(slowed.headers["retry-after"]) >= 1
    # Basic auth from the same address counts the same failures.
    assert api.call("event/list", {}, user=PRODUCER3).status_code == 429


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"not json", "not valid JSON"),
        (b'{"params": []}', "params"),
        (b'{"params": {"login": "a"}}', "password"),
        (b'{"params": {"login": "a", "password": "b", "token": "c"}}', "password"),
        (b'{"params": {"login": 5, "password": "b"}}', "params.login"),
    ],
)
def test_malformed_logins_are_400_and_say_why(api: Api, body: bytes, why: str) -> None:
    response = api.client.post("/rest/Session/login", content=body)
    assert response.status_code == 400
    assert why in response.json()["faultstring"]
    assert response.json()["faultcode"].startswith("Client.Session.")


def test_ping_and_logout(api: Api) -> None:
    answer = login(api)
    token = answer["access_token"]
    ping = api.client.post("/rest/Session/ping", json={"params": {"access_token": token}})
    user = api.run(api.service.store.user_get_by_login, PRODUCER3[0])
    assert user is not None
    assert ping.json() == {"user_id": user.i_user}
    out = api.client.post("/rest/Session/logout", json={"params": {"access_token": token}})
    assert out.status_code == 200
    ping = api.client.post("/rest/Session/ping", json={"params": {"access_token": token}})
    assert ping.json() == {"user_id": 0}
    gone = api.client.post(
        "/rest/Session/refresh_access_token",
        json={"params": {"refresh_token": answer["refresh_token"]}},
    )
    assert gone.status_code == 500 and gone.json()["faultcode"] == "Server.Session.auth_failed"
    assert api.client.post("/rest/Session/ping", json={"params": {"access_token": "x"}}).json() == {
        "user_id": 0
    }


def test_other_rest_paths_are_a_clear_404(api: Api) -> None:
    for path in ("/rest/Account/get_account_info", "/rest/Session/unknown", "/rest/"):
        response = api.client.post(path, json={"params": {}})
        assert response.status_code == 404, path
        assert "/rest/Session/login" in response.json()["faultstring"]


def test_api_tokens_log_in_instead_of_a_password(api: Api) -> None:
    user = api.run(api.service.user_in_env, 3, PRODUCER3[0])
    made, secret = api.run(api.service.sessions.token_create, user, "billing sync")
    client = php_client(api, PRODUCER3[0], token=secret)
    assert client.post("/event/create", EVENT)["i_event"] > 0
    # A token is bound to its user: another login with it fails.
    with pytest.raises(AuthFailed):
        php_client(api, ADMIN3[0], token=secret).login()
    # Revoked: its sessions end, and it logs in no more.
    api.run(api.service.sessions.token_revoke, 3, PRODUCER3[0], made.i_api_token)
    assert create_event(api, client.session["access_token"]).status_code == 401
    with pytest.raises(AuthFailed):
        client.login()


def test_logins_with_characters_php_base64_would_drop(api: Api) -> None:
    """'>', '?' and '~' in a login could put '-' or '_' into the token's
    base64url payload, which PHP's base64_decode drops."""
    for n, name in enumerate(("a?b", "x~~~y", ">?>?>", "q?", "qq?", "qqq?")):
        login_name = f"{name}{n}"
        api.run(api.service.user_create, 3, login_name, "long-password", Role.PRODUCER)
        client = php_client(api, login_name, password="long-password")
        client.login()
        assert client.token["login"] == login_name
        assert client.post("/event/create", EVENT)["i_event"] > 0


def test_session_checks_on_another_node_are_bounded(api: Api) -> None:
    """Another API node (here: a second Service on the same database) sees a
    logout within session_check_ttl_s."""
    from espf.service import Service

    token = login(api)["access_token"]
    settings = api.service.settings.replace(session_check_ttl_s=0)
    other = Service(api.service.store, settings, api.service.clock)
    assert api.run(other.sessions.user_of_access_token, token).login == PRODUCER3[0]
    api.client.post("/rest/Session/logout", json={"params": {"access_token": token}})
    with pytest.raises(Exception, match="session has ended"):
        api.run(other.sessions.user_of_access_token, token)


def test_a_role_change_applies_to_live_sessions_at_once(api: Api) -> None:
    api.ok("user/create", {"login": "ops", "password": "ops-password", "role": "admin"})
    token = login(api, ("ops", "ops-password"))["access_token"]
    listed = api.client.post("/espf/v1/handler/list", json={}, headers=bearer(token))
    assert listed.status_code == 200  # the session is now checked and remembered
    api.ok("user/set_role", {"login": "ops", "role": "producer"})
    demoted = api.client.post("/espf/v1/handler/list", json={}, headers=bearer(token))
    assert demoted.status_code == 403
    api.ok("user/delete", {"login": "ops"})
    assert create_event(api, token).status_code == 401


def test_api_tokens_over_http(api: Api) -> None:
    made = api.ok("user/token_create", {"login": PRODUCER3[0], "name": "billing sync"})
    assert made["token"].startswith("espf_") and made["last_used"] is None
    client = php_client(api, PRODUCER3[0], token=made["token"])
    client.post("/event/create", EVENT)
    (listed,) = api.ok("user/token_list", {"login": PRODUCER3[0]})["tokens"]
    assert listed["i_api_token"] == made["i_api_token"] and listed["last_used"] is not None
    assert "token" not in listed
    assert api.ok("user/token_list", {"login": "nobody"})["tokens"] == []
    # Another environment's user does not exist here; a producer may not.
    api.error("user/token_create", {"login": "admin4", "name": "x"}, 404, "unknown_user")
    api.error("user/token_list", {}, 403, user=PRODUCER3)
    api.error("user/token_revoke", {"login": ADMIN3[0], "i_api_token": made["i_api_token"]}, 404)
    revoked = api.ok(
        "user/token_revoke", {"login": PRODUCER3[0], "i_api_token": made["i_api_token"]}
    )
    assert revoked == {"i_api_token": made["i_api_token"], "revoked": True}
    assert create_event(api, client.session["access_token"]).status_code == 401
    assert api.ok("user/token_list", {})["tokens"] == []

"""The console's security: forms need their CSRF token, variables are shown
as text, producers and other environments see nothing they may not, secrets
never reach a page, nothing is loaded from outside, sessions are signed with
the database's key (a restart keeps them) and sign-in shares the API's
failed-login throttle."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Dialog, expect

from tests.browser.conftest import (
    EXTERNAL,
    SECRET_PASSWORD,
    SECRET_TOKEN,
    Site,
    check_page,
    sign_in,
)
from tests.browser.console_client import ConsoleClient
from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD

PRODUCER = ("maker", "maker-password-1")
OTHER_ENV_ADMIN = ("ops3", "ops3-password-1")
EVERY_PAGE = (
    "/",
    "/overview/live",
    "/events",
    "/handlers",
    "/handlers/new",
    "/handler?name=billing",
    "/handler/edit?name=billing",
    "/handler?name=tokened",
    "/handler/edit?name=tokened",
    "/subscriptions",
    "/types",
    "/accounts?i_account=541",
    "/schedules",
    "/users",
)


@pytest.fixture(scope="module")
def prepared(site: Site) -> Site:
    espf = site.espf
    espf.cli("user", "create", "1", PRODUCER[0], "--password", PRODUCER[1], "--role", "producer")
    espf.cli("env", "create", "third", "--i-env", "3")
    espf.cli(
        "user",
        "create",
        "3",
        OTHER_ENV_ADMIN[0],
        "--password",
        OTHER_ENV_ADMIN[1],
        "--role",
        "admin",
    )
    espf.add_handler(
        1,
        "tokened",
        site.receiver.url,
        "--auth",
        "custom",
        "--auth-scheme",
        "Bearer",
        "--auth-token",
        SECRET_TOKEN,
    )
    site.events["admin"] = espf.create_event(
        {"event_type": "Account/Blocked", "variables": {"i_account": 541}}
    )
    espf.wait_for_event_show(site.events["admin"], "delivered")
    return site


@pytest.fixture
def admin(prepared: Site) -> Iterator[ConsoleClient]:
    client = ConsoleClient(prepared.console)
    assert client.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD).status_code == 303
    yield client
    client.close()


def test_a_form_without_its_csrf_token_changes_nothing(
    prepared: Site, admin: ConsoleClient
) -> None:
    for data in ({"name": "billing"}, {"name": "billing", "csrf": "forged"}):
        refused = admin.post("/handler/pause", data)
        assert refused.status_code == 403
        assert "security token" in refused.text
        assert "paused" not in prepared.espf.cli("handler", "show", "1", "billing").lower()
    # The same request with the session's token does change it.
    done = admin.post("/handler/pause", {"name": "billing", "csrf": admin.csrf()})
    assert done.status_code == 303
    assert "paused" in prepared.espf.cli("handler", "show", "1", "billing").lower()
    admin.post("/handler/resume", {"name": "billing", "csrf": admin.csrf()})


def test_maintenance_windows_need_the_token_and_an_administrator(
    prepared: Site, admin: ConsoleClient
) -> None:
    window = {"name": "billing", "kind": "one_off", "start": "2030-01-01 00:00:00"}
    window["end"] = "2030-01-01 02:00:00"
    assert admin.post("/handler/maintenance/add", window).status_code == 403
    producer = ConsoleClient(prepared.console)
    assert producer.sign_in(*PRODUCER).status_code == 303
    refused = producer.post("/handler/maintenance/add", {**window, "csrf": producer.csrf()})
    assert refused.status_code == 403
    producer.close()
    assert "No maintenance window" in prepared.espf.cli(
        "handler", "maintenance", "list", "1", "billing"
    )


def test_a_script_in_a_variable_is_shown_as_text(prepared: Site, browser: Browser) -> None:
    script = "<script>alert(1)</script>"
    i_event = prepared.espf.create_event(
        {"event_type": "Account/Blocked", "variables": {"i_account": 3, "note": script}}
    )
    page = sign_in(browser, prepared)
    dialogs: list[Dialog] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog)
        dialog.dismiss()

    page.on("dialog", dismiss)
    for path in (f"/events/{i_event}", "/events?variable=i_account%3D3"):
        page.goto(prepared.console + path)
        expect(page.locator("main")).to_contain_text(script)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    assert dialogs == []
    check_page(page, prepared, "event-script-variable")
    page.close()


def test_a_producer_cannot_open_administration_pages(prepared: Site) -> None:
    producer = ConsoleClient(prepared.console)
    assert producer.sign_in(*PRODUCER).status_code == 303
    for path in (
        "/handlers",
        "/handler?name=billing",
        "/handler/maintenance/remove?name=billing&window=1",
        "/users",
        "/subscriptions",
        "/types",
        "/schedules",
    ):
        answer = producer.get(path)
        assert answer.status_code == 403, path
        assert "has the role producer; this needs admin" in answer.text
        assert SECRET_PASSWORD not in answer.text
    toggle = producer.post(
        "/subscriptions/toggle",
        {
            "csrf": producer.csrf(),
            "handler": "billing",
            "event_type": "Account/Unblocked",
            "subscribe": "yes",
        },
    )
    assert toggle.status_code == 403
    assert "Account/Unblocked" not in prepared.espf.cli("handler", "subscriptions", "1", "billing")
    # Read-only, and only its own events: the administrator's event does not exist for it.
    assert producer.get(f"/events/{prepared.events['admin']}").status_code == 404
    assert "Handlers" not in producer.get("/").text
    producer.close()


def test_another_environment_cannot_reach_an_event_by_its_url(prepared: Site) -> None:
    other = ConsoleClient(prepared.console)
    assert other.sign_in(*OTHER_ENV_ADMIN).status_code == 303
    i_event = prepared.events["admin"]
    answer = other.get(f"/events/{i_event}")
    assert answer.status_code == 404
    assert f"event {i_event} does not exist" in answer.text
    assert f"/events/{i_event}" not in other.get("/events").text
    assert "billing" not in other.get("/handlers").text
    assert other.get("/handler?name=billing").status_code == 404
    # Acting on it is refused the same way, and changes nothing.
    before = prepared.espf.event_show(i_event)
    cancel = other.post(f"/events/{i_event}/cancel", {"csrf": other.csrf()})
    assert cancel.status_code == 404
    assert prepared.espf.event_show(i_event) == before
    other.close()


def test_no_page_holds_a_secret_or_an_outside_address(prepared: Site, admin: ConsoleClient) -> None:
    for path in EVERY_PAGE:
        answer = admin.get(path)
        assert answer.status_code == 200, path
        for secret in (SECRET_PASSWORD, SECRET_TOKEN):
            assert secret not in answer.text, f"{secret} in {path}"
        found = EXTERNAL.search(answer.text)
        assert found is None, f"{path} references {found.group(0)!r}"
        assert "default-src 'self'" in answer.headers["content-security-policy"]
    css = admin.get("/static/console.css").text
    assert not re.search(r"url\(|@import", css)


def test_sessions_are_signed_survive_a_restart_and_end_at_sign_out(
    prepared: Site, admin: ConsoleClient
) -> None:
    cookie = admin.http.cookies.get("espf_console")
    assert cookie
    tampered = ConsoleClient(prepared.console)
    tampered.http.cookies.set("espf_console", cookie[:-3] + "abc", path="/console")
    assert tampered.get("/").status_code == 303  # to the sign-in form
    tampered.close()

    prepared.espf.stop()
    prepared.espf.start()
    assert admin.get("/").status_code == 200, "the key is in the database: the session lives on"

    out = admin.post("/signout", {"csrf": admin.csrf()})
    assert out.status_code == 303
    assert admin.get("/").headers["location"].startswith("/console/signin")


def test_sign_in_answers_as_the_api_and_shares_its_throttle(prepared: Site) -> None:
    # Last in this module: it leaves 127.0.0.1 throttled for a minute.
    client = ConsoleClient(prepared.console)
    wrong = client.sign_in(ADMIN_LOGIN, "not-the-password")
    assert wrong.status_code == 401
    assert "wrong login or password" in wrong.text
    for _ in range(9):
        client.sign_in(ADMIN_LOGIN, "not-the-password")
    throttled = client.sign_in(ADMIN_LOGIN, ADMIN_PASSWORD)
    assert throttled.status_code == 429
    assert "too many failed logins" in throttled.text
    status, _ = prepared.espf.call("event/list", {})
    assert status == 429, "the API's throttle counted the console's failures"
    client.close()

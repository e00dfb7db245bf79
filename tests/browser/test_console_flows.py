"""What an operator does in the console, against a real espf and Application:
find an account's event, see why it failed, send it again, change
subscriptions, pause a handler, replay by filter, send a test event."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PHONE, Site, check_page, sign_in
from tests.e2e.espf_process import wait_until


@pytest.fixture(scope="module")
def admin_page(browser: Browser, site: Site) -> Page:
    return sign_in(browser, site)


def test_find_the_failed_event_of_account_541_and_retry_it(site: Site, admin_page: Page) -> None:
    page = admin_page
    espf, receiver = site.espf, site.receiver
    other = espf.create_event({"event_type": "Account/Blocked", "variables": {"i_account": 7}})
    espf.wait_for_event_show(other, "delivered")
    receiver.answer_next(503)  # the Application is down for the next request
    failing = espf.create_event({"event_type": "Account/Blocked", "variables": {"i_account": 541}})
    espf.wait_for_event_show(failing, "failed")
    assert other != failing

    # Three clicks: Events, the filter, the event.
    page.get_by_role("link", name="Events", exact=True).click()
    page.get_by_label("Variable").fill("i_account=541")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"variable=i_account%3D541"))
    rows = page.locator("table.events tbody tr")
    expect(rows).to_have_count(1)
    check_page(page, site, "events-filtered")
    page.get_by_role("link", name=f"#{failing}").click()

    attempts = page.locator("table.attempts")
    expect(attempts).to_contain_text("HTTP 503")
    expect(page.locator(".delivery .badge").first).to_have_text("failed")
    check_page(page, site, "event-failed")

    page.get_by_role("button", name="Retry now").click()
    expect(page.locator(".notice")).to_contain_text("due again")

    def delivered() -> bool:
        page.reload()
        return page.locator(".delivery h3 .badge").first.inner_text() == "delivered"

    wait_until(delivered, 15, "the retried delivery to be delivered", interval=0.3)
    expect(attempts).to_contain_text("HTTP 200")
    assert len(receiver.received_for(failing)) == 2
    check_page(page, site, "event-delivered")


def test_toggle_a_subscription_and_the_cli_agrees(site: Site, admin_page: Page) -> None:
    page = admin_page
    page.get_by_role("link", name="Subscriptions").click()
    page.get_by_label("Event types starting with").fill("Account/")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"prefix=Account%2F"))
    cell = page.get_by_role("button", name="billing receives Account/Unblocked")
    expect(cell).to_have_attribute("aria-pressed", "false")
    cell.click()
    cell = page.get_by_role("button", name="billing receives Account/Unblocked")
    expect(cell).to_have_attribute("aria-pressed", "true")
    assert "Account/Unblocked" in site.espf.cli("handler", "subscriptions", "1", "billing")
    assert "Account/Unblocked" in site.espf.cli(
        "handler", "subscriptions", "1", "billing", program="evctl"
    )
    check_page(page, site, "subscriptions")

    cell.click()
    expect(page.get_by_role("button", name="billing receives Account/Unblocked")).to_have_attribute(
        "aria-pressed", "false"
    )
    assert "Account/Unblocked" not in site.espf.cli(
        "handler", "subscriptions", "1", "billing", program="evctl"
    )


def test_pause_and_resume_a_handler(site: Site, admin_page: Page) -> None:
    page = admin_page
    page.get_by_role("link", name="Handlers").click()
    check_page(page, site, "handlers")
    page.get_by_role("link", name="billing").click()
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("h1 .badge")).to_have_text("paused")
    assert "paused" in site.espf.cli("handler", "show", "1", "billing").lower()
    check_page(page, site, "handler-paused")

    page.get_by_role("button", name="Resume").click()
    expect(page.locator("h1 .badge")).to_have_text("active")
    assert "paused" not in site.espf.cli("handler", "show", "1", "billing").lower()


def test_replay_by_filter_counts_first(site: Site, admin_page: Page) -> None:
    page = admin_page
    espf, receiver = site.espf, site.receiver
    made = [
        espf.create_event({"event_type": "Account/Blocked", "variables": {"i_account": 900}})
        for _ in range(3)
    ]
    for i_event in made:
        espf.wait_for_event_show(i_event, "delivered")
    before = len(receiver.received())

    page.goto(site.console + "/events?variable=i_account%3D900")
    page.get_by_label("Action").select_option("replay")
    page.get_by_role("button", name="Count matches…").click()
    expect(page.locator("#bulk-count")).to_have_text("3")
    expect(page.locator(".count")).to_contain_text("3 deliveries match")
    assert len(receiver.received()) == before, "the dry run sent nothing"
    check_page(page, site, "bulk-confirm")

    page.get_by_role("button", name="Replay 3 now").click()
    expect(page.locator(".notice")).to_contain_text("Replay: 3 done.")
    receiver.wait_for(before + 3)
    for i_event in made:
        espf.wait_for_event_show(i_event, "replayed by an operator")


def test_send_a_test_event_to_one_handler(site: Site, admin_page: Page) -> None:
    page = admin_page
    receiver = site.receiver
    before = len(receiver.received())
    page.goto(site.console + "/handler?name=billing")
    page.get_by_label("Event type").select_option("Account/Blocked")
    page.get_by_label("Variables (JSON object)").fill('{"i_account": 12345}')
    page.get_by_role("button", name="Send test event").click()
    expect(page.locator("#test-result")).to_contain_text("HTTP 200")
    sent = receiver.wait_for(before + 1)[-1].json()
    assert sent["event_type"] == "Account/Blocked"
    assert sent["variables"]["i_account"] == 12345
    assert sent["variables"]["test"] is True
    check_page(page, site, "handler-test-event")


def test_a_wrong_setting_is_refused_beside_its_field(site: Site, admin_page: Page) -> None:
    page = admin_page
    page.goto(site.console + "/handler/edit?name=billing")
    page.get_by_label("Timeout (seconds)").fill("-5")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#e-timeout")
    expect(error).to_contain_text("timeout must be")
    check_page(page, site, "handler-edit-error")


def test_every_page_on_desktop_and_phone(browser: Browser, site: Site, admin_page: Page) -> None:
    pages = {
        "overview": "/",
        "events": "/events",
        "handlers": "/handlers",
        "handler": "/handler?name=billing",
        "handler-edit": "/handler/edit?name=billing",
        "handler-new": "/handlers/new",
        "subscriptions": "/subscriptions?prefix=Account%2F",
        "types": "/types",
        "accounts": "/accounts?i_account=541",
        "users": "/users",
    }
    phone = sign_in(browser, site, viewport=PHONE)
    for name, path in pages.items():
        for view, is_phone in ((admin_page, False), (phone, True)):
            answer = view.goto(site.console + path)
            assert answer is not None and answer.status == 200, (name, path)
            check_page(view, site, name, phone=is_phone)
    first = site.espf.cli("event", "list").split()
    assert first  # there are events for the detail page
    phone.close()

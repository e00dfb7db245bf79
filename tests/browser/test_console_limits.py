"""What an operator does in the console about a handler's limits, its
maintenance windows and the calendar, against a real espf and Application:
set limits (a wrong one refused beside its field), add and remove windows
(a wrong zone refused, removal confirmed first), see a delivery wait for an
open window and go out when it is removed, and read an account's schedules
and an event's local start time."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import PHONE, Site, check_page, sign_in
from tests.e2e.espf_process import wait_until

PRAGUE = ZoneInfo("Europe/Prague")


@pytest.fixture(scope="module")
def admin_page(browser: Browser, site: Site) -> Page:
    return sign_in(browser, site)


def test_limits_are_edited_with_the_apis_messages(site: Site, admin_page: Page) -> None:
    page = admin_page
    page.goto(site.console + "/handler/edit?name=billing")
    page.get_by_label("Max in flight (requests at once)").fill("-1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#e-max_in_flight")).to_contain_text(
        "max_in_flight must be an integer from 0 to"
    )
    check_page(page, site, "handler-limits-error")

    page.get_by_label("Max in flight (requests at once)").fill("4")
    page.get_by_label("Max rate (requests per second)").fill("0.001")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#e-max_rate")).to_contain_text("max_rate must be at least 0.01")
    assert handler_json(site)["max_in_flight"] is None, "a refused form changes nothing"

    page.get_by_label("Max rate (requests per second)").fill("50")
    page.get_by_label("Rate burst (requests)").fill("5")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice")).to_contain_text("Settings saved.")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("at most 4 requests at once")
    expect(facts).to_contain_text("50 requests/s, bursts of 5")
    shown = handler_json(site)
    assert (shown["max_in_flight"], shown["max_rate"], shown["rate_burst"]) == (4, 50, 5)
    check_page(page, site, "handler-limits")

    nav(page, "Handlers").click()
    expect(page.locator("td.limits")).to_contain_text("≤4 at once · 50/s")

    # A cleared field removes the limit, as the API's 0 does.
    page.goto(site.console + "/handler/edit?name=billing")
    expect(page.get_by_label("Max in flight (requests at once)")).to_have_value("4")
    page.get_by_label("Max in flight (requests at once)").fill("")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("dl.facts")).to_contain_text("Max in flightno limit")
    assert handler_json(site)["max_in_flight"] is None


def test_a_maintenance_window_holds_deliveries_until_it_is_removed(
    browser: Browser, site: Site, admin_page: Page
) -> None:
    page = admin_page
    espf, receiver = site.espf, site.receiver
    page.goto(site.console + "/handler?name=billing")
    expect(page.locator("#maintenance")).to_contain_text("No maintenance window")

    recurring = page.locator("form", has=page.get_by_role("heading", name="Add a recurring window"))
    recurring.get_by_label("Rule").fill("weekly on tuesday at 02:00")
    recurring.get_by_label("Time zone").fill("Europe/Praha")
    recurring.get_by_label("Duration (seconds)").fill("7200")
    recurring.get_by_role("button", name="Add recurring window").click()
    expect(page.locator("#we-time_zone")).to_contain_text("did you mean 'Europe/Prague'?")
    expect(page.get_by_label("Rule")).to_have_value("weekly on tuesday at 02:00")
    assert windows(site) == [], "a refused window is not added"
    check_page(page, site, "handler-window-error")

    page.get_by_label("Time zone").fill("Europe/Prague")
    page.get_by_role("button", name="Add recurring window").click()
    expect(page.locator(".notice.ok")).to_contain_text("Maintenance window added.")
    weekly = page.locator("table.windows tr", has_text="weekly on tuesday at 02:00")
    expect(weekly).to_contain_text("Europe/Prague")
    expect(weekly).to_contain_text("2 h")
    expect(weekly).to_contain_text(re.compile(r"Tue \d{4}-\d\d-\d\d 02:00 Europe/Prague"))

    # A daily window that opened a minute ago (Prague time) is open now.
    opened = datetime.now(PRAGUE) - timedelta(minutes=1)
    daily_rule = f"daily at {opened:%H:%M}"
    page.get_by_label("Rule").fill(daily_rule)
    page.get_by_label("Time zone").fill("Europe/Prague")
    page.get_by_label("Duration (seconds)").fill("3600")
    page.get_by_role("button", name="Add recurring window").click()
    banner = page.locator(".maintenance-now")
    expect(banner).to_contain_text("In maintenance until")
    expect(banner).to_contain_text("Europe/Prague")
    expect(page.locator("h1 .badge.warn")).to_have_text("maintenance")
    check_page(page, site, "handler-maintenance")
    phone = sign_in(browser, site, viewport=PHONE)
    phone.goto(site.console + "/handler?name=billing")
    expect(phone.locator(".maintenance-now")).to_be_visible()
    check_page(phone, site, "handler-maintenance", phone=True)
    phone.close()

    nav(page, "Handlers").click()
    expect(page.locator("tr", has_text="billing")).to_contain_text("in maintenance until")
    check_page(page, site, "handlers-maintenance")

    # An event due now waits for the window, spending no attempt.
    before = len(receiver.received())
    held = espf.create_event({"event_type": "Account/Blocked", "variables": {"i_account": 777}})
    page.goto(f"{site.console}/events/{held}")

    def waiting() -> bool:
        page.reload()
        return page.locator(".delivery .waiting").count() == 1

    wait_until(waiting, 15, "the delivery to wait for the window", interval=0.3)
    expect(page.locator(".delivery .waiting")).to_contain_text("Waiting: maintenance until")
    expect(page.locator(".delivery header")).to_contain_text("0 attempts")
    assert len(receiver.received()) == before
    check_page(page, site, "event-waiting-maintenance")

    # Removing the open window asks first, then lets the delivery go.
    page.goto(site.console + "/handler?name=billing")
    page.locator("table.windows tr", has_text=daily_rule).get_by_role(
        "link", name=re.compile("Remove")
    ).click()
    expect(page.locator("h1")).to_have_text("Remove this maintenance window of billing?")
    expect(page.locator("main")).to_contain_text("It is open now")
    check_page(page, site, "window-remove-confirm")
    assert len(windows(site)) == 2, "nothing is removed before the confirmation"
    page.get_by_role("button", name="Remove window").click()
    expect(page.locator(".notice.ok")).to_contain_text("Maintenance window removed.")
    expect(page.locator(".maintenance-now")).to_have_count(0)
    assert [w["rule"] for w in windows(site)] == ["weekly on tuesday at 02:00"]

    receiver.wait_for(before + 1)
    espf.wait_for_event_show(held, "delivered")
    page.goto(f"{site.console}/events/{held}")
    expect(page.locator(".delivery header")).to_contain_text("1 attempt")
    expect(page.locator(".delivery .waiting")).to_have_count(0)


def test_an_accounts_schedules_and_an_events_local_start(
    browser: Browser, site: Site, admin_page: Page
) -> None:
    page = admin_page
    espf = site.espf
    for key, rule, zone, account in (
        ("i_account=541", "monthly on day 1 at 00:00", "Europe/Prague", 541),
        ("i_account=541/weekly", "weekly on monday at 09:00", "America/New_York", 541),
        ("i_account=542", "daily at 06:00", "Asia/Kolkata", 542),
    ):
        espf.cli(
            "schedule",
            "create",
            "1",
            key,
            "Account/Blocked",
            "--rule",
            rule,
            "--time-zone",
            zone,
            "--variables",
            json.dumps({"i_account": account}),
        )

    page.goto(site.console + "/accounts")
    page.get_by_label("i_account").fill("541")
    page.get_by_role("button", name="Look up").click()
    rows = page.locator("table.schedules tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(re.compile(r"\d{4}-\d\d-01 00:00 Europe/Prague"))
    expect(rows.nth(1)).to_contain_text(re.compile(r"Mon \d{4}-\d\d-\d\d 09:00 America/New_York"))
    check_page(page, site, "account-schedules")

    nav(page, "Schedules").click()
    expect(page.locator("table.schedules tbody tr")).to_have_count(3)
    expect(page.locator("table.schedules")).to_contain_text("06:00 Asia/Kolkata")
    check_page(page, site, "schedules")
    phone = sign_in(browser, site, viewport=PHONE)
    for name, path in (
        ("account-schedules", "/accounts?i_account=541"),
        ("schedules", "/schedules"),
    ):
        phone.goto(site.console + path)
        expect(phone.locator("table.schedules")).to_contain_text("Europe/Prague")
        check_page(phone, site, name, phone=True)
    phone.close()

    local = espf.create_event(
        {
            "event_type": "Account/Blocked",
            "variables": {"i_account": 541},
            "start_time": "2030-01-01 09:00:00",
            "time_zone": "Europe/Prague",
        }
    )
    page.goto(f"{site.console}/events/{local}")
    expect(page.locator(".local-start")).to_have_text("2030-01-01 09:00:00 Europe/Prague")
    expect(page.locator("dl.facts")).to_contain_text("2030-01-01 08:00:00 UTC")
    check_page(page, site, "event-local-start")


def nav(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name)


def handler_json(site: Site) -> dict[str, object]:
    status, answer = site.espf.call("handler/get", {"name": "billing"})
    assert status == 200, answer
    return dict(answer)


def windows(site: Site) -> list[dict[str, object]]:
    status, answer = site.espf.call("handler/maintenance/list", {"name": "billing"})
    assert status == 200, answer
    return list(answer["windows"])

"""Browser tests of the console: Debian's Chromium, headless, driven by
Playwright against a real ``espf serve`` and a real receiving Application.

Chromium comes from the system (``apt-get install chromium``; scripts/test
installs it when missing), never from Playwright's own download. Without it
these tests skip, except under CI=true, where they fail: CI must run them."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from tests.conftest import IN_CI, POSTGRES_URL, require_postgres
from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD, EspfProcess
from tests.e2e.receiver import Receiver

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "img" / "console"
SECRET_PASSWORD = "handler-password-5ecret"
SECRET_TOKEN = "handler-token-5ecret"

# Any address that leaves the espf process: a scheme-qualified or
# protocol-relative URL in an attribute or a CSS url().
EXTERNAL = re.compile(
    r"""(?:src|href|action|formaction|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//"""
    r"""|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""",
    re.IGNORECASE,
)

pytestmark = pytest.mark.e2e
T = TypeVar("T")


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    problem = f"{CHROMIUM} is missing: apt-get install chromium (scripts/test does)"
    if IN_CI:
        pytest.fail(f"{problem}; under CI=true the browser tests must run")
    pytest.skip(problem)


# Module scope, not session: Playwright's sync API keeps an event loop running
# in the main thread while it is open, which the asyncio tests after these
# modules could not start theirs beside.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Site:
    """A running espf with an Application behind it, and what the tests made."""

    espf: EspfProcess
    receiver: Receiver
    backend: str
    events: dict[str, int] = field(default_factory=dict)

    @property
    def console(self) -> str:
        return self.espf.base_url + "/console"


def _in_thread(function: Callable[[], T]) -> T:
    # Playwright's sync API keeps an event loop running in this thread, so
    # asyncio.run (the PostgreSQL probe, the schema set-up) runs beside it.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function).result()


def _postgres_schema_url() -> Iterator[str]:
    _in_thread(require_postgres)
    import asyncpg

    schema = f"espf_console_{uuid.uuid4().hex[:12]}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    _in_thread(lambda: asyncio.run(run(f"CREATE SCHEMA {schema}")))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}search_path={schema}"
    finally:
        _in_thread(lambda: asyncio.run(run(f"DROP SCHEMA IF EXISTS {schema} CASCADE")))


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    """espf serve on each backend, with a handler ``billing`` subscribed to
    Account/Blocked that gives up after one attempt, and events to find."""
    workdir = tmp_path_factory.mktemp(f"console-{request.param}")
    settings: dict[str, str] = {}
    schema_urls: Iterator[str] | None = None
    if request.param == "postgres":
        schema_urls = _postgres_schema_url()
        settings["ESPF_DATABASE_URL"] = next(schema_urls)
    receiver = Receiver().start()
    espf = EspfProcess(workdir, **settings).start()
    try:
        espf.add_handler(
            1,
            "billing",
            receiver.url,
            "--login",
            "espf",
            "--password",
            SECRET_PASSWORD,
            "--retry-max-attempts",
            "1",
        )
        espf.cli("handler", "subscribe", "1", "billing", "Account/Blocked")
        yield Site(espf, receiver, request.param)
    finally:
        espf.stop()
        receiver.stop()
        print(espf.log_tail(60))
        if schema_urls is not None:
            next(schema_urls, None)


def sign_in(
    browser: Browser,
    site: Site,
    login: str = ADMIN_LOGIN,
    password: str = ADMIN_PASSWORD,
    viewport: ViewportSize | None = None,
) -> Page:
    page = browser.new_page(viewport=viewport or DESKTOP)
    page.goto(site.console + "/")
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/console/(?!signin).*"))
    return page


def check_page(page: Page, site: Site, name: str, phone: bool = False) -> None:
    """Every page the tests see: nothing in it points outside espf, and it is
    saved for docs/console.md (from the SQLite run: one set of pictures)."""
    html = page.content()
    found = EXTERNAL.search(html)
    assert found is None, f"{name} references an external URL: {found.group(0)!r}"
    if site.backend != "sqlite":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    suffix = "-phone" if phone else ""
    page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)

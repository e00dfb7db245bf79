"""The scenario played end to end: espf, the Application and the fake
billing and HSS all start, PortaBilling's events arrive, the month ends
(in seconds), and every step is printed."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from espf.client import Client, Conflict, Event, EventDetail, RetrySettings
from espf.receiver import BasicAuth, SqliteDedup
from examples.roaming_quota.application import (
    NEXT_MONTH,
    QUOTA_AVAILABLE,
    QUOTA_EXCEEDED,
    RoamingQuota,
    Settings,
)
from examples.roaming_quota.espf_server import EspfServer
from examples.roaming_quota.fakes import Account, FakeBilling, FakeHss
from examples.roaming_quota.serving import serve_asgi

HANDLER = "EventSender"
RICH, POOR = 541, 542  # one account that can pay next month, one that cannot


@dataclass(frozen=True)
class Options:
    # Seconds from "the quota is exceeded" to "the new month starts"; 0: the
    # real first of next month (the story then stops once it is scheduled).
    month_seconds: float = 3.0
    hss_failures: int = 1  # HSS answers 500 this many times at first
    duplicate: bool = True  # have espf resend a delivery the Application processed
    workdir: Path | None = None


@dataclass
class StoryResult:
    hss_actions: list[tuple[str, int]] = field(default_factory=list)
    hss_failed: int = 0
    blocked: set[int] = field(default_factory=set)
    quota_exceeded: dict[int, EventDetail] = field(default_factory=dict)
    scheduled: list[Event] = field(default_factory=list)
    next_month: list[EventDetail] = field(default_factory=list)
    quota_available: EventDetail | None = None
    statuses: dict[int, str] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)


class Narrator:
    def __init__(self, out: Callable[[str], None]) -> None:
        self._out = out
        self._start = time.monotonic()
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        line = f"[{time.monotonic() - self._start:6.2f}s] {text}"
        self.lines.append(line)
        self._out(line)


def wait_for(what: str, check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


def finished(espf: Client, i_event: int, timeout: float = 30) -> EventDetail:
    details: list[EventDetail] = []

    def done() -> bool:
        details.append(espf.event_get(i_event))
        return details[-1].state in {"delivered", "rejected", "failed"}

    wait_for(f"event {i_event} to be delivered", done, timeout)
    return details[-1]


def attempts_text(detail: EventDetail) -> str:
    (delivery,) = detail.deliveries
    codes = ", ".join(str(a.status_code or a.error) for a in delivery.attempt_log)
    return f"{delivery.state} after {delivery.attempts} attempt(s) (answers: {codes})"


@contextlib.contextmanager
def working_directory(chosen: Path | None) -> Iterator[Path]:
    if chosen is not None:
        chosen.mkdir(parents=True, exist_ok=True)
        yield chosen
        return
    with tempfile.TemporaryDirectory(prefix="roaming-quota-") as temporary:
        yield Path(temporary)


def play(options: Options, out: Callable[[str], None] = print) -> StoryResult:
    say = Narrator(out)
    result = StoryResult(lines=say.lines)
    billing = FakeBilling(
        [
            Account(RICH, Decimal("12.50"), "America/New_York"),
            Account(POOR, Decimal("0.00"), "Europe/Kyiv"),
        ]
    )
    hss = FakeHss()
    app_password = secrets.token_urlsafe(12)
    with (
        working_directory(options.workdir) as workdir,
        serve_asgi(billing.app) as billing_url,
        serve_asgi(hss.app) as hss_url,
        EspfServer(workdir) as server,
        Client(server.base_url, server.login, server.password) as espf,
    ):
        say(
            f"fake billing API at {billing_url}: account {RICH} balance 12.50 (America/New_York),"
            f" account {POOR} balance 0.00 (Europe/Kyiv)"
        )
        say(f"fake HSS at {hss_url}; espf at {server.base_url} (log: {server.log_path})")
        settings = Settings(billing_url, hss_url, deliver_at=_deliver_at(options), report=say)
        application = RoamingQuota(
            espf, settings, BasicAuth("espf", app_password), SqliteDedup(workdir / "received.db")
        )
        with serve_asgi(application.receiver.asgi()) as app_url:
            say(f"the Application listens at {app_url}/espf")
            configure(espf, f"{app_url}/espf", app_password, say)
            _story(espf, billing, hss, options, say, result)
        application.close()
    return result


def _deliver_at(options: Options) -> Callable[[datetime], datetime]:
    """The real month boundary, or a stand-in ``month_seconds`` from now."""
    if options.month_seconds <= 0:
        return lambda boundary: boundary
    return lambda boundary: datetime.now(UTC) + timedelta(seconds=options.month_seconds)


def configure(espf: Client, url: str, app_password: str, say: Callable[[str], None]) -> None:
    with contextlib.suppress(Conflict):
        espf.event_type_create(NEXT_MONTH)
    # Quick retries, so that the HSS failure is retried within the story.
    espf.handler_create(
        HANDLER, url, login="espf", password=app_password, retry=RetrySettings(schedule="0.5")
    )
    for event_type in (QUOTA_EXCEEDED, NEXT_MONTH, QUOTA_AVAILABLE):
        espf.handler_subscribe(HANDLER, event_type)
    say(
        f"espf: handler {HANDLER} -> {url}, subscribed to {QUOTA_EXCEEDED}, {NEXT_MONTH}, "
        f"{QUOTA_AVAILABLE}"
    )


def _story(
    espf: Client,
    billing: FakeBilling,
    hss: FakeHss,
    options: Options,
    say: Callable[[str], None],
    result: StoryResult,
) -> None:
    if options.hss_failures:
        hss.fail_next(options.hss_failures)
        say(f"the HSS will answer 500 to the next {options.hss_failures} request(s)")
    for i_account in (RICH, POOR):
        billing.set_roaming(i_account, "quota_exceeded")
        i_event = espf.event_create(QUOTA_EXCEEDED, {"i_account": i_account})
        say(
            f"[billing] account {i_account} used up its roaming quota: {QUOTA_EXCEEDED} "
            f"i_event {i_event}"
        )
        detail = finished(espf, i_event)
        result.quota_exceeded[i_account] = detail
        say(f"[espf] i_event {i_event} {attempts_text(detail)}")
    say(f"[hss] blocked: {sorted(hss.blocked)}")

    if options.duplicate:
        detail = result.quota_exceeded[RICH]
        (delivery,) = detail.deliveries
        before = hss.actions()
        espf.delivery_retry(delivery.i_delivery)
        say(
            f"[espf] delivery {delivery.i_delivery} of i_event {detail.i_event} sent again "
            "(as after a lost answer)"
        )
        wait_for(
            "the resend",
            lambda: espf.event_get(detail.i_event).deliveries[0].attempts > delivery.attempts,
            30,
        )
        detail = finished(espf, detail.i_event)
        result.quota_exceeded[RICH] = detail
        unchanged = "unchanged" if hss.actions() == before else "CHANGED"
        say(
            f"[espf] i_event {detail.i_event} {attempts_text(detail)}; the Application "
            f"recognised the duplicate, HSS log {unchanged}"
        )

    scheduled = espf.event_list(event_type=NEXT_MONTH).events
    result.scheduled = list(scheduled)
    for event in scheduled:
        say(
            f"[espf] {NEXT_MONTH} i_event {event.i_event} for account "
            f"{event.variables['i_account']} at {event.start_time:%Y-%m-%d %H:%M:%S} UTC "
            f"({event.state})"
        )
    if options.month_seconds <= 0:
        say("the new month is real time away: stopping here (use --month-seconds N to compress)")
        _finish(espf, hss, result, say)
        return

    say(f"... waiting {options.month_seconds:g} s for the new month ...")
    for event in scheduled:
        result.next_month.append(finished(espf, event.i_event, options.month_seconds + 30))
    say(f"[hss] blocked: {sorted(hss.blocked)}")

    balance = billing.top_up(POOR, Decimal("20.00"))
    billing.set_roaming(POOR, "active")
    i_event = espf.event_create(QUOTA_AVAILABLE, {"i_account": POOR})
    say(f"[billing] account {POOR} topped up to {balance}: {QUOTA_AVAILABLE} i_event {i_event}")
    result.quota_available = finished(espf, i_event)
    say(f"[espf] i_event {i_event} {attempts_text(result.quota_available)}")
    _finish(espf, hss, result, say)


def _finish(espf: Client, hss: FakeHss, result: StoryResult, say: Callable[[str], None]) -> None:
    result.hss_actions = hss.actions()
    result.hss_failed = hss.failed
    result.blocked = set(hss.blocked)
    say(
        f"[hss] log: {', '.join(f'{a} {i}' for a, i in result.hss_actions)}; "
        f"{hss.failed} request(s) failed"
    )
    for i_account in (RICH, POOR):
        status = espf.account_status_read_by_i_account(i_account, group="HSS")
        latest = status.groups[0]
        result.statuses[i_account] = latest.message
        say(
            f"[espf] account {i_account} status {latest.status}: {latest.message} "
            f"({len(status.history)} reports)"
        )

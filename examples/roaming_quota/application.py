"""The Application: espf's EventSender delivers here, and it provisions the
HSS accordingly, asks PortaBilling about the account, schedules the next
month's event and reports what it did through espf's account status API.

Every handler can run more than once for one event (espf delivers at least
once): the receiver drops duplicates, the HSS calls are idempotent, and the
scheduled event carries an Idempotency-Key derived from the event that
caused it, so a retried QuotaExceeded never schedules two NextMonth events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from espf.client import Client, EspfError
from espf.receiver import Authenticator, DedupStore, Event, Receiver, RetryLater
from examples.roaming_quota.month import next_month_start

log = logging.getLogger("roaming_quota")

QUOTA_EXCEEDED = "Account/Service/Netaccess/QuotaExceeded"
QUOTA_AVAILABLE = "Account/Service/QuotaAvailable"
NEXT_MONTH = "Custom/NextMonth"
GROUP = "HSS"  # the service group the Application reports its status under


@dataclass(frozen=True)
class Settings:
    billing_url: str
    hss_url: str
    # The least balance that pays for next month's roaming data.
    minimum_balance: Decimal = Decimal("5.00")
    # Where the NextMonth event goes: the real month boundary, or (in the
    # story) a stand-in a few seconds away.
    deliver_at: Callable[[datetime], datetime] = lambda boundary: boundary
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    report: Callable[[str], None] = log.info


class HssFailed(Exception):
    """The HSS did not do what was asked; the delivery fails (500) and espf resends it."""


class RoamingQuota:
    def __init__(
        self, espf: Client, settings: Settings, auth: Authenticator, dedup: DedupStore
    ) -> None:
        self.espf = espf
        self.settings = settings
        self.http = httpx.Client(timeout=10)
        self.receiver = Receiver(auth, dedup=dedup)
        self.receiver.route(QUOTA_EXCEEDED, self.quota_exceeded)
        self.receiver.route(NEXT_MONTH, self.next_month)
        self.receiver.route(QUOTA_AVAILABLE, self.quota_available)

    def close(self) -> None:
        self.http.close()

    # -- the handlers -------------------------------------------------------------------
    def quota_exceeded(self, event: Event) -> None:
        i_account = int(event.variable("i_account"))
        account = self._account(i_account)
        self._hss(i_account, "block")
        boundary = next_month_start(self.settings.now(), ZoneInfo(account["time_zone"]))
        start = self.settings.deliver_at(boundary)
        scheduled = self.espf.event_create(
            NEXT_MONTH,
            {"i_account": i_account},
            start,
            idempotency_key=f"next-month-after-{event.i_event}",
        )
        local = boundary.astimezone(ZoneInfo(account["time_zone"]))
        self._status(i_account, "OK", f"roaming data blocked until {local:%Y-%m-%d %H:%M %Z}")
        self.settings.report(
            f"[app] i_event {event.i_event}: account {i_account} over quota -> blocked in the "
            f"HSS; new month starts {local:%Y-%m-%d %H:%M} {account['time_zone']} = "
            f"{boundary:%Y-%m-%d %H:%M:%S} UTC; Custom/NextMonth #{scheduled} scheduled for "
            f"{start:%Y-%m-%d %H:%M:%S} UTC"
        )

    def next_month(self, event: Event) -> None:
        i_account = int(event.variable("i_account"))
        account = self._account(i_account)
        balance = Decimal(account["balance"])
        if balance >= self.settings.minimum_balance:
            self._hss(i_account, "unblock")
            self._status(i_account, "OK", f"new month, balance {balance}: roaming data unblocked")
            outcome = "unblocked"
        else:
            self._status(
                i_account,
                "OK",
                f"new month, balance {balance} below {self.settings.minimum_balance}: "
                "left blocked until a top-up",
            )
            outcome = "left blocked (insufficient funds)"
        self.settings.report(
            f"[app] i_event {event.i_event}: new month for account {i_account}, "
            f"balance {balance} -> {outcome}"
        )

    def quota_available(self, event: Event) -> None:
        i_account = int(event.variable("i_account"))
        self._hss(i_account, "unblock")
        self._status(i_account, "OK", "quota available again: roaming data unblocked")
        self.settings.report(
            f"[app] i_event {event.i_event}: quota available for account {i_account} -> unblocked"
        )

    # -- the systems around it ----------------------------------------------------------
    def _account(self, i_account: int) -> dict[str, str]:
        try:
            answer = self.http.get(f"{self.settings.billing_url}/account/{i_account}")
        except httpx.TransportError as exc:
            raise RetryLater(f"the billing API is unreachable: {exc}", after=5) from exc
        answer.raise_for_status()
        data: dict[str, str] = answer.json()
        return data

    def _hss(self, i_account: int, action: str) -> None:
        answer = self.http.post(f"{self.settings.hss_url}/subscribers/{i_account}/{action}")
        if answer.status_code != 200:
            self._status(i_account, "RETRY", f"HSS {action} answered {answer.status_code}")
            self.settings.report(
                f"[app] HSS {action} of account {i_account} answered {answer.status_code}; "
                "answering 500 so that espf resends"
            )
            raise HssFailed(f"HSS {action} of account {i_account}: {answer.status_code}")

    def _status(self, i_account: int, status: str, message: str) -> None:
        # A report that does not get through must not undo the provisioning
        # done: it is logged, and the next report brings the status up to date.
        try:
            self.espf.account_status_report_by_i_account(i_account, status, GROUP, message)
        except EspfError:
            log.exception("could not report the status of account %d", i_account)

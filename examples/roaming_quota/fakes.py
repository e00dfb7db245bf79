"""Stand-ins for the systems the Application talks to, as small HTTP
services: PortaBilling's account API (balance, roaming service state, time
zone) and the mobile core's HSS (block/unblock, with a log, and failures to
order)."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from decimal import Decimal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Account:
    i_account: int
    balance: Decimal
    time_zone: str
    roaming: str = "active"  # PortaBilling's view: active, quota_exceeded


class FakeBilling:
    """GET /account/{i_account}: balance, time zone and roaming service state."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = {account.i_account: account for account in accounts}
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[Route("/account/{i_account:int}", self._get_account, methods=["GET"])]
        )

    def top_up(self, i_account: int, amount: Decimal) -> Decimal:
        with self._lock:
            account = self.accounts[i_account]
            account.balance += amount
            return account.balance

    def set_roaming(self, i_account: int, state: str) -> None:
        with self._lock:
            self.accounts[i_account].roaming = state

    async def _get_account(self, request: Request) -> JSONResponse:
        account = self.accounts.get(request.path_params["i_account"])
        if account is None:
            return JSONResponse({"error": "no such account"}, status_code=404)
        with self._lock:
            data = asdict(account)
        data["balance"] = str(data["balance"])
        return JSONResponse(data)


@dataclass(frozen=True)
class HssAction:
    at: float
    action: str  # block, unblock
    i_account: int


class FakeHss:
    """POST /subscribers/{i_account}/block and /unblock. ``fail_next(n)``
    makes the next n requests answer 500, as a core network in trouble does."""

    def __init__(self) -> None:
        self.log: list[HssAction] = []
        self.blocked: set[int] = set()
        self._failures = 0
        self.failed = 0
        self._lock = threading.Lock()
        self.app = Starlette(
            routes=[Route("/subscribers/{i_account:int}/{action:str}", self._act, methods=["POST"])]
        )

    def fail_next(self, count: int) -> None:
        with self._lock:
            self._failures = count

    def actions(self) -> list[tuple[str, int]]:
        with self._lock:
            return [(entry.action, entry.i_account) for entry in self.log]

    async def _act(self, request: Request) -> JSONResponse:
        action, i_account = request.path_params["action"], request.path_params["i_account"]
        if action not in {"block", "unblock"}:
            return JSONResponse({"error": f"unknown action {action}"}, status_code=404)
        with self._lock:
            if self._failures > 0:
                self._failures -= 1
                self.failed += 1
                return JSONResponse({"error": "HSS internal error"}, status_code=500)
            self.log.append(HssAction(time.time(), action, i_account))
            if action == "block":
                self.blocked.add(i_account)
            else:
                self.blocked.discard(i_account)
        return JSONResponse({"i_account": i_account, "roaming_data": action + "ed"})

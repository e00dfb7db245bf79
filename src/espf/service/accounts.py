"""Account provisioning status: what each Application reports about the
accounts it provisions, per service group, with its history."""

from __future__ import annotations

from dataclasses import dataclass

from espf.account_status import provisioning_status, service_group, status_message
from espf.domain import AccountRef, AccountStatusChange
from espf.service.core import ServiceCore
from espf.service.request_parsing import check_page_limit


@dataclass(frozen=True, slots=True)
class AccountStatusView:
    account: AccountRef
    current: list[AccountStatusChange]  # the latest report per service group
    history: list[AccountStatusChange]  # newest first, one page
    next_before: int | None  # the i_status_change to continue below


class AccountOperations(ServiceCore):
    async def account_status_report(
        self,
        i_env: int,
        account: AccountRef,
        group: str,
        status: str,
        message: str | None,
        reported_by: int | None,
    ) -> AccountStatusChange:
        return await self.store.account_status_report(
            i_env,
            account,
            service_group(group),
            provisioning_status(status),
            status_message(message),
            self.clock.now_ms(),
            reported_by,
        )

    async def account_status(
        self,
        i_env: int,
        account: AccountRef,
        group: str | None = None,
        before: int | None = None,
        limit: int = 100,
    ) -> AccountStatusView:
        """The current status per group and one page of the history."""
        check_page_limit(limit)
        wanted = service_group(group) if group is not None else None
        current = await self.store.account_status_current(i_env, account)
        history = await self.store.account_status_history(i_env, account, wanted, before, limit + 1)
        more = len(history) > limit
        history = history[:limit]
        return AccountStatusView(
            account,
            [c for c in current if wanted is None or c.group == wanted],
            history,
            history[-1].i_status_change if more else None,
        )

"""An account's whole history: exported as JSON lines, or expunged for a
data-protection request (refused while one of its deliveries is in flight),
with a record that the expunge happened."""

from __future__ import annotations

from espf.account_history import AccountExpunged, AccountHistory
from espf.account_status import MAX_I_ACCOUNT
from espf.domain import AccountKind, AccountRef
from espf.errors import BadRequest, Conflict
from espf.service.core import ServiceCore
from espf.store.account_plans import DeliveryInFlight


def _account(i_account: object) -> AccountRef:
    # bool is an int in Python, but true is no account number.
    match i_account:
        case bool():
            pass
        case int() if 1 <= i_account <= MAX_I_ACCOUNT:
            return AccountRef(AccountKind.I_ACCOUNT, str(i_account))
    raise BadRequest(
        f"i_account must be a positive integer, got {i_account!r}", code="invalid_account"
    )


class AccountHistoryOperations(ServiceCore):
    async def account_export(self, i_env: int, i_account: object) -> AccountHistory:
        account = _account(i_account)
        await self._require_env(i_env)
        return await self.store.account_export(i_env, account)

    async def account_expunge(
        self, i_env: int, i_account: object, by: int | None = None
    ) -> AccountExpunged:
        account = _account(i_account)
        await self._require_env(i_env)
        try:
            return await self.store.account_expunge(i_env, account, self.clock.now_ms(), by)
        except DeliveryInFlight as busy:
            raise Conflict(
                f"account {i_account} has {len(busy.i_deliveries)} delivery(ies) being sent "
                f"now ({', '.join(map(str, busy.i_deliveries[:10]))}); nothing was deleted. "
                "Try again once they are answered",
                code="delivery_in_flight",
            ) from None

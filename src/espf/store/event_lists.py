"""Lists of events: the API's (event/list) and the console's, which also
narrows by handler and start time. One query serves both, so that their
columns and filters cannot drift apart."""

from __future__ import annotations

from espf.domain import Event, EventFilter
from espf.store import rows
from espf.store.params import event_filter_params
from espf.store.sql_backend import SqlBackend

# The variable operators look for most: it has an index of its own.
ACCOUNT_VARIABLE = "i_account"


class EventLists(SqlBackend):
    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        return await self.console_event_list(event_filter, None, None, None)

    async def console_event_list(
        self,
        event_filter: EventFilter,
        handler: str | None,
        start_from: int | None,
        start_to: int | None,
    ) -> list[Event]:
        params = event_filter_params(event_filter) | {
            "handler": handler,
            "start_from": start_from,
            "start_to": start_to,
        }
        by_account = event_filter.i_env is not None and params["var_name"] == ACCOUNT_VARIABLE
        query = "console_event_list_by_account" if by_account else "console_event_list"
        return [rows.event(r) for r in await self._fetchall(query, params)]

"""The operator console's reads, written once for both stores: each store
passes its own ``fetchall`` (query name, parameters -> rows), which runs its
backend's query of that name (the ``console_*`` queries of queries.sql)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from espf.domain import Event, EventFilter
from espf.store import rows
from espf.store.params import event_filter_params

FetchAll = Callable[[str, dict[str, Any]], Awaitable[list[Any]]]

# The variable with an index of its own (events_by_account, migration 0005).
ACCOUNT_VARIABLE = "i_account"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


async def event_list(
    fetchall: FetchAll,
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
    return [rows.event(r) for r in await fetchall(query, params)]


async def event_counts(fetchall: FetchAll, i_env: int, created_by: int | None) -> dict[str, int]:
    query = "console_event_counts" if created_by is None else "console_event_counts_by_creator"
    found = await fetchall(query, {"i_env": i_env, "created_by": created_by})
    return {str(state): int(count) for state, count in found}


async def due_soon(
    fetchall: FetchAll, i_env: int, created_by: int | None, now: int
) -> tuple[int, int]:
    params = {
        "i_env": i_env,
        "created_by": created_by,
        "now": now,
        "hour_end": now + HOUR_MS,
        "day_end": now + DAY_MS,
    }
    ((hour, day),) = await fetchall("console_due_soon", params)
    return int(hour), int(day)


async def attempt_buckets(
    fetchall: FetchAll, i_env: int, since: int, until: int, bucket_ms: int
) -> list[tuple[int, str, int]]:
    params = {"i_env": i_env, "since": since, "until": until, "bucket_ms": bucket_ms}
    found = await fetchall("console_attempt_buckets", params)
    return [(int(bucket), str(outcome), int(count)) for bucket, outcome, count in found]


async def lateness(fetchall: FetchAll, i_env: int, since: int, limit: int) -> list[int]:
    found = await fetchall("console_lateness", {"i_env": i_env, "since": since, "limit": limit})
    return [int(late) for (late,) in found]


async def handler_stats(fetchall: FetchAll, i_env: int) -> dict[int, tuple[int, int | None]]:
    found = await fetchall("console_handler_stats", {"i_env": i_env})
    return {
        int(i_handler): (int(backlog), None if last is None else int(last))
        for i_handler, backlog, last in found
    }

"""Retention as plans (plan.py): one batch of whole events pruned in one
short transaction, written once for both backends.

A batch takes at most ``limit`` events, oldest first, that are final and
older than their state's cutoff, then deletes their rows children first:
transitions, attempts, deliveries, events. An event is deleted whole or not
at all: on PostgreSQL the candidates are locked, then looked at again in a
new statement (a fresh snapshot), so a delivery reopened meanwhile keeps its
event; SQLite's one writer sees no concurrent change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from espf.db_stats import DbStats, StateRows
from espf.retention import ACCOUNT_HISTORY, PRUNABLE_STATES, PruneScope
from espf.store.plan import Plan, row, rows, run

# The tables pruning deletes from, in the order it deletes.
PRUNED_TABLES = ("transitions", "attempts", "deliveries", "events")
# Every table a prune round (or the dispatcher's idempotency sweep) deletes
# from, whose freed space must become reusable (store/pg_vacuum.py).
RECLAIMED_TABLES = (
    *PRUNED_TABLES,
    "account_status_history",
    "idempotency_keys",
    "console_attempt_minutes",
    "console_attempt_changes",
    "console_event_state_changes",
)


@dataclass(slots=True)
class PruneBatch:
    """What one batch removed; ``busy`` when another node holds the prune lock."""

    events: int = 0
    deleted: dict[str, int] = field(default_factory=dict)
    busy: bool = False


def _scoped(scope: PruneScope, cutoff: int) -> dict[str, object]:
    """The parameters every scoped retention query takes."""
    return {"cutoff": cutoff, "only_env": scope.only_env, "ids": list(scope.except_envs)}


def prune_events_batch(scope: PruneScope, limit: int) -> Plan[PruneBatch]:
    got_lock = yield row("prune_try_lock", {})
    if not got_lock or not got_lock[0]:
        return PruneBatch(busy=True)
    candidates: list[int] = []
    for state in PRUNABLE_STATES:
        left = limit - len(candidates)
        if left <= 0:
            break
        found = yield rows(
            "prune_candidates",
            _scoped(scope, scope.cutoffs[state]) | {"state": state, "limit": left},
        )
        candidates.extend(int(r[0]) for r in found)
    if not candidates:
        return PruneBatch()
    still = yield rows("prune_still_final", {"ids": candidates})
    ids = [int(r[0]) for r in still]
    deleted: dict[str, int] = {}
    for table in PRUNED_TABLES:
        deleted[table] = yield run(f"prune_{table}", {"ids": ids})
    return PruneBatch(events=deleted["events"], deleted=deleted)


def prune_account_history_batch(scope: PruneScope, limit: int) -> Plan[int]:
    got_lock = yield row("prune_try_lock", {})
    if not got_lock or not got_lock[0]:
        return 0
    removed: int = yield run(
        "prune_account_history", _scoped(scope, scope.cutoffs[ACCOUNT_HISTORY]) | {"limit": limit}
    )
    return removed


def prune_console_minutes_batch(scope: PruneScope, limit: int) -> Plan[int]:
    got_lock = yield row("prune_try_lock", {})
    if not got_lock or not got_lock[0]:
        return 0
    removed: int = yield run(
        "prune_console_attempt_minutes", _scoped(scope, scope.oldest_cutoff) | {"limit": limit}
    )
    return removed


def prune_preview(scopes: Sequence[PruneScope]) -> Plan[dict[str, int]]:
    """How many events per state, and account status reports, would go now."""
    counts = dict.fromkeys((*PRUNABLE_STATES, ACCOUNT_HISTORY), 0)
    for scope in scopes:
        for state in PRUNABLE_STATES:
            found = yield row(
                "prune_count", _scoped(scope, scope.cutoffs[state]) | {"state": state}
            )
            counts[state] += int(found[0])
        found = yield row(
            "prune_account_history_count", _scoped(scope, scope.cutoffs[ACCOUNT_HISTORY])
        )
        counts[ACCOUNT_HISTORY] += int(found[0])
    return counts


def db_stats(scopes: Sequence[PruneScope]) -> Plan[DbStats]:
    """Rows per table and per state, the database's size, and what a prune
    now would remove; one snapshot on PostgreSQL."""
    tables = yield rows("stats_table_rows", {})
    events = yield rows("stats_events_by_state", {})
    deliveries = yield rows("stats_deliveries_by_state", {})
    size = yield row("stats_database_size", {})
    next_prune = yield from prune_preview(scopes)
    return DbStats(
        rows={str(r[0]): int(r[1]) for r in tables},
        events_by_state={str(r[0]): StateRows(int(r[1]), r[2]) for r in events},
        deliveries_by_state={str(r[0]): StateRows(int(r[1]), r[2]) for r in deliveries},
        size_bytes=int(size[0]),
        free_bytes=None if size[1] is None else int(size[1]),
        next_prune=next_prune,
    )

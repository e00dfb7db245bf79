"""What `espf db stats` and the database gauges of /metrics show."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StateRows:
    count: int
    oldest_at: int | None  # created_at of the oldest row in this state (epoch ms)


@dataclass(frozen=True, slots=True)
class DbStats:
    rows: dict[str, int]  # table -> rows
    events_by_state: dict[str, StateRows]
    deliveries_by_state: dict[str, StateRows]
    size_bytes: int  # the database (SQLite: the file; PostgreSQL: the schema's tables and indexes)
    free_bytes: int | None  # SQLite: free pages waiting for reuse; unknown on PostgreSQL
    next_prune: dict[str, int]  # events per state, and account_history, a prune now removes

"""The hooks every SQL backend supplies to the operations written once
(sql_records.py, sql_deliveries.py): how a plan (plan.py) or a single named
query runs, how a transaction opens, and what truly differs per backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from espf.errors import Conflict, NotFound
from espf.store.batch_insert import BatchInserter
from espf.store.plan import IntegrityFailure, Plan

P = ParamSpec("P")
T = TypeVar("T")


def type_gone() -> NotFound:
    # Another process deleted the type (or handler) after it was looked up.
    return NotFound(
        "the event type or handler no longer exists; it was just deleted",
        code="unknown_event_type",
    )


def conflict(failure: IntegrityFailure, message: str) -> Conflict:
    return Conflict(message if failure.kind == "unique" else f"{message} ({failure.detail})")


class SqlBackend(ABC):
    backend: str
    _inserter: BatchInserter
    # Whether any handler had delivery limits when last looked: while none
    # has, a claim skips the limiter query, so unlimited delivery pays
    # nothing for limits. Refreshed by every next_due_at (the dispatcher asks
    # before each sleep, so a limiter created by another process is seen
    # at its next sleep, and a due limited delivery never makes it spin) and
    # set by a limited handler written here. None until first known: read
    # from the database by the first claim (assuming limits instead made every
    # claim of a dispatcher with a backlog, which never sleeps and so never
    # asks next_due_at, run the limiter query: 7-14 % of SQLite's delivery rate).
    _limiters_seen: bool | None = None

    async def _limits_in_use(self) -> bool:
        """Whether a claim must look at limited handlers."""
        if self._limiters_seen is None:
            found = await self._fetchone("limiters_exist", {})
            self._limiters_seen = bool(found[0])
        return self._limiters_seen

    # -- what a backend supplies ---------------------------------------------------
    @abstractmethod
    async def _write(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the plan in one write transaction, committed before this returns.
        A constraint failure is raised as IntegrityFailure."""

    @abstractmethod
    async def _read(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a plan of reads (on PostgreSQL, in one snapshot of the data)."""

    @abstractmethod
    async def _fetchall(self, query: str, params: Mapping[str, Any]) -> list[Any]: ...

    @abstractmethod
    async def _fetchone(self, query: str, params: Mapping[str, Any]) -> Any: ...

    @abstractmethod
    async def _change(self, query: str, params: Mapping[str, Any]) -> int:
        """One writing statement on its own; how many rows it changed."""

    @abstractmethod
    def _record_rows(self, node_id: str, updates: list[dict[str, Any]]) -> Plan[list[Any]]:
        """The outcome updates of a batch (see delivery_rules.RecordRows)."""

    @abstractmethod
    def announce_due(self, due_at: int) -> None:
        """See Store.announce_due."""

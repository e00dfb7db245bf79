"""What both SQL backends do the same way: every Store operation built from
named queries and plans (plan.py, delivery_rules.py, record_plans.py).

A backend subclasses ``SqlStore`` and supplies how a named query runs and how
a transaction opens (the abstract methods below), plus what truly differs:
opening and migrating, batched event inserts, the batch update of outcomes,
copying, and waking other processes (``_wake``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar

from espf.domain import (
    AccountRef,
    AccountStatusChange,
    ApiUser,
    AttemptOutcome,
    BlockedKey,
    ClaimedDelivery,
    Delivery,
    Environment,
    Event,
    EventFilter,
    EventType,
    EventTypeUsage,
    Handler,
    HandlerHealth,
    HandlerSettings,
    NewEvent,
    ProvisioningStatus,
    ReplayFilter,
    Role,
    Transition,
)
from espf.errors import Conflict, NotFound
from espf.standard_types import BUILTIN_EVENT_TYPES
from espf.store import delivery_rules as rules
from espf.store import record_plans as records
from espf.store import rows
from espf.store.batch_insert import BatchInserter
from espf.store.params import (
    account_status_params,
    event_filter_params,
    new_event_params,
    outcome_params,
    replay_params,
)
from espf.store.plan import IntegrityFailure, Plan, one_statement

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


class SqlStore(ABC):
    backend: str
    _inserter: BatchInserter

    # -- what a backend supplies ---------------------------------------------------
    @abstractmethod
    async def _write(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run the plan in one write transaction, committed before this returns.
        A constraint failure is raised as IntegrityFailure."""

    @abstractmethod
    async def _read(self, plan: Callable[P, Plan[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a plan of reads; its statements see one snapshot of the data."""

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
    def _wake(self, due_at: int) -> None:
        """Something became due at ``due_at``: tell the other processes."""

    # -- schema ----------------------------------------------------------------
    async def ensure_builtin_event_types(self, now: int) -> None:
        params = [{"i_event_type": i, "name": n, "now": now} for i, n in BUILTIN_EVENT_TYPES]
        await self._write(one_statement, "run_many", "event_type_insert_builtin", params)

    # -- environments and users ---------------------------------------------------
    async def env_create(self, i_env: int | None, name: str, now: int) -> Environment:
        try:
            return await self._write(records.create_environment, i_env, name, now)
        except IntegrityFailure as failure:
            raise conflict(failure, f"environment {i_env or name!r} already exists") from None

    async def env_get(self, i_env: int) -> Environment | None:
        row = await self._fetchone("env_get", {"i_env": i_env})
        return rows.environment(row) if row else None

    async def env_list(self) -> list[Environment]:
        return [rows.environment(r) for r in await self._fetchall("env_list", {})]

    async def user_create(
        self, i_env: int, login: str, password_hash: str, role: Role, now: int
    ) -> ApiUser:
        params = {
            "i_env": i_env,
            "login": login,
            "password_hash": password_hash,
            "role": role.value,
            "now": now,
        }
        try:
            found = await self._write(one_statement, "row", "user_insert", params)
        except IntegrityFailure as failure:
            raise conflict(failure, f"user {login!r} already exists") from None
        return rows.api_user(found)

    async def user_get_by_login(self, login: str) -> ApiUser | None:
        row = await self._fetchone("user_get_by_login", {"login": login})
        return rows.api_user(row) if row else None

    async def user_list(self, i_env: int | None) -> list[ApiUser]:
        return [rows.api_user(r) for r in await self._fetchall("user_list", {"i_env": i_env})]

    async def user_count(self) -> int:
        row = await self._fetchone("user_count", {})
        return int(row[0])

    async def user_delete(self, i_env: int, login: str) -> bool:
        return await self._write(records.delete_user, i_env, login)

    async def user_set_role(self, i_env: int, login: str, role: Role) -> ApiUser | None:
        params = {"i_env": i_env, "login": login, "role": role.value}
        return await self._write(records.set_user_role, params)

    # -- event types ----------------------------------------------------------------
    async def event_type_create_custom(self, name: str, now: int) -> EventType:
        try:
            return await self._write(records.create_custom_event_type, name, now)
        except IntegrityFailure as failure:
            raise conflict(failure, f"event type {name!r} already exists") from None

    async def event_type_get_by_name(self, name: str) -> EventType | None:
        row = await self._fetchone("event_type_get_by_name", {"name": name})
        return rows.event_type(row) if row else None

    async def event_type_list(self) -> list[EventType]:
        return [rows.event_type(r) for r in await self._fetchall("event_type_list", {})]

    async def event_type_delete(self, i_event_type: int, now: int) -> bool:
        try:
            return await self._write(records.delete_event_type, i_event_type, now)
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                return False  # events (or a subscription just committed) use it
            raise

    async def event_type_usage(self, i_event_type: int, i_env: int) -> EventTypeUsage:
        subscribers, counts = await self._read(records.event_type_counts, i_event_type, i_env)
        return rows.event_type_usage(subscribers, counts[0], counts[1], i_env)

    # -- handlers and subscriptions --------------------------------------------------
    async def handler_create(
        self, i_env: int, name: str, settings: HandlerSettings, now: int
    ) -> Handler:
        try:
            return await self._write(records.create_handler, i_env, name, settings, now)
        except IntegrityFailure as failure:
            message = f"handler {name!r} already exists in environment {i_env}"
            raise conflict(failure, message) from None

    async def handler_update(self, handler: Handler, now: int) -> Handler:
        return await self._write(records.update_handler, handler, now)

    async def handler_get(self, i_env: int, name: str) -> Handler | None:
        row = await self._fetchone("handler_get", {"i_env": i_env, "name": name})
        return rows.handler(row) if row else None

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return [rows.handler(r) for r in await self._fetchall("handler_list", {"i_env": i_env})]

    async def handler_delete(self, handler: Handler, now: int) -> int:
        return await self._write(records.delete_handler, handler, now)

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        try:
            return await self._change("subscription_insert", params) > 0
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                raise type_gone() from None
            raise

    async def subscription_remove(self, i_handler: int, i_event_type: int) -> bool:
        params = {"i_handler": i_handler, "i_event_type": i_event_type}
        return await self._change("subscription_delete", params) > 0

    async def subscription_add_all(self, i_handler: int) -> int:
        return await self._change("subscription_insert_all", {"i_handler": i_handler})

    async def subscription_list(self, i_handler: int) -> list[str]:
        return [r[0] for r in await self._fetchall("subscription_list", {"i_handler": i_handler})]

    # -- events ------------------------------------------------------------------------
    async def event_insert(self, event: NewEvent, now: int) -> int:
        params = new_event_params(event, now)
        try:
            if event.idempotency is None:
                i_event, created = await self._inserter.insert(params), True
            else:
                # One transaction, committed before this returns: durable.
                i_event, created = await self._write(
                    records.insert_idempotent_event, event, params, now
                )
        except IntegrityFailure as failure:
            if failure.kind == "foreign_key":
                raise type_gone() from None
            raise
        if created:
            self._wake(event.start_at)
        return i_event

    async def _insert_event(self, params: Mapping[str, Any]) -> int:
        """One event on its own, when a batch of them failed."""
        return await self._write(records.insert_event, params)

    async def idempotency_prune(self, not_before: int) -> int:
        return await self._change("idempotency_key_prune", {"not_before": not_before})

    async def transition_list(self, i_event: int) -> list[Transition]:
        found = await self._fetchall("transition_list_for_event", {"i_event": i_event})
        return [rows.transition(r) for r in found]

    async def event_get(self, i_event: int, i_env: int | None) -> Event | None:
        row = await self._fetchone("event_get", {"i_event": i_event, "i_env": i_env})
        return rows.event(row) if row else None

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        params = event_filter_params(event_filter)
        return [rows.event(r) for r in await self._fetchall("event_list", params)]

    async def event_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("event_count_by_state", {})}

    async def delivery_list_for_event(self, i_event: int) -> list[Delivery]:
        # One snapshot for both reads, so that the attempt log matches the
        # deliveries it belongs to.
        found = await self._read(records.event_deliveries, i_event)
        return rows.deliveries_with_attempts(*found)

    async def delivery_count_by_state(self) -> dict[str, int]:
        return {r[0]: r[1] for r in await self._fetchall("delivery_count_by_state", {})}

    async def due_backlog(self, now: int) -> tuple[int, int | None]:
        count, oldest = await self._fetchone("due_backlog", {"now": now})
        return int(count), (oldest if oldest is not None and oldest <= now else None)

    # -- dispatching ------------------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        return await self._write(rules.dispatch_due, node_id, now, limit)

    async def next_due_at(self) -> int | None:
        row = await self._fetchone("next_due_at", {})
        return None if row[0] is None else int(row[0])

    async def delivery_record_outcomes(
        self, node_id: str, outcomes: Sequence[AttemptOutcome]
    ) -> list[HandlerHealth]:
        if not outcomes:
            return []
        updates, attempts = outcome_params(node_id, outcomes)
        # Rows locked in one order by every writer cannot deadlock each other.
        updates.sort(key=lambda u: int(u["i_delivery"]))
        return await self._write(
            rules.record_outcomes, node_id, outcomes, updates, attempts, self._record_rows
        )

    async def node_heartbeat(self, node_id: str, hostname: str, pid: int, now: int) -> None:
        params = {"node_id": node_id, "hostname": hostname, "pid": pid, "now": now}
        await self._change("node_upsert", params)

    async def node_list(self) -> list[tuple[str, str, int, int]]:
        return [(r[0], r[1], r[2], r[3]) for r in await self._fetchall("node_list", {})]

    async def node_mark_dead(self, node_id: str) -> None:
        await self._change("node_mark_dead", {"node_id": node_id})

    async def node_rescue_orphans(self, now: int, cutoff: int) -> int:
        return await self._write(rules.rescue_orphans, now, cutoff)

    async def node_release(self, node_id: str, now: int) -> int:
        return await self._write(rules.release_node, node_id, now)

    # -- operator actions ---------------------------------------------------------------
    async def handler_set_paused(
        self, handler: Handler, paused: bool, reason: str, now: int, announce: NewEvent | None
    ) -> bool:
        announced = await self._write(rules.set_paused, handler, paused, reason, now, announce)
        if announce is not None and announced:
            self._wake(announce.start_at)
        return announced is not None

    async def delivery_get(self, i_delivery: int, i_env: int | None) -> Delivery | None:
        row = await self._fetchone("delivery_get", {"i_delivery": i_delivery, "i_env": i_env})
        return rows.delivery(row, []) if row else None

    async def deliveries_reopen(self, ids: Sequence[int], now: int, reason: str) -> int:
        count = await self._write(rules.reopen, list(ids), now, reason)
        if count:
            self._wake(now)
        return count

    async def deliveries_match(self, replay: ReplayFilter) -> list[int]:
        matched = await self._fetchall("delivery_match_for_replay", replay_params(replay))
        return [r[0] for r in matched]

    async def event_cancel(self, i_event: int, i_env: int, now: int, reason: str) -> int:
        return await self._write(rules.cancel_event, i_event, i_env, now, reason)

    async def event_reschedule(
        self, i_event: int, i_env: int, start_at: int, now: int, reason: str
    ) -> bool:
        moved = await self._write(rules.reschedule_event, i_event, i_env, start_at, now, reason)
        if moved:
            self._wake(start_at)
        return moved

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]:
        params = {"i_env": i_env, "handler": handler}
        return [rows.blocked_key(r) for r in await self._fetchall("delivery_blocked_keys", params)]

    # -- copying a whole database ------------------------------------------------------------
    async def copy_row_counts(self) -> dict[str, int]:
        return {str(r[0]): int(r[1]) for r in await self._fetchall("copy_row_counts", {})}

    async def copy_write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        await self._write(one_statement, "run_many", f"copy_write_{table}", rows)

    # -- account provisioning status ---------------------------------------------------
    async def account_status_report(
        self,
        i_env: int,
        account: AccountRef,
        group: str,
        status: ProvisioningStatus,
        message: str,
        now: int,
        reported_by: int | None,
    ) -> AccountStatusChange:
        params = account_status_params(i_env, account, group) | {
            "status": status.value,
            "message": message,
            "now": now,
            "reported_by": reported_by,
        }
        return await self._write(records.report_account_status, params)

    async def account_status_current(
        self, i_env: int, account: AccountRef
    ) -> list[AccountStatusChange]:
        params = account_status_params(i_env, account, None)
        found = await self._fetchall("account_status_current", params)
        return [rows.account_status_change(r) for r in found]

    async def account_status_history(
        self, i_env: int, account: AccountRef, group: str | None, before: int | None, limit: int
    ) -> list[AccountStatusChange]:
        params = account_status_params(i_env, account, group) | {"before": before, "limit": limit}
        found = await self._fetchall("account_status_history", params)
        return [rows.account_status_change(r) for r in found]

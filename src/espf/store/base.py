"""The Store protocol: one method per operation, domain objects in and out.

The service layer and the dispatcher talk to storage only through this
protocol; ``sqlite.py`` and ``postgres.py`` implement it, both through
``SqlStore`` (sql_store.py), where every operation is written once, and one
contract test suite (tests/contract) runs against both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from espf.account_history import AccountExpunged, AccountHistory
from espf.auth_records import ApiToken, StoredSession
from espf.db_stats import DbStats
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
    HandlerFlow,
    HandlerHealth,
    HandlerSettings,
    NewEvent,
    ProvisioningStatus,
    ReplayFilter,
    Role,
    Transition,
)
from espf.maintenance import MaintenanceWindow
from espf.retention import PruneScope
from espf.schedule_model import Materialized, NewSchedule, Schedule
from espf.store.retention_plans import PruneBatch
from espf.store.schedule_plans import Decide
from espf.store.storage_full import StorageWatch


class Store(Protocol):
    backend: str  # "sqlite" or "postgres"
    storage: StorageWatch  # whether the database's disk is full now (storage_full.py)

    async def open(self) -> None:
        """Connect. Does not change the schema: see migrate()."""

    async def close(self) -> None: ...

    # -- schema -------------------------------------------------------------
    async def migrate(self) -> list[int]:
        """Apply the migrations not yet applied; return their versions."""

    async def schema_version(self) -> int: ...

    async def ensure_builtin_event_types(self, now: int) -> None: ...

    # -- environments and users -------------------------------------------
    async def env_create(self, i_env: int | None, name: str, now: int) -> Environment:
        """Raise Conflict if the id or the name is taken."""

    async def env_get(self, i_env: int) -> Environment | None: ...

    async def env_list(self) -> list[Environment]: ...

    async def user_create(
        self,
        i_env: int,
        login: str,
        password_hash: str,
        role: Role,
        now: int,
        weak_password: bool = False,
    ) -> ApiUser:
        """Raise Conflict if the login is taken (logins are global: Basic auth
        carries no environment)."""

    async def user_get_by_login(self, login: str) -> ApiUser | None: ...

    async def user_list(self, i_env: int | None) -> list[ApiUser]: ...

    async def user_count(self) -> int: ...

    async def user_delete(self, i_env: int, login: str) -> bool:
        """False if there is no such user in ``i_env``, or if it is the
        environment's last administrator (an environment keeps one)."""

    async def user_set_role(self, i_env: int, login: str, role: Role) -> ApiUser | None:
        """None if there is no such user in ``i_env``, or if the change would
        leave the environment without an administrator."""

    # -- event types ----------------------------------------------------------
    async def event_type_create_custom(self, name: str, now: int) -> EventType:
        """Give the next custom id (10001 first). Raise Conflict if it exists."""

    async def event_type_get_by_name(self, name: str) -> EventType | None: ...

    async def event_type_list(self) -> list[EventType]: ...

    async def event_type_delete(self, i_event_type: int, now: int) -> bool:
        """Delete a custom type that no subscription and no event uses, and
        retire its id for good. False if it is in use, built in or unknown."""

    async def event_type_usage(self, i_event_type: int, i_env: int) -> EventTypeUsage:
        """What uses the type, told apart for ``i_env`` and the others."""

    # -- handlers and subscriptions -------------------------------------------
    async def handler_create(
        self, i_env: int, name: str, settings: HandlerSettings, now: int
    ) -> Handler:
        """``settings`` is complete here. Raise Conflict if the name is taken."""

    async def handler_update(self, handler: Handler, now: int) -> Handler:
        """Store every field of ``handler``. Disabling holds its pending
        deliveries; enabling makes held ones pending again."""

    async def handler_get(self, i_env: int, name: str) -> Handler | None: ...

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        """Deleted handlers are left out, as by handler_get."""

    async def handler_delete(self, handler: Handler, now: int) -> int:
        """Delete a handler with no unfinished delivery, with its
        subscriptions; its row stays, renamed and with its secrets wiped, for
        the history of its finished deliveries, which are never sent again.
        Return 0 when deleted, else the number of unfinished deliveries."""

    async def subscription_add(self, i_handler: int, i_event_type: int) -> bool:
        """Return False if it already existed. Raise NotFound if the type was
        deleted since it was looked up."""

    async def subscription_remove(self, i_handler: int, i_event_type: int) -> bool:
        """Return False if there was none."""

    async def subscription_add_all(self, i_handler: int) -> int:
        """Subscribe to every existing type; return how many were new."""

    async def subscription_list(self, i_handler: int) -> list[str]: ...

    # -- events -----------------------------------------------------------------
    async def event_insert(self, event: NewEvent, now: int) -> int:
        """Commit durably, then return the new ``i_event``. With an
        idempotency key seen within its window, return the first event's id
        instead; raise Conflict if that request's body was different, and
        NotFound if its event type was deleted since it was looked up."""

    async def idempotency_prune(self, not_before: int) -> int:
        """Forget idempotency keys older than ``not_before``."""

    # -- retention (retention_plans.py) ----------------------------------------
    async def prune_events(self, scope: PruneScope, limit: int) -> PruneBatch:
        """Delete up to ``limit`` whole events of the scope's environments
        that are final and older than their state's cutoff (``scope.cutoffs``:
        state -> epoch ms), with every row of theirs, in one short
        transaction. ``busy`` if another node prunes."""

    async def prune_account_history(self, scope: PruneScope, limit: int) -> int:
        """Delete up to ``limit`` superseded account status reports of the
        scope older than its account_history cutoff; the current status of
        each account stays."""

    async def prune_console_minutes(self, scope: PruneScope, limit: int) -> int:
        """Delete up to ``limit`` rows of the console's attempts per minute
        (migration 0008) of minutes before the scope's longest window."""

    async def reclaim_space(self) -> list[str]:
        """Make the space pruning freed reusable; the tables this vacuumed.
        PostgreSQL: VACUUM (ANALYZE) of the pruned tables with enough dead
        rows (store/pg_vacuum.py), one node at a time. SQLite reuses the
        pages a delete freed by itself: nothing to do."""

    async def prune_preview(self, scopes: Sequence[PruneScope]) -> dict[str, int]:
        """How many events per state (and ``account_history`` reports) would go."""

    async def db_stats(self, scopes: Sequence[PruneScope]) -> DbStats:
        """Rows per table and state, oldest row per state, the database's
        size, and what pruning with ``cutoffs`` would remove now."""

    async def account_export(self, i_env: int, account: AccountRef) -> AccountHistory:
        """Every event (by its variables' i_account), delivery, attempt,
        transition and status report of the account, in one snapshot."""

    async def account_expunge(
        self, i_env: int, account: AccountRef, now: int, by: int | None
    ) -> AccountExpunged:
        """Delete all of it and record that it happened; raise
        DeliveryInFlight (and delete nothing) while one is being sent."""

    async def transition_list(self, i_event: int) -> list[Transition]:
        """Every recorded state change of the event and its deliveries."""

    async def event_get(self, i_event: int, i_env: int | None) -> Event | None: ...

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        """Newest first (i_event descending), every field of the filter narrowing."""

    async def event_count_by_state(self) -> dict[str, int]: ...

    async def delivery_list_for_event(self, i_event: int) -> list[Delivery]:
        """Deliveries with their full attempt log."""

    async def delivery_count_by_state(self) -> dict[str, int]: ...

    async def due_backlog(self, now: int) -> tuple[int, int | None]:
        """How many events and deliveries are due but not sent, and since
        when the oldest of them has been due (None if nothing is)."""

    # -- dispatching --------------------------------------------------------------
    async def dispatch_due(self, node_id: str, now: int, limit: int) -> list[ClaimedDelivery]:
        """Fan out due events into deliveries, then claim up to ``limit`` due
        deliveries for ``node_id``, all in one transaction."""

    def announce_due(self, due_at: int) -> None:
        """Tell the dispatchers of other processes that something committed
        becomes due at ``due_at``. Called by espf.due_wakeups after the
        commit, never inside a transaction; returns at once (PostgreSQL
        coalesces the announcements into few NOTIFYs); best effort, the poll
        covers a lost one. A backend without cross-process notification does
        nothing."""

    async def listen_for_due(self, callback: Callable[[int], None]) -> None:
        """From now until close(), call ``callback(due_at)`` when another
        process creates an event due at ``due_at``, so that a dispatcher wakes
        at once instead of at its next poll. Returns at once; the listening
        goes on in the background and survives reconnects. A backend without
        cross-process notification does nothing (SQLite: the in-process
        DueWakeups and the poll cover it)."""

    async def next_due_at(self, node_id: str | None = None) -> int | None:
        """The earliest instant at which something becomes due, if any, for
        the dispatcher ``node_id``: another node's turn at a rate-limited
        handler makes that handler's work due for it when the turn ends."""

    async def delivery_record_outcomes(
        self, node_id: str, outcomes: Sequence[AttemptOutcome]
    ) -> list[HandlerHealth]:
        """Record attempts and move deliveries on (ordering and event states
        included). Return the health of the handlers that failed in this
        batch, so that the dispatcher can pause one failing for too long."""

    async def node_heartbeat(self, node_id: str, hostname: str, pid: int, now: int) -> None: ...

    async def node_list(self) -> list[tuple[str, str, int, int]]:
        """``(node_id, hostname, pid, heartbeat_at)`` of every known node."""

    async def node_mark_dead(self, node_id: str) -> None: ...

    async def node_rescue_orphans(self, now: int, cutoff: int) -> int:
        """Return in-flight deliveries of nodes not heard from since ``cutoff``
        to pending; forget those nodes. Return how many were rescued."""

    async def node_release(self, node_id: str, now: int) -> int:
        """A node stopping gracefully hands back what it still holds."""

    # -- operator actions -----------------------------------------------------------
    async def handler_set_paused(
        self, handler: Handler, paused: bool, reason: str, now: int, announce: NewEvent | None
    ) -> bool:
        """Pause (pending deliveries are held) or resume (held ones go out),
        and insert ``announce`` in the same transaction. Return False if the
        handler already was in that state."""

    async def delivery_get(self, i_delivery: int, i_env: int | None) -> Delivery | None: ...

    async def deliveries_reopen(self, ids: Sequence[int], now: int, reason: str) -> int:
        """Make deliveries due now with a fresh retry budget; return how many.
        Deliveries of a deleted handler are left alone."""

    async def deliveries_match(self, replay: ReplayFilter) -> list[int]:
        """Deliveries of deleted handlers never match."""

    async def event_cancel(self, i_event: int, i_env: int, now: int, reason: str) -> int:
        """Cancel a scheduled event, or its deliveries not yet sent; return
        how many things were cancelled (0: nothing could be)."""

    async def event_reschedule(
        self, i_event: int, i_env: int, start_at: int, now: int, reason: str
    ) -> bool:
        """Move a not yet delivered event; False if some delivery is already
        in flight or done."""

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]: ...

    # -- maintenance windows (maintenance.py) ---------------------------------------
    async def maintenance_add(self, handler: Handler, window: MaintenanceWindow, now: int) -> int:
        """Add a window to the handler (validated by the caller); its id."""

    async def maintenance_list(self, i_handler: int) -> list[MaintenanceWindow]: ...

    async def maintenance_list_all(self) -> list[tuple[str, MaintenanceWindow]]:
        """Every live handler's windows, with the handler's name."""

    async def maintenance_remove(self, handler: Handler, i_window: int, now: int) -> bool:
        """False if the handler has no such window."""

    async def deliveries_hand_back(
        self, node_id: str, ids: Sequence[int], now: int, next_at: int, reason: str
    ) -> int:
        """Deliveries ``node_id`` claimed and did not send wait again, due at
        ``next_at``, their attempt count unchanged; how many did."""

    async def handler_flows(self, ids: Sequence[int] | None) -> list[HandlerFlow]:
        """The effective rate and circuit of these handlers; ``None``: of
        every live handler with a rate or a limiter row."""

    # -- copying a whole database (espf copy, see espf/copy.py) -------------------
    async def copy_row_counts(self) -> dict[str, int]:
        """Rows per copied table (see espf.copy.COPIED_TABLES)."""

    async def copy_read(self, table: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Rows of ``table`` whose key (first column) is above ``after``, in
        key order, as column -> value; about ``limit`` of them."""

    async def copy_write(self, table: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert rows read by copy_read, ids kept, in one transaction."""

    async def copy_finish(self) -> None:
        """After the last copy_write: make new ids continue past the copied ones."""

    # -- account provisioning status ----------------------------------------------
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
        """Add to the history and make it the group's current status."""

    async def account_status_current(
        self, i_env: int, account: AccountRef
    ) -> list[AccountStatusChange]:
        """The latest report of each service group, by group name."""

    async def account_status_history(
        self, i_env: int, account: AccountRef, group: str | None, before: int | None, limit: int
    ) -> list[AccountStatusChange]:
        """Reports newest first, older than ``before`` (an i_status_change) if given."""

    # -- passwords, server keys, sessions, API tokens (migration 0004) -------------
    async def user_set_password(
        self, i_env: int, login: str, password_hash: str, weak_password: bool, now: int
    ) -> ApiUser | None:
        """None if there is no such user in ``i_env``. Revokes every session
        of the user in the same transaction."""

    async def server_key(self, purpose: str, candidate: bytes, now: int) -> bytes:
        """The key kept for ``purpose``; ``candidate`` becomes it if there is
        none yet. Processes racing on a fresh database all get the same key."""

    async def session_create(
        self,
        session_id: str,
        i_user: int,
        i_api_token: int | None,
        refresh_hash: str,
        now: int,
        expires_at: int,
        keep: int,
    ) -> None:
        """Also forgets the user's ended sessions, and all but its newest
        ``keep`` (this one included)."""

    async def session_get(self, session_id: str) -> StoredSession | None: ...

    async def session_refresh(
        self, session_id: str, refresh_hash: str, new_refresh_hash: str, now: int, expires_at: int
    ) -> bool:
        """Replace the refresh token and extend the session; False if
        ``refresh_hash`` is not the current one or the session has ended."""

    async def session_revoke(self, session_id: str, now: int) -> bool: ...

    async def api_token_create(self, i_user: int, name: str, token_hash: str, now: int) -> int:
        """The new token's i_api_token."""

    async def api_token_list(self, i_env: int | None, login: str | None) -> list[ApiToken]: ...

    async def api_token_find(self, token_hash: str, now: int) -> tuple[int, ApiUser] | None:
        """The token's id and its user, noting the use; None if unknown."""

    async def api_token_delete(self, i_env: int, login: str, i_api_token: int) -> bool:
        """Delete the token and its sessions; False if the user has no such token."""

    # -- schedules (docs/calendar.md) -----------------------------------------
    async def schedule_create(self, new: NewSchedule, replace: bool, now: int) -> Schedule:
        """Raise Conflict (schedule_exists) if the key is taken and not ``replace``;
        a replaced schedule keeps its id, so its past occurrences stay made."""

    async def schedule_get(self, i_env: int, i_schedule: int) -> Schedule | None: ...

    async def schedule_get_by_key(self, i_env: int, key: str) -> Schedule | None: ...

    async def schedule_list(
        self, i_env: int, after: int, limit: int, key_prefix: str = ""
    ) -> list[Schedule]: ...

    async def schedule_set_paused(
        self, i_env: int, i_schedule: int, paused: bool, next_at: int | None, now: int
    ) -> None: ...

    async def schedule_delete(self, i_env: int, i_schedule: int) -> bool: ...

    async def schedule_next_due_at(self) -> int | None:
        """The earliest next_at of any schedule (an index lookup)."""

    async def schedule_materialize_due(self, now: int, limit: int, decide: Decide) -> Materialized:
        """Materialize up to ``limit`` due schedules in one transaction,
        each occurrence at most once (schedule_plans.materialize_due)."""

    # -- the operator console (espf/web) ------------------------------------------
    async def console_event_list(
        self,
        event_filter: EventFilter,
        handler: str | None,
        start_from: int | None,
        start_to: int | None,
    ) -> list[Event]:
        """event_list, also narrowed to events with a delivery to the named
        handler of their environment and to a start_time range."""

    async def console_event_counts(self, i_env: int, created_by: int | None) -> dict[str, int]:
        """Events of the environment (of one creator, if given) by state;
        the whole environment's from the summary kept by migration 0008."""

    async def console_due_soon(
        self, i_env: int, created_by: int | None, now: int
    ) -> tuple[int, int]:
        """Scheduled events becoming due within the next hour and the next day."""

    async def console_attempt_buckets(
        self, i_env: int, since: int, until: int, bucket_ms: int
    ) -> list[tuple[int, str, int]]:
        """``(bucket start, outcome, attempts)`` for attempts started in
        [since, until), from the per-minute summary (whole minutes: ``since``
        and ``bucket_ms`` are multiples of 60,000)."""

    async def console_lateness(self, i_env: int, since: int, limit: int) -> list[int]:
        """Delivery time minus start_time, in ms, of the latest (at most
        ``limit``) deliveries delivered since ``since``."""

    async def console_handler_stats(self, i_env: int) -> dict[int, tuple[int, int | None]]:
        """Per live handler: unfinished deliveries, and when the last one was delivered."""

    async def console_account_schedules(
        self, i_env: int, i_account: int, limit: int
    ) -> list[Schedule]:
        """The schedules whose variables name ``i_account``, oldest first."""

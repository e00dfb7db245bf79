"""The operations everyone calls: the API, the CLI and the web page are thin
clients of this layer. It owns the rules (validation, subscriptions, who may
see what); the store owns persistence; the dispatcher owns timing and HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from espf.account_status import provisioning_status, service_group, status_message
from espf.clock import Clock, SystemClock, format_ms
from espf.coalescing import coalesce_key
from espf.config import Settings
from espf.domain import (
    AccountRef,
    AccountStatusChange,
    ApiUser,
    AuthMethod,
    BlockedKey,
    Delivery,
    DeliveryState,
    Environment,
    Event,
    EventFilter,
    EventType,
    EventTypeUsage,
    Handler,
    HandlerSettings,
    Idempotency,
    NewEvent,
    ReplayFilter,
    Role,
    Transition,
)
from espf.errors import BadRequest, Conflict, EspfError, MigrationFailed, NotFound, Unauthorized
from espf.event_request import EventRequest, parse_event_request
from espf.handler_rules import (
    HANDLER_SETTING_FIELDS,
    MAX_HANDLER_TIMEOUT_S,
    handler_name,
    merge_settings,
    validate_handler_settings,
)
from espf.names import VARIABLE_NAME, normalize_custom_type_name, normalize_event_type_name
from espf.passwords import (
    MIN_PASSWORD_LENGTH,
    CredentialCache,
    check_new_password,
    generate_password,
    hash_password,
    verify_password,
)
from espf.service_console import ConsoleOperations
from espf.sessions import Sessions
from espf.store import Store
from espf.store.params import settings_of
from espf.timeparse import parse_start_time


@dataclass(frozen=True, slots=True)
class EventDetail:
    event: Event
    deliveries: list[Delivery]
    transitions: list[Transition]


@dataclass(frozen=True, slots=True)
class EventPage:
    events: list[Event]
    # The i_event to continue below, None when this is the last page.
    next_before: int | None


@dataclass(frozen=True, slots=True)
class AccountStatusView:
    account: AccountRef
    current: list[AccountStatusChange]  # the latest report per service group
    history: list[AccountStatusChange]  # newest first, one page
    next_before: int | None  # the i_status_change to continue below


@dataclass(frozen=True, slots=True)
class Bootstrap:
    """What the first start created, to tell the operator once."""

    admin_login: str
    generated_password: str | None


class Service:
    def __init__(self, store: Store, settings: Settings, clock: Clock | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        self._credentials = CredentialCache(settings.credential_cache_ttl_s)
        self._checking: dict[bytes, asyncio.Future[ApiUser]] = {}
        self._types_by_name: dict[str, EventType] = {}
        # Called with the start time of each new event, so that an in-process
        # dispatcher can wake up early instead of waiting for its next poll.
        self.event_listeners: list[Callable[[int], None]] = []
        self.console = ConsoleOperations(self)  # the operator console's extra reads

    # -- start-up -----------------------------------------------------------------
    async def prepare_database(self) -> list[int]:
        """Apply pending migrations and make sure the built-in types exist."""
        try:
            applied = await self.store.migrate()
        except EspfError:
            raise  # the database is unreachable: already says so
        except Exception as exc:
            # A schema that does not match its recorded version (restored from
            # another backup, edited by hand) is for a person to look at.
            raise MigrationFailed(
                f"could not bring the database schema up to date: {exc}; the recorded "
                "version does not match the tables: restore a consistent backup"
            ) from exc
        await self.store.ensure_builtin_event_types(self.clock.now_ms())
        return applied

    async def bootstrap(self) -> Bootstrap | None:
        """On an empty database: environment 1 and its first administrator."""
        if await self.store.user_count() > 0:
            return None
        now = self.clock.now_ms()
        # Several processes may start on one empty database at once: the one
        # whose insert loses with Conflict leaves it to the other.
        if await self.store.env_get(1) is None:
            with contextlib.suppress(Conflict):
                await self.store.env_create(1, "default", now)
        login = self.settings.admin_login or "admin"
        password = self.settings.admin_password
        generated = None
        if not password:
            password = generated = generate_password()
        # The first administrator follows the same rule as every other user.
        try:
            weak = check_new_password(login, password, self.settings.admin_allow_weak_password)
        except BadRequest as error:
            raise BadRequest(
                f"ESPF_ADMIN_PASSWORD is shorter than {MIN_PASSWORD_LENGTH} characters; "
                "choose a longer one, or set ESPF_ADMIN_ALLOW_WEAK_PASSWORD=true to keep it",
                code=error.code,
            ) from None
        try:
            await self.store.user_create(
                1, login, hash_password(password), Role.ADMIN, now, weak_password=weak
            )
        except Conflict:
            return None
        return Bootstrap(admin_login=login, generated_password=generated)

    # -- environments and users -----------------------------------------------------------
    async def env_create(self, name: str, i_env: int | None = None) -> Environment:
        name = name.strip()
        if not name:
            raise BadRequest("environment name is empty")
        if i_env is not None and i_env <= 0:
            raise BadRequest(f"i_env must be a positive integer, got {i_env}")
        return await self.store.env_create(i_env, name, self.clock.now_ms())

    async def env_list(self) -> list[Environment]:
        return await self.store.env_list()

    async def _require_env(self, i_env: int) -> None:
        if await self.store.env_get(i_env) is None:
            raise NotFound(
                f"environment {i_env} does not exist; create it with 'espf env create'",
                code="unknown_environment",
            )

    async def user_create(
        self,
        i_env: int,
        login: str,
        password: str,
        role: Role = Role.PRODUCER,
        allow_weak_password: bool = False,
    ) -> ApiUser:
        login = login.strip()
        if (
            not login
            or ":" in login
            or any(ch.isspace() for ch in login)
            or not login.isprintable()
            or len(login) > 100
        ):
            raise BadRequest(
                f"login {login!r} is not valid: 1 to 100 printable characters, "
                "without ':' or spaces"
            )
        await self._require_env(i_env)
        weak = check_new_password(login, password, allow_weak_password)
        hashed = await asyncio.to_thread(hash_password, password)
        return await self.store.user_create(
            i_env, login, hashed, role, self.clock.now_ms(), weak_password=weak
        )

    async def user_list(self, i_env: int | None) -> list[ApiUser]:
        return await self.store.user_list(i_env)

    async def _user_in_env(self, i_env: int, login: str) -> ApiUser:
        user = await self.store.user_get_by_login(login)
        # Another environment's user is as unknown as one that does not exist.
        if user is None or user.i_env != i_env:
            raise NotFound(
                f"user {login!r} does not exist in environment {i_env}", code="unknown_user"
            )
        return user

    async def user_delete(self, i_env: int, login: str, acting_login: str | None = None) -> None:
        """``acting_login``: the administrator asking over the API, who may
        not delete itself (the CLI on the server passes None)."""
        await self._user_in_env(i_env, login)
        if login == acting_login:
            raise Conflict("you cannot delete your own user", code="own_user")
        if not await self.store.user_delete(i_env, login):
            raise Conflict(
                f"user {login!r} is the last administrator of environment {i_env}; "
                "create another administrator first",
                code="last_admin",
            )
        # Forget verified credentials at once, not when their cache entry expires.
        self._credentials.clear()

    async def user_set_role(
        self, i_env: int, login: str, role: Role, acting_login: str | None = None
    ) -> ApiUser:
        current = await self._user_in_env(i_env, login)
        if login == acting_login and role is not current.role:
            raise Conflict("you cannot change your own role", code="own_user")
        updated = await self.store.user_set_role(i_env, login, role)
        if updated is None:
            raise Conflict(
                f"user {login!r} is the last administrator of environment {i_env}; "
                "make another user administrator first",
                code="last_admin",
            )
        self._credentials.clear()
        return updated

    async def authenticate(self, login: str, password: str) -> ApiUser:
        """Return the user, or raise Unauthorized. Verified credentials are
        cached briefly: an Argon2 check per request would cap the API at a few
        dozen requests per second."""
        cached = self._credentials.get(login, password)
        if cached is not None:
            return cached
        # Requests that arrive together with the same credential (a producer
        # opening many connections, or the cache entry expiring under load)
        # share one check instead of each paying for an Argon2 hash.
        key = self._credentials.digest(login, password)
        check = self._checking.get(key)
        if check is None:
            check = asyncio.ensure_future(self._check_credential(login, password))
            self._checking[key] = check
            check.add_done_callback(lambda _: self._checking.pop(key, None))
        return await asyncio.shield(check)

    async def _check_credential(self, login: str, password: str) -> ApiUser:
        user = await self.store.user_get_by_login(login)
        ok = await asyncio.to_thread(
            verify_password, user.password_hash if user else None, password
        )
        if not ok or user is None:
            raise Unauthorized("wrong login or password", code="invalid_credentials")
        self._credentials.put(login, password, user)
        return user

    # -- event types ----------------------------------------------------------------
    async def type_create(self, raw_name: str) -> EventType:
        name = normalize_custom_type_name(raw_name)
        created = await self.store.event_type_create_custom(name, self.clock.now_ms())
        self._types_by_name[name] = created
        return created

    async def type_list(self) -> list[EventType]:
        return await self.store.event_type_list()

    async def type_delete(self, raw_name: str, i_env: int | None = None) -> EventType:
        """Delete a custom type nothing uses: no subscription and no event in
        any environment (types are shared by all). ``i_env``: the asking
        environment, whose handlers the refusal names; others are only counted."""
        name = normalize_event_type_name(raw_name)
        found = await self.store.event_type_get_by_name(name)
        if found is None:
            raise NotFound(f"event type {name!r} does not exist", code="unknown_event_type")
        if found.builtin:
            raise Conflict(
                f"event type {name} is built in; only custom types can be deleted",
                code="builtin_event_type",
            )
        if not await self.store.event_type_delete(found.i_event_type, self.clock.now_ms()):
            usage = await self.store.event_type_usage(found.i_event_type, i_env or 0)
            raise Conflict(type_in_use_message(name, usage, i_env), code="event_type_in_use")
        self._types_by_name.pop(name, None)
        return found

    async def type_get(self, raw_name: str) -> EventType:
        name = normalize_event_type_name(raw_name)
        known = self._types_by_name.get(name)
        if known is not None:
            return known
        found = await self.store.event_type_get_by_name(name)
        if found is None:
            hint = "" if name.startswith("Custom/") else " (custom types start with 'Custom/')"
            raise NotFound(
                f"event type {name!r} does not exist; create it with "
                f"'espf type create {name}'{hint}",
                code="unknown_event_type",
            )
        # Types are never renamed, and deleted only when unused; a type another
        # process deletes is caught by the store (NotFound), which evicts it.
        self._types_by_name[name] = found
        return found

    # -- handlers -------------------------------------------------------------------------
    async def handler_create(self, i_env: int, name: str, settings: HandlerSettings) -> Handler:
        name = handler_name(name)
        await self._require_env(i_env)
        complete = replace(
            settings,
            auth_method=settings.auth_method or AuthMethod.BASIC,
            auth_header=settings.auth_header or "Authorization",
            timeout_s=settings.timeout_s or self.settings.handler_timeout_s,
            enabled=True if settings.enabled is None else settings.enabled,
            ordered=bool(settings.ordered),
        )
        validate_handler_settings(complete)
        return await self.store.handler_create(i_env, name, complete, self.clock.now_ms())

    async def handler_get(self, i_env: int, name: str) -> Handler:
        handler = await self.store.handler_get(i_env, name)
        if handler is None:
            raise NotFound(
                f"handler {name!r} does not exist in environment {i_env}", code="unknown_handler"
            )
        return handler

    async def handler_set(self, i_env: int, name: str, changes: HandlerSettings) -> Handler:
        current = await self.handler_get(i_env, name)
        updates: dict[str, Any] = {
            field: value
            for field in HANDLER_SETTING_FIELDS
            if (value := getattr(changes, field)) is not None
        }
        # Retry and TLS settings change one by one, not as a whole.
        if changes.retry is not None:
            updates["retry"] = merge_settings(current.retry, changes.retry)
        if changes.tls is not None:
            updates["tls"] = merge_settings(current.tls, changes.tls)
        updated = replace(current, **updates)
        validate_handler_settings(settings_of(updated))
        return await self.store.handler_update(updated, self.clock.now_ms())

    async def handler_set_enabled(self, i_env: int, name: str, enabled: bool) -> Handler:
        return await self.handler_set(i_env, name, HandlerSettings(enabled=enabled))

    async def handler_list(self, i_env: int | None) -> list[Handler]:
        return await self.store.handler_list(i_env)

    async def handler_delete(self, i_env: int, name: str) -> Handler:
        """Delete a handler that has nothing left to send, with its
        subscriptions. The history of its finished deliveries stays, under
        the name ``<name> (deleted #<i_handler>)``; they are never sent again."""
        handler = await self.handler_get(i_env, name)
        unfinished = await self.store.handler_delete(handler, self.clock.now_ms())
        if unfinished:
            raise Conflict(
                f"handler {name!r} still has {unfinished} unfinished deliveries (pending, in "
                "flight, held or waiting): let them finish, or cancel their events, first",
                code="handler_busy",
            )
        return handler

    async def subscribe(self, i_env: int, handler_name: str, type_name: str) -> EventType:
        handler = await self.handler_get(i_env, handler_name)
        event_type = await self.type_get(type_name)
        try:
            await self.store.subscription_add(handler.i_handler, event_type.i_event_type)
        except NotFound:
            self._types_by_name.pop(event_type.name, None)
            raise
        return event_type

    async def unsubscribe(self, i_env: int, handler_name: str, type_name: str) -> EventType:
        handler = await self.handler_get(i_env, handler_name)
        event_type = await self.type_get(type_name)
        if not await self.store.subscription_remove(handler.i_handler, event_type.i_event_type):
            raise NotFound(
                f"handler {handler.name!r} is not subscribed to {event_type.name}",
                code="not_subscribed",
            )
        return event_type

    async def subscribe_all(self, i_env: int, handler_name: str) -> int:
        handler = await self.handler_get(i_env, handler_name)
        return await self.store.subscription_add_all(handler.i_handler)

    async def subscriptions(self, i_env: int, handler_name: str) -> list[str]:
        handler = await self.handler_get(i_env, handler_name)
        return await self.store.subscription_list(handler.i_handler)

    # -- events -----------------------------------------------------------------------------
    async def event_create(
        self,
        i_env: int,
        body: Any,
        idempotency_key: str | None = None,
        created_by: int | None = None,
    ) -> int:
        """Validate, commit durably, and return the new ``i_event``.
        ``created_by``: the API user creating it."""
        request = parse_event_request(body)
        return await self.event_create_parsed(i_env, request, idempotency_key, created_by)

    async def event_create_parsed(
        self,
        i_env: int,
        request: EventRequest,
        idempotency_key: str | None = None,
        created_by: int | None = None,
    ) -> int:
        event_type = await self.type_get(request.event_type)
        now = self.clock.now_ms()
        start_at = now if request.start_at is None else request.start_at
        idempotency = None
        if idempotency_key is not None:
            idempotency = Idempotency(
                key=validate_idempotency_key(idempotency_key),
                request_hash=request_fingerprint(event_type.name, request),
                not_before=now - int(self.settings.idempotency_window_s * 1000),
            )

        def new_event(event_type: EventType) -> NewEvent:
            return NewEvent(
                i_env=i_env,
                i_event_type=event_type.i_event_type,
                variables_json=request.variables_json,
                start_at=start_at,
                coalesce_key=coalesce_key(
                    event_type.name, event_type.i_event_type, request.variables_json
                ),
                idempotency=idempotency,
                created_by=created_by,
            )

        try:
            i_event = await self.store.event_insert(new_event(event_type), now)
        except NotFound:
            # Another process deleted the type since we cached it, and may
            # have created it again under a new id: look it up afresh (a
            # NotFound from there is the answer) and try once more.
            self._types_by_name.pop(event_type.name, None)
            fresh = await self.type_get(event_type.name)
            if fresh.i_event_type == event_type.i_event_type:
                raise
            i_event = await self.store.event_insert(new_event(fresh), now)
        for listener in self.event_listeners:
            listener(start_at)
        return i_event

    async def event_get(
        self, i_event: int, i_env: int | None, created_by: int | None = None
    ) -> EventDetail:
        """``i_env=None`` reads any environment (the CLI on the server);
        ``created_by`` sees only that user's events (see own_events_only)."""
        event = await self.store.event_get(i_event, i_env)
        if event is None or (created_by is not None and event.created_by != created_by):
            raise NotFound(f"event {i_event} does not exist", code="unknown_event")
        deliveries = await self.store.delivery_list_for_event(i_event)
        return EventDetail(
            event,
            deliveries,
            # Creation is not written to the log (the event row has the time):
            # one write fewer on the ingest path.
            _history(event, deliveries, await self.store.transition_list(i_event)),
        )

    # -- operator actions ---------------------------------------------------------------
    async def event_cancel(self, i_event: int, i_env: int, reason: str = "") -> EventDetail:
        detail = await self.event_get(i_event, i_env)
        why = reason or "cancelled by an operator"
        if not await self.store.event_cancel(i_event, i_env, self.clock.now_ms(), why):
            raise Conflict(
                f"event {i_event} is {detail.event.state.value}: nothing of it is left to cancel",
                code="not_cancellable",
            )
        return await self.event_get(i_event, i_env)

    async def event_reschedule(
        self, i_event: int, i_env: int, raw_start_time: str, reason: str = ""
    ) -> EventDetail:
        start_at = parse_start_time(raw_start_time)
        await self.event_get(i_event, i_env)
        why = reason or f"rescheduled to {format_ms(start_at)} UTC by an operator"
        now = self.clock.now_ms()
        if not await self.store.event_reschedule(i_event, i_env, start_at, now, why):
            raise Conflict(
                f"event {i_event} cannot be rescheduled: a delivery of it is already "
                "in flight or done",
                code="not_reschedulable",
            )
        for listener in self.event_listeners:
            listener(start_at)
        return await self.event_get(i_event, i_env)

    async def delivery_retry(self, i_delivery: int, i_env: int | None) -> Delivery:
        """Send one delivery again now, with a fresh retry budget."""
        delivery = await self.store.delivery_get(i_delivery, i_env)
        if delivery is None:
            raise NotFound(f"delivery {i_delivery} does not exist", code="unknown_delivery")
        if delivery.state in _NOT_RETRYABLE:
            why = _NOT_RETRYABLE[delivery.state]
            raise Conflict(
                f"delivery {i_delivery} is {delivery.state.value}: {why}", code="not_retryable"
            )
        now = self.clock.now_ms()
        if not await self.store.deliveries_reopen(
            [i_delivery], now, "retry requested by an operator"
        ):
            raise Conflict(
                f"delivery {i_delivery} cannot be sent again: its handler was deleted",
                code="not_retryable",
            )
        for listener in self.event_listeners:
            listener(now)
        found = await self.store.delivery_get(i_delivery, i_env)
        assert found is not None
        return found

    async def replay(self, replay: ReplayFilter, dry_run: bool) -> int:
        """Send matching finished deliveries again; with ``dry_run`` only count them."""
        if replay.handler is not None:
            await self.handler_get(replay.i_env, replay.handler)
        if replay.event_type is not None:
            await self.type_get(replay.event_type)
        ids = await self.store.deliveries_match(replay)
        if dry_run or not ids:
            return len(ids)
        now = self.clock.now_ms()
        count = 0
        for start in range(0, len(ids), _REPLAY_CHUNK):
            chunk = ids[start : start + _REPLAY_CHUNK]
            count += await self.store.deliveries_reopen(chunk, now, "replayed by an operator")
        for listener in self.event_listeners:
            listener(now)
        return count

    async def handler_pause(self, i_env: int, name: str, reason: str = "") -> Handler:
        handler = await self.handler_get(i_env, name)
        why = reason or "paused by an operator"
        await self.store.handler_set_paused(handler, True, why, self.clock.now_ms(), None)
        return await self.handler_get(i_env, name)

    async def handler_resume(self, i_env: int, name: str) -> Handler:
        handler = await self.handler_get(i_env, name)
        now = self.clock.now_ms()
        await self.store.handler_set_paused(handler, False, "resumed by an operator", now, None)
        for listener in self.event_listeners:
            listener(now)
        return await self.handler_get(i_env, name)

    async def blocked_keys(self, i_env: int, handler: str | None) -> list[BlockedKey]:
        if handler is not None:
            await self.handler_get(i_env, handler)
        return await self.store.blocked_keys(i_env, handler)

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        if not 1 <= event_filter.limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        return await self.store.event_list(event_filter)

    async def event_page(self, event_filter: EventFilter) -> EventPage:
        """One page, newest first, and where the next one starts."""
        if event_filter.event_type is not None:
            # 404 for a misspelt type rather than an empty page; spaces trimmed.
            known = await self.type_get(event_filter.event_type)
            event_filter = replace(event_filter, event_type=known.name)
        found = await self.event_list(replace(event_filter, limit=event_filter.limit + 1))
        events = found[: event_filter.limit]
        more = len(found) > event_filter.limit
        return EventPage(events, events[-1].i_event if more else None)

    # -- account provisioning status --------------------------------------------------
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
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
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

    # -- passwords and sessions (drop-in for existing Applications) -----------------
    async def user_set_password(
        self, i_env: int, login: str, password: str, allow_weak_password: bool = False
    ) -> ApiUser:
        """Set a new password; every session of the user ends, on every node."""
        await self._user_in_env(i_env, login)
        weak = check_new_password(login, password, allow_weak_password)
        hashed = await asyncio.to_thread(hash_password, password)
        now = self.clock.now_ms()
        updated = await self.store.user_set_password(i_env, login, hashed, weak, now)
        if updated is None:  # deleted meanwhile
            raise NotFound(
                f"user {login!r} does not exist in environment {i_env}", code="unknown_user"
            )
        self._credentials.clear()
        self.sessions.forget_user(updated.i_user)
        return updated

    async def user_in_env(self, i_env: int, login: str) -> ApiUser:
        """The user ``login`` of ``i_env``; NotFound otherwise."""
        return await self._user_in_env(i_env, login)

    @functools.cached_property
    def sessions(self) -> Sessions:
        """Login sessions and API tokens (espf/sessions.py)."""
        return Sessions(self.store, self.settings, self.clock, self.authenticate)


def own_events_only(user: ApiUser) -> int | None:
    """Whose events a user may see: a producer only those it created
    (``created_by``), an administrator every event of its environment (None)."""
    return user.i_user if user.role is Role.PRODUCER else None


def type_in_use_message(name: str, usage: EventTypeUsage, i_env: int | None) -> str:
    """Why a type cannot be deleted, naming only what the asker may see."""
    reasons = []
    if usage.subscribers_here:
        reasons.append(f"subscribed by handler(s) {', '.join(usage.subscribers_here)}")
    if usage.events_here:
        reasons.append(f"{usage.events_here} event(s) of this type")
    elsewhere = usage.subscriptions_elsewhere or usage.events_elsewhere
    if i_env is None and elsewhere:  # the CLI on the server sees every environment
        reasons.append(
            f"{usage.subscriptions_elsewhere} subscription(s) and {usage.events_elsewhere} event(s)"
        )
    elif elsewhere:
        reasons.append("subscriptions or events in other environments")
    if not reasons:  # used a moment ago, gone now: a retry will succeed
        reasons.append("a subscription or event created meanwhile")
    return f"event type {name} is in use: {'; '.join(reasons)}"


MAX_PAGE = 1000


def _history(
    event: Event, deliveries: list[Delivery], logged: list[Transition]
) -> list[Transition]:
    """The state log, with the two changes every event makes written out from
    the rows that record them, not from the log: creation (events.created_at)
    and each delivery becoming due (deliveries.created_at). Two writes fewer
    per event on the busiest paths."""
    made = [Transition(event.i_event, None, "scheduled", event.created_at, "created")]
    made += [
        Transition(event.i_event, d.i_delivery, "pending", d.created_at, "due")
        for d in deliveries
        if d.created_at is not None
    ]
    # Stable: at equal times the written-out changes come first.
    return sorted([*made, *logged], key=lambda t: t.at)


_REPLAY_CHUNK = 1000

_NOT_RETRYABLE = {
    DeliveryState.IN_FLIGHT: "its request is under way",
    DeliveryState.HELD: "its handler is paused or disabled; resume or enable it",
    DeliveryState.WAITING: "it waits for an earlier event of its key (ordered handler)",
}

MAX_IDEMPOTENCY_KEY = 200


def parse_variable_filter(text: str) -> tuple[str, str]:
    """``i_account=541`` -> ("i_account", "541")."""
    name, separator, value = text.partition("=")
    if not separator or not VARIABLE_NAME.match(name.strip()):
        raise BadRequest(
            f"variable filter {text!r} is not NAME=VALUE, e.g. i_account=541",
            code="invalid_filter",
        )
    return name.strip(), value.strip()


def validate_idempotency_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters",
            code="invalid_idempotency_key",
        )
    return key


def request_fingerprint(event_type: str, request: EventRequest) -> str:
    """What makes two event/create requests 'the same' for an idempotency key."""
    canonical = orjson.dumps(
        [event_type, orjson.loads(request.variables_json), request.start_at],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(canonical).hexdigest()


__all__ = [
    "MAX_HANDLER_TIMEOUT_S",
    "AccountStatusView",
    "Bootstrap",
    "Conflict",
    "EventDetail",
    "EventPage",
    "Service",
    "own_events_only",
]

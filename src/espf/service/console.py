"""What the operator console (espf/web) needs beyond the API's operations:
the overview's figures, the events list with the console's extra filters,
acting on every event a filter matches, and a test request to one handler.

The rules stay the service's: every lookup and action goes through the
service's own operations (the same messages as the API and the CLI); this
class adds only the reading and counting the console's pages need, and the
key that signs the console's session cookie."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from enum import StrEnum

import orjson

from espf.clock import format_ms
from espf.dispatch.sender import EventSender, SendResult, request_body
from espf.domain import (
    ApiUser,
    ClaimedDelivery,
    DeliveryState,
    Event,
    EventFilter,
    EventState,
    Handler,
    ReplayFilter,
)
from espf.errors import BadRequest
from espf.service.deliveries import DeliveryOperations
from espf.service.events import EventPage
from espf.service.request_parsing import MAX_PAGE

# The server key (store.server_key) that signs the console's session cookie.
SESSION_KEY_PURPOSE = "console-session"
MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
LATENESS_SAMPLE = 2000
BULK_PAGE = 500
# Acting on everything that matches stops here; the operator narrows the filter.
MAX_BULK_EVENTS = 100_000
CANCELLABLE = (EventState.SCHEDULED, EventState.PENDING, EventState.IN_FLIGHT)


@dataclass(frozen=True, slots=True)
class EventQuery:
    """The console's events filter; ``base`` holds what the API's filter has."""

    base: EventFilter
    handler: str | None = None
    start_from: int | None = None
    start_to: int | None = None


@dataclass(frozen=True, slots=True)
class Series:
    """Attempts per bucket, oldest first: delivered, failed (retries used up
    or rejected), and retried (another attempt scheduled)."""

    start: int
    bucket_ms: int
    delivered: list[int]
    failed: list[int]
    retried: list[int]


@dataclass(frozen=True, slots=True)
class HandlerHealthRow:
    handler: Handler
    backlog: int
    last_success: int | None


@dataclass(frozen=True, slots=True)
class Overview:
    states: dict[str, int]
    due_hour: int
    due_day: int
    # None for a producer: deliveries and handlers are the administrators' view.
    last_hour: Series | None
    last_day: Series | None
    lateness_p50_ms: int | None
    lateness_p99_ms: int | None
    handlers: list[HandlerHealthRow]


class BulkAction(StrEnum):
    REPLAY = "replay"  # send finished deliveries again
    RETRY_FAILED = "retry_failed"  # send failed deliveries again
    CANCEL = "cancel"  # cancel what is not sent yet


@dataclass(frozen=True, slots=True)
class TestSend:
    result: SendResult
    duration_ms: int
    body: str  # the request body that was sent


class ConsoleOperations(DeliveryOperations):
    # -- sign-in -----------------------------------------------------------------------
    async def console_session_key(self) -> bytes:
        """Made once in the database, so every node and every restart agree."""
        return await self.store.server_key(
            SESSION_KEY_PURPOSE, secrets.token_bytes(32), self.clock.now_ms()
        )

    async def console_user(self, login: str) -> ApiUser | None:
        """The user a session cookie names, as stored now (None if deleted)."""
        return await self.store.user_get_by_login(login)

    # -- overview ---------------------------------------------------------------------
    async def console_overview(self, i_env: int, created_by: int | None) -> Overview:
        now = self.clock.now_ms()
        states = await self.store.console_event_counts(i_env, created_by)
        due_hour, due_day = await self.store.console_due_soon(i_env, created_by, now)
        if created_by is not None:  # a producer: its events only
            return Overview(states, due_hour, due_day, None, None, None, None, [])
        late = sorted(await self.store.console_lateness(i_env, now - HOUR_MS, LATENESS_SAMPLE))
        handlers = await self.console_handler_health(i_env)
        return Overview(
            states=states,
            due_hour=due_hour,
            due_day=due_day,
            last_hour=await self._console_series(i_env, now, HOUR_MS, MINUTE_MS),
            last_day=await self._console_series(i_env, now, DAY_MS, 30 * MINUTE_MS),
            lateness_p50_ms=_percentile(late, 0.50),
            lateness_p99_ms=_percentile(late, 0.99),
            handlers=handlers,
        )

    async def console_handler_health(self, i_env: int) -> list[HandlerHealthRow]:
        """Every handler with its backlog and its last successful delivery."""
        stats = await self.store.console_handler_stats(i_env)
        return [
            HandlerHealthRow(h, *stats.get(h.i_handler, (0, None)))
            for h in await self.handler_list(i_env)
        ]

    async def _console_series(self, i_env: int, now: int, span_ms: int, bucket_ms: int) -> Series:
        """From the store's per-minute summary: a few hundred rows, never the
        attempts themselves."""
        last = now // bucket_ms * bucket_ms
        first = last - span_ms + bucket_ms
        counts: dict[int, list[int]] = {}
        found = await self.store.console_attempt_buckets(i_env, first, now + 1, bucket_ms)
        for bucket, outcome, count in found:
            counts.setdefault(bucket, [0, 0, 0])[_OUTCOME_COLUMN.get(outcome, 1)] += count
        rows = [counts.get(b, [0, 0, 0]) for b in range(first, last + bucket_ms, bucket_ms)]
        return Series(
            start=first,
            bucket_ms=bucket_ms,
            delivered=[r[0] for r in rows],
            failed=[r[1] for r in rows],
            retried=[r[2] for r in rows],
        )

    # -- events ----------------------------------------------------------------------
    async def console_event_page(self, query: EventQuery) -> EventPage:
        """One page, newest first, with the console's extra filters."""
        base = query.base
        if not 1 <= base.limit <= MAX_PAGE:
            raise BadRequest(f"limit must be between 1 and {MAX_PAGE}")
        if base.event_type is not None:
            known = await self.type_get(base.event_type)
            base = replace(base, event_type=known.name)
        if query.handler is not None and base.i_env is not None:
            await self.handler_get(base.i_env, query.handler)
        found = await self.store.console_event_list(
            replace(base, limit=base.limit + 1), query.handler, query.start_from, query.start_to
        )
        events = found[: base.limit]
        more = len(found) > base.limit
        return EventPage(events, events[-1].i_event if more else None)

    async def console_bulk(
        self, i_env: int, query: EventQuery, action: BulkAction, dry_run: bool
    ) -> int:
        """Act on everything the filter matches; with ``dry_run`` only count.
        Replay and retry act on deliveries, through the service's replay."""
        if action is BulkAction.CANCEL:
            return await self._console_cancel_matching(i_env, query, dry_run)
        base = query.base
        if base.state is not None or query.start_from is not None or query.start_to is not None:
            raise BadRequest(
                "replay and retry act on deliveries: they filter by event type, handler, "
                "variable and creation time only; clear the state and start_time filters",
                code="invalid_filter",
            )
        states = (DeliveryState.FAILED,) if action is BulkAction.RETRY_FAILED else ()
        return await self.replay(
            ReplayFilter(
                i_env=i_env,
                handler=query.handler,
                event_type=base.event_type,
                variable=base.variable,
                states=states,
                created_from=base.created_from,
                created_to=base.created_to,
            ),
            dry_run=dry_run,
        )

    async def _console_cancel_matching(self, i_env: int, query: EventQuery, dry_run: bool) -> int:
        if query.base.state is not None and query.base.state not in CANCELLABLE:
            return 0
        count = 0
        now = self.clock.now_ms()
        async for event in self._console_matching(i_env, query):
            if event.state not in CANCELLABLE:
                continue
            if dry_run or await self.store.event_cancel(
                event.i_event, i_env, now, "cancelled by an operator (by filter)"
            ):
                count += 1
        return count

    async def _console_matching(self, i_env: int, query: EventQuery) -> AsyncIterator[Event]:
        before = None
        seen = 0
        while seen < MAX_BULK_EVENTS:
            page = await self.console_event_page(
                replace(
                    query,
                    base=replace(query.base, i_env=i_env, limit=BULK_PAGE, before_i_event=before),
                )
            )
            for event in page.events:
                yield event
            seen += len(page.events)
            if page.next_before is None:
                return
            before = page.next_before

    # -- handlers -------------------------------------------------------------------
    async def console_send_test(
        self, i_env: int, handler_name: str, event_type: str, variables_text: str
    ) -> TestSend:
        """POST one test event to this handler alone, now, as the dispatcher
        would (same body, headers and auth); nothing is stored."""
        handler = await self.handler_get(i_env, handler_name)
        known = await self.type_get(event_type)
        try:
            variables = orjson.loads(variables_text or "{}")
        except orjson.JSONDecodeError:
            raise BadRequest("variables must be a JSON object", code="invalid_field") from None
        if not isinstance(variables, dict):
            raise BadRequest("variables must be a JSON object", code="invalid_field")
        variables.setdefault("test", True)
        variables.setdefault("sent", format_ms(self.clock.now_ms()))
        delivery = ClaimedDelivery(
            i_delivery=0,
            i_event=0,
            i_env=i_env,
            event_type=known.name,
            variables_json=orjson.dumps(variables).decode(),
            attempts=0,
            handler=handler,
        )
        sender = EventSender(connections_per_handler=1)
        started = time.perf_counter()
        try:
            result = await sender.send(delivery)
        finally:
            await sender.close()
        duration = int((time.perf_counter() - started) * 1000)
        return TestSend(result, duration, request_body(delivery).decode())


# Attempt outcomes (store/params.py) by chart layer: delivered, failed, retried.
_OUTCOME_COLUMN = {"delivered": 0, "failed": 1, "rejected": 1, "retry": 2, "interrupted": 2}


def _percentile(values: list[int], fraction: float) -> int | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(fraction * len(values)))]

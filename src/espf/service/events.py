"""Events: creating them, reading them with their deliveries and history,
listing them, and the operator's cancel and reschedule."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from espf.clock import format_ms
from espf.coalescing import coalesce_key
from espf.domain import (
    Delivery,
    Event,
    EventFilter,
    EventType,
    Idempotency,
    NewEvent,
    Transition,
)
from espf.errors import Conflict, NotFound
from espf.event_request import EventRequest, parse_event_request
from espf.service.event_types import EventTypeOperations
from espf.service.fingerprints import request_fingerprint, validate_idempotency_key
from espf.service.maintenance import with_waiting_reasons
from espf.service.request_parsing import check_page_limit
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


class EventOperations(EventTypeOperations):
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
                local_start=request.local_start,
                time_zone=request.time_zone,
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
        self.wakeups.due(start_at)
        return i_event

    async def event_get(
        self, i_event: int, i_env: int | None, created_by: int | None = None
    ) -> EventDetail:
        """``i_env=None`` reads any environment (the CLI on the server);
        ``created_by`` sees only that user's events (see own_events_only)."""
        event = await self.store.event_get(i_event, i_env)
        if event is None or (created_by is not None and event.created_by != created_by):
            raise NotFound(f"event {i_event} does not exist", code="unknown_event")
        deliveries = await with_waiting_reasons(
            self.store, await self.store.delivery_list_for_event(i_event), self.clock.now_ms()
        )
        return EventDetail(
            event,
            deliveries,
            # Creation is not written to the log (the event row has the time):
            # one write fewer on the ingest path.
            _history(event, deliveries, await self.store.transition_list(i_event)),
        )

    async def event_list(self, event_filter: EventFilter) -> list[Event]:
        check_page_limit(event_filter.limit)
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

    # -- operator actions ---------------------------------------------------------------
    async def event_cancel(self, i_event: int, i_env: int, reason: str = "") -> EventDetail:
        detail = await self.event_get(i_event, i_env)
        why = reason or "cancelled by an operator"
        now = self.clock.now_ms()
        if not await self.store.event_cancel(i_event, i_env, now, why):
            raise Conflict(
                f"event {i_event} is {detail.event.state.value}: nothing of it is left to cancel",
                code="not_cancellable",
            )
        if detail.deliveries:
            # Cancelling the head of an ordering key lets the next delivery go.
            self.wakeups.due(now)
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
        self.wakeups.due(start_at)
        return await self.event_get(i_event, i_env)


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

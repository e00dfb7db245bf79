"""Events over HTTP: create (the hot path), read one with its whole history,
list with filters and cursor paging, cancel, reschedule, retry a delivery,
replay.

Same style everywhere: ``POST /espf/v1/<object>/<verb>``, a JSON object in,
a JSON object out, errors as 4xx with ``{"error", "message"}``. A producer
may create events and read those it created; everything else needs admin.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.cursor import decode_cursor, encode_cursor
from espf.api.representations import delivery_json, event_detail_json, event_json
from espf.api.request_body import parse_json, read_body
from espf.api.responses import JSONResponse
from espf.domain import DeliveryState, EventFilter, EventState, ReplayFilter
from espf.errors import BadRequest
from espf.service import MAX_PAGE, own_events_only, parse_variable_filter
from espf.timeparse import parse_start_time

EVENT_LIST_FIELDS = ("event_type", "state", "variable", "from", "to", "limit", "cursor")
DEFAULT_PAGE = 100
EVENTS_CURSOR = "events"


def event_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def event_create(request: Request) -> Response:
        user = await auth.user(request)
        body = parse_json(await read_body(request, ctx.body_limit))
        idempotency_key = request.headers.get("idempotency-key")
        i_event = await service.event_create(user.i_env, body, idempotency_key, user.i_user)
        return JSONResponse({"i_event": i_event})

    async def event_get(request: Request) -> Response:
        user = await auth.user(request)
        f = await ctx.fields(request, ("i_event",))
        detail = await service.event_get(
            f.require_integer("i_event"), user.i_env, own_events_only(user)
        )
        return JSONResponse(event_detail_json(detail))

    async def event_list(request: Request) -> Response:
        user = await auth.user(request)
        f = await ctx.fields(request, EVENT_LIST_FIELDS)
        cursor = f.text("cursor", max_length=200)
        page = await service.event_page(
            EventFilter(
                i_env=user.i_env,
                event_type=f.text("event_type", max_length=200),
                state=_event_state(f.text("state", max_length=50)),
                limit=f.integer("limit", maximum=MAX_PAGE) or DEFAULT_PAGE,
                before_i_event=decode_cursor(EVENTS_CURSOR, cursor) if cursor else None,
                variable=_variable(f.text("variable", max_length=300)),
                created_from=_time(f.text("from", max_length=64)),
                created_to=_time(f.text("to", max_length=64)),
                created_by=own_events_only(user),
            )
        )
        return JSONResponse(
            {
                "events": [event_json(e) for e in page.events],
                "next_cursor": (
                    encode_cursor(EVENTS_CURSOR, page.next_before)
                    if page.next_before is not None
                    else None
                ),
            }
        )

    async def event_cancel(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("i_event", "reason"))
        detail = await service.event_cancel(
            f.require_integer("i_event"), user.i_env, f.text("reason", max_length=500) or ""
        )
        return JSONResponse(event_detail_json(detail))

    async def event_reschedule(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("i_event", "start_time"))
        detail = await service.event_reschedule(
            f.require_integer("i_event"), user.i_env, f.require_text("start_time", 64)
        )
        return JSONResponse(event_detail_json(detail))

    async def event_replay(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(
            request,
            ("handler", "event_type", "variable", "states", "from", "to", "dry_run"),
        )
        replay = ReplayFilter(
            i_env=user.i_env,
            handler=f.text("handler", max_length=100),
            event_type=f.text("event_type", max_length=200),
            variable=_variable(f.text("variable", max_length=300)),
            states=_final_states(f.text_list("states", max_items=10, max_length=50)),
            created_from=_time(f.text("from", max_length=64)),
            created_to=_time(f.text("to", max_length=64)),
        )
        dry_run = f.flag("dry_run")
        count = await service.replay(replay, dry_run=dry_run)
        return JSONResponse({"matched" if dry_run else "replayed": count, "dry_run": dry_run})

    async def delivery_retry(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("i_delivery",))
        delivery = await service.delivery_retry(f.require_integer("i_delivery"), user.i_env)
        return JSONResponse(delivery_json(delivery))

    return {
        "event/create": event_create,
        "event/get": event_get,
        "event/list": event_list,
        "event/cancel": event_cancel,
        "event/reschedule": event_reschedule,
        "event/replay": event_replay,
        "delivery/retry": delivery_retry,
    }


def _variable(text: str | None) -> tuple[str, str] | None:
    return parse_variable_filter(text) if text else None


def _time(text: str | None) -> int | None:
    return parse_start_time(text) if text else None


def _event_state(name: str | None) -> EventState | None:
    if name is None:
        return None
    try:
        return EventState(name)
    except ValueError:
        states = ", ".join(s.value for s in EventState)
        raise BadRequest(f"state {name!r} is not one of {states}", code="invalid_field") from None


def _final_states(names: list[str]) -> tuple[DeliveryState, ...]:
    states = []
    for name in names:
        try:
            state = DeliveryState(name)
        except ValueError:
            state = None
        if state is None or not state.is_final:
            finished = ", ".join(s.value for s in DeliveryState if s.is_final)
            raise BadRequest(
                f"state {name!r} cannot be replayed; use one of {finished}", code="invalid_field"
            )
        states.append(state)
    return tuple(states)

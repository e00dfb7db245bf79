"""Operator actions over HTTP: read an event with its whole history, cancel,
reschedule, retry, replay; pause and resume handlers; see blocked keys.

Same style as event/create: ``POST /espf/v1/<object>/<verb>``, a JSON object
in, a JSON object out, errors as 4xx with ``{"error", "message"}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from espf.api.authn import Authenticator
from espf.api.json_input import Fields
from espf.api.representations import (
    blocked_key_json,
    delivery_json,
    event_detail_json,
    handler_json,
)
from espf.api.request_body import parse_json, read_body
from espf.api.responses import JSONResponse
from espf.domain import DeliveryState, ReplayFilter
from espf.errors import BadRequest
from espf.service import Service, parse_variable_filter
from espf.timeparse import parse_start_time

Endpoint = Callable[[Request], Awaitable[Response]]


def operation_endpoints(service: Service, auth: Authenticator, limit: int) -> dict[str, Endpoint]:
    async def fields(request: Request, allowed: tuple[str, ...]) -> Fields:
        return Fields(parse_json(await read_body(request, limit)), allowed)

    async def event_get(request: Request) -> Response:
        user = await auth.user(request)
        f = await fields(request, ("i_event",))
        detail = await service.event_get(f.require_integer("i_event"), user.i_env)
        return JSONResponse(event_detail_json(detail))

    async def event_cancel(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(request, ("i_event", "reason"))
        detail = await service.event_cancel(
            f.require_integer("i_event"), user.i_env, f.text("reason", max_length=500) or ""
        )
        return JSONResponse(event_detail_json(detail))

    async def event_reschedule(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(request, ("i_event", "start_time"))
        detail = await service.event_reschedule(
            f.require_integer("i_event"), user.i_env, f.require_text("start_time", 64)
        )
        return JSONResponse(event_detail_json(detail))

    async def event_replay(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(
            request,
            ("handler", "event_type", "variable", "states", "from", "to", "dry_run"),
        )
        replay = ReplayFilter(
            i_env=user.i_env,
            handler=f.text("handler", max_length=100),
            event_type=f.text("event_type", max_length=200),
            variable=_variable(f.text("variable", max_length=300)),
            states=_final_states(f.text_list("states")),
            created_from=_time(f.text("from", max_length=64)),
            created_to=_time(f.text("to", max_length=64)),
        )
        dry_run = f.flag("dry_run")
        count = await service.replay(replay, dry_run=dry_run)
        return JSONResponse({"matched" if dry_run else "replayed": count, "dry_run": dry_run})

    async def delivery_retry(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(request, ("i_delivery",))
        delivery = await service.delivery_retry(f.require_integer("i_delivery"), user.i_env)
        return JSONResponse(delivery_json(delivery))

    async def handler_pause(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(request, ("name", "reason"))
        handler = await service.handler_pause(
            user.i_env, f.require_text("name", 100), f.text("reason", max_length=500) or ""
        )
        return JSONResponse(handler_json(handler))

    async def handler_resume(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(request, ("name",))
        handler = await service.handler_resume(user.i_env, f.require_text("name", 100))
        return JSONResponse(handler_json(handler))

    async def handler_blocked_keys(request: Request) -> Response:
        user = await auth.admin(request)
        f = await fields(request, ("name",))
        keys = await service.blocked_keys(user.i_env, f.text("name", max_length=100))
        return JSONResponse({"blocked_keys": [blocked_key_json(k) for k in keys]})

    return {
        "event/get": event_get,
        "event/cancel": event_cancel,
        "event/reschedule": event_reschedule,
        "event/replay": event_replay,
        "delivery/retry": delivery_retry,
        "handler/pause": handler_pause,
        "handler/resume": handler_resume,
        "handler/blocked_keys": handler_blocked_keys,
    }


def _variable(text: str | None) -> tuple[str, str] | None:
    return parse_variable_filter(text) if text else None


def _time(text: str | None) -> int | None:
    return parse_start_time(text) if text else None


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

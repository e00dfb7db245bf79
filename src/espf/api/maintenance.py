"""Maintenance windows of a handler: add one (one-off or recurring), list
them with the one open now or next, remove one. Admins only; a handler is
named within the caller's environment, as in api/handlers.py."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.handler_input import MAX_NAME_LENGTH
from espf.api.json_input import Fields
from espf.api.responses import JSONResponse
from espf.clock import format_ms
from espf.errors import BadRequest
from espf.maintenance import MAX_WINDOW_S, MaintenanceWindow
from espf.service.maintenance import MaintenanceState
from espf.timeparse import parse_start_time

WINDOW_FIELDS = ("name", "start", "end", "rule", "time_zone", "duration")


def window_json(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "id": window.i_window,
        "start": _time(window.starts_at),
        "end": _time(window.ends_at),
        "rule": window.rule,
        "time_zone": window.time_zone,
        "duration": window.duration_s,
    }


def maintenance_json(state: MaintenanceState) -> dict[str, Any]:
    upcoming = state.next
    return {
        "handler": state.handler,
        "in_maintenance": state.in_maintenance,
        "reason": state.reason,
        "next": None
        if upcoming is None
        else {"start": _time(upcoming.opens_at), "end": _time(upcoming.closes_at)},
        "windows": [window_json(w) for w in state.windows],
    }


def _time(ms: int | None) -> str | None:
    return None if ms is None else format_ms(ms)


def _instant(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_start_time(text)
    except BadRequest:
        raise BadRequest(
            f"{name} {text!r} is not a time: use 'YYYY-MM-DD HH:MM:SS' (UTC) or ISO 8601 "
            "with an offset",
            code="invalid_maintenance_window",
        ) from None


def window_of(f: Fields) -> MaintenanceWindow:
    """A window from a request's fields (the API's and the console's form);
    the service checks what they mean together (validate_window)."""
    return MaintenanceWindow(
        0,
        0,
        starts_at=_instant("start", f.text("start", max_length=64)),
        ends_at=_instant("end", f.text("end", max_length=64)),
        rule=f.text("rule", max_length=200),
        time_zone=f.text("time_zone", max_length=64),
        duration_s=f.integer("duration", maximum=MAX_WINDOW_S),
    )


def maintenance_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def add(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, WINDOW_FIELDS)
        name = f.require_text("name", MAX_NAME_LENGTH)
        added = await service.maintenance_add(user.i_env, name, window_of(f))
        return JSONResponse(window_json(added))

    async def list_windows(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        state = await service.maintenance_list(user.i_env, f.require_text("name", MAX_NAME_LENGTH))
        return JSONResponse(maintenance_json(state))

    async def remove(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name", "id"))
        name = f.require_text("name", MAX_NAME_LENGTH)
        state = await service.maintenance_remove(user.i_env, name, f.require_integer("id"))
        return JSONResponse(maintenance_json(state))

    return {
        "handler/maintenance/add": add,
        "handler/maintenance/list": list_windows,
        "handler/maintenance/remove": remove,
    }

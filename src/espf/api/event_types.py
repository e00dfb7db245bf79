"""Event types over HTTP: list, create a custom one, delete an unused one.

Types are shared by every environment, as in the original: any
administrator may list them and create custom ones (``Custom/...``); a custom
type is deleted only when no environment uses it (no subscription, no event),
and the refusal names only what the caller's own environment holds.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.representations import event_type_json
from espf.api.responses import JSONResponse
from espf.names import MAX_NAME_LENGTH


def event_type_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def type_list(request: Request) -> Response:
        await auth.admin(request)
        await ctx.fields(request, ())
        types = await service.type_list()
        return JSONResponse({"event_types": [event_type_json(t) for t in types]})

    async def type_create(request: Request) -> Response:
        await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        created = await service.type_create(f.require_text("name", MAX_NAME_LENGTH + 100))
        return JSONResponse(event_type_json(created))

    async def type_delete(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        deleted = await service.type_delete(
            f.require_text("name", MAX_NAME_LENGTH + 100), user.i_env
        )
        return JSONResponse({**event_type_json(deleted), "deleted": True})

    return {
        "event_type/list": type_list,
        "event_type/create": type_create,
        "event_type/delete": type_delete,
    }

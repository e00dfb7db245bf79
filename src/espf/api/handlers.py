"""Handlers over HTTP: create, read, change, delete, enable and disable,
list; pause and resume; see the keys an ordered handler is blocked on.

A handler is named by ``name`` within the caller's environment; another
environment's handlers do not exist for it (404). Answers show a handler as
``handler_json`` does: secrets are masked, never returned.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.handler_input import HANDLER_FIELDS, MAX_NAME_LENGTH, handler_settings
from espf.api.representations import blocked_key_json, handler_json
from espf.api.responses import JSONResponse
from espf.domain import Handler
from espf.handler_rules import deleted_handler_name


def handler_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def shown(handler: Handler) -> JSONResponse:
        flows = await service.handler_flows([handler])
        return JSONResponse(handler_json(handler, flows.get(handler.i_handler)))

    async def handler_create(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, HANDLER_FIELDS)
        name = f.require_text("name", MAX_NAME_LENGTH)
        created = await service.handler_create(user.i_env, name, handler_settings(f))
        return await shown(created)

    async def handler_get(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        found = await service.handler_get(user.i_env, f.require_text("name", MAX_NAME_LENGTH))
        return await shown(found)

    async def handler_update(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, HANDLER_FIELDS)
        name = f.require_text("name", MAX_NAME_LENGTH)
        updated = await service.handler_set(user.i_env, name, handler_settings(f))
        return await shown(updated)

    async def handler_delete(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        deleted = await service.handler_delete(user.i_env, f.require_text("name", MAX_NAME_LENGTH))
        return JSONResponse(
            {
                "name": deleted.name,
                "deleted": True,
                # How the history of its finished deliveries names it from now on.
                "history_name": deleted_handler_name(deleted),
            }
        )

    def set_enabled(enabled: bool) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = await auth.admin(request)
            f = await ctx.fields(request, ("name",))
            name = f.require_text("name", MAX_NAME_LENGTH)
            return await shown(await service.handler_set_enabled(user.i_env, name, enabled))

        return endpoint

    async def handler_list(request: Request) -> Response:
        user = await auth.admin(request)
        await ctx.fields(request, ())
        handlers = await service.handler_list(user.i_env)
        flows = await service.handler_flows(handlers)
        return JSONResponse(
            {"handlers": [handler_json(h, flows.get(h.i_handler)) for h in handlers]}
        )

    async def handler_pause(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name", "reason"))
        handler = await service.handler_pause(
            user.i_env,
            f.require_text("name", MAX_NAME_LENGTH),
            f.text("reason", max_length=500) or "",
        )
        return await shown(handler)

    async def handler_resume(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        handler = await service.handler_resume(user.i_env, f.require_text("name", MAX_NAME_LENGTH))
        return await shown(handler)

    async def handler_blocked_keys(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        keys = await service.blocked_keys(user.i_env, f.text("name", max_length=MAX_NAME_LENGTH))
        return JSONResponse({"blocked_keys": [blocked_key_json(k) for k in keys]})

    return {
        "handler/create": handler_create,
        "handler/get": handler_get,
        "handler/update": handler_update,
        "handler/delete": handler_delete,
        "handler/enable": set_enabled(True),
        "handler/disable": set_enabled(False),
        "handler/list": handler_list,
        "handler/pause": handler_pause,
        "handler/resume": handler_resume,
        "handler/blocked_keys": handler_blocked_keys,
    }

"""Which event types a handler delivers: list, subscribe, unsubscribe, and
subscribe to every type (the evctl ``handler sub``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.handler_input import MAX_NAME_LENGTH
from espf.api.responses import JSONResponse
from espf.names import MAX_NAME_LENGTH as MAX_TYPE_LENGTH


def subscription_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def subscriptions(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        name = f.require_text("name", MAX_NAME_LENGTH)
        types = await service.subscriptions(user.i_env, name)
        return JSONResponse({"handler": name, "event_types": types})

    async def subscribe(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name", "event_type"))
        name = f.require_text("name", MAX_NAME_LENGTH)
        event_type = await service.subscribe(
            user.i_env, name, f.require_text("event_type", MAX_TYPE_LENGTH)
        )
        return JSONResponse({"handler": name, "event_type": event_type.name, "subscribed": True})

    async def unsubscribe(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name", "event_type"))
        name = f.require_text("name", MAX_NAME_LENGTH)
        event_type = await service.unsubscribe(
            user.i_env, name, f.require_text("event_type", MAX_TYPE_LENGTH)
        )
        return JSONResponse({"handler": name, "event_type": event_type.name, "subscribed": False})

    async def subscribe_all(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("name",))
        name = f.require_text("name", MAX_NAME_LENGTH)
        added = await service.subscribe_all(user.i_env, name)
        return JSONResponse({"handler": name, "added": added})

    return {
        "handler/subscriptions": subscriptions,
        "handler/subscribe": subscribe,
        "handler/unsubscribe": unsubscribe,
        "handler/subscribe_all": subscribe_all,
    }

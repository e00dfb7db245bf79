"""An account's whole history: ``account/export`` answers JSON lines (one
record per line), ``account/expunge`` deletes it (409 while one of its
deliveries is in flight). Within the caller's environment; admin only."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from espf.account_history import JSON_LINES
from espf.account_status import MAX_I_ACCOUNT
from espf.api.context import ApiContext, Endpoint
from espf.api.responses import JSONResponse


def account_history_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def account_export(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("i_account",))
        history = await service.account_export(
            user.i_env, f.require_integer("i_account", maximum=MAX_I_ACCOUNT)
        )
        return Response(b"".join(history.lines()), media_type=JSON_LINES)

    async def account_expunge(request: Request) -> Response:
        user = await auth.admin(request)
        f = await ctx.fields(request, ("i_account",))
        done = await service.account_expunge(
            user.i_env, f.require_integer("i_account", maximum=MAX_I_ACCOUNT), by=user.i_user
        )
        return JSONResponse(
            {
                "i_expunge": done.i_expunge,
                "events": done.events,
                "deliveries": done.deliveries,
                "attempts": done.attempts,
                "transitions": done.transitions,
                "status_reports": done.status_reports,
            }
        )

    return {"account/export": account_export, "account/expunge": account_expunge}

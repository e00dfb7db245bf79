"""API tokens over HTTP, for the administrators of their own environment:
long-lived secrets a user logs in with at /rest/Session/login instead of its
password. The token itself is in the answer of token_create only; espf keeps
its SHA-256."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.responses import JSONResponse
from espf.api.users import MAX_LOGIN_LENGTH
from espf.auth_records import ApiToken
from espf.clock import format_ms
from espf.service.sessions import MAX_TOKEN_NAME


def token_json(token: ApiToken) -> dict[str, Any]:
    return {
        "i_api_token": token.i_api_token,
        "login": token.login,
        "name": token.name,
        "created": format_ms(token.created_at),
        "last_used": format_ms(token.last_used_at) if token.last_used_at is not None else None,
    }


def token_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def token_create(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login", "name"))
        user = await service.user_in_env(admin.i_env, f.require_text("login", MAX_LOGIN_LENGTH))
        made, secret = await service.sessions.token_create(
            user, f.require_text("name", MAX_TOKEN_NAME)
        )
        return JSONResponse({**token_json(made), "token": secret})

    async def token_list(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login",))
        found = await service.sessions.token_list(
            admin.i_env, f.text("login", max_length=MAX_LOGIN_LENGTH)
        )
        return JSONResponse({"tokens": [token_json(t) for t in found]})

    async def token_revoke(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login", "i_api_token"))
        i_api_token = f.require_integer("i_api_token")
        await service.sessions.token_revoke(
            admin.i_env, f.require_text("login", MAX_LOGIN_LENGTH), i_api_token
        )
        return JSONResponse({"i_api_token": i_api_token, "revoked": True})

    return {
        "user/token_create": token_create,
        "user/token_list": token_list,
        "user/token_revoke": token_revoke,
    }

"""API users over HTTP, for the administrators of their own environment:
create, list, delete, change a role or a password. Another environment's users do not
exist for the caller (404); a password hash is never returned.

Roles: ``admin`` may do everything in its environment; ``producer`` may only
create events and read the events it created.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from espf.api.context import ApiContext, Endpoint
from espf.api.representations import user_json
from espf.api.responses import JSONResponse
from espf.domain import Role

MAX_LOGIN_LENGTH = 100
MAX_PASSWORD_LENGTH = 1000
ROLES = [r.value for r in Role]


def user_endpoints(ctx: ApiContext) -> dict[str, Endpoint]:
    service, auth = ctx.service, ctx.auth

    async def user_create(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login", "password", "role", "allow_weak_password"))
        created = await service.user_create(
            admin.i_env,
            f.require_text("login", MAX_LOGIN_LENGTH),
            f.require_text("password", MAX_PASSWORD_LENGTH),
            Role(f.choice("role", ROLES) or Role.PRODUCER),
            f.flag("allow_weak_password"),
        )
        return JSONResponse(user_json(created))

    async def user_list(request: Request) -> Response:
        admin = await auth.admin(request)
        await ctx.fields(request, ())
        users = await service.user_list(admin.i_env)
        return JSONResponse({"users": [user_json(u) for u in users]})

    async def user_delete(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login",))
        login = f.require_text("login", MAX_LOGIN_LENGTH)
        await service.user_delete(admin.i_env, login, acting_login=admin.login)
        return JSONResponse({"login": login, "deleted": True})

    async def user_set_role(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login", "role"))
        login = f.require_text("login", MAX_LOGIN_LENGTH)
        role = Role(f.require_choice("role", ROLES))
        updated = await service.user_set_role(admin.i_env, login, role, acting_login=admin.login)
        return JSONResponse(user_json(updated))

    async def user_set_password(request: Request) -> Response:
        admin = await auth.admin(request)
        f = await ctx.fields(request, ("login", "password", "allow_weak_password"))
        updated = await service.user_set_password(
            admin.i_env,
            f.require_text("login", MAX_LOGIN_LENGTH),
            f.require_text("password", MAX_PASSWORD_LENGTH),
            f.flag("allow_weak_password"),
        )
        return JSONResponse(user_json(updated))

    return {
        "user/create": user_create,
        "user/set_password": user_set_password,
        "user/list": user_list,
        "user/delete": user_delete,
        "user/set_role": user_set_role,
    }

"""API users of the administrator's environment: list, create, change role, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.domain import Role
from espf.errors import BadRequest, EspfError
from espf.web.kit import Console, Form, redirect
from espf.web.session import Session

DONE_NOTICES = {"created": "User created.", "role": "Role changed.", "deleted": "User deleted."}


def user_routes(console: Console) -> list[Route]:
    service = console.ctx.service

    async def show(
        request: Request,
        session: Session,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        return console.render(
            request,
            "users.html",
            session,
            status_code=status,
            title="Users",
            nav="users",
            users=await service.user_list(session.user.i_env),
            roles=[r.value for r in Role],
            errors=errors or {},
            values=values or {"role": "producer"},
            notice=DONE_NOTICES.get(request.query_params.get("done", "")),
        )

    async def user_list(request: Request, session: Session, form: Form) -> Response:
        return await show(request, session)

    async def create(request: Request, session: Session, form: Form) -> Response:
        values = {"login": form.get("login", ""), "role": form.get("role", "")}
        try:
            await service.user_create(
                session.user.i_env, values["login"], form.get("password", ""), _role(values["role"])
            )
        except EspfError as error:
            where = "password" if error.message.startswith("password") else "login"
            if error.message.startswith("role"):
                where = "role"
            return await show(request, session, {where: error.message}, values, error.http_status)
        return redirect("/users", done="created")

    async def set_role(request: Request, session: Session, form: Form) -> Response:
        await service.user_set_role(
            session.user.i_env,
            form.get("login", ""),
            _role(form.get("role", "")),
            acting_login=session.user.login,
        )
        return redirect("/users", done="role")

    async def delete(request: Request, session: Session, form: Form) -> Response:
        await service.user_delete(
            session.user.i_env, form.get("login", ""), acting_login=session.user.login
        )
        return redirect("/users", done="deleted")

    return [
        Route("/users", console.admin_page(user_list), methods=["GET"]),
        Route("/users", console.admin_page(create), methods=["POST"]),
        Route("/users/role", console.admin_page(set_role), methods=["POST"]),
        Route("/users/delete", console.admin_page(delete), methods=["POST"]),
    ]


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise BadRequest(
            f"role {text!r} is not one of admin, producer", code="invalid_field"
        ) from None

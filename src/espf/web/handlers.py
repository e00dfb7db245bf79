"""Handlers: the list with health, create, a detail page with every setting
(secrets masked: only the API's masked representation reaches a template),
edit, enable/disable, pause/resume, and a test event to this handler alone."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.representations import handler_json
from espf.domain import AuthMethod
from espf.errors import BadRequest, EspfError
from espf.web.handler_form import field_of, limit_values, settings_from_form
from espf.web.handler_page import render_handler_page
from espf.web.kit import Console, Form, redirect
from espf.web.maintenance_windows import WINDOW_NOTICES
from espf.web.session import Session

DONE_NOTICES = {
    "created": "Handler created. Subscribe it to event types so that it receives events.",
    "saved": "Settings saved.",
    "enabled": "Enabled: its held deliveries go out again.",
    "disabled": "Disabled: its deliveries are held until it is enabled.",
    "paused": "Paused: its deliveries are held until it is resumed.",
    "resumed": "Resumed: its held deliveries go out now.",
    **WINDOW_NOTICES,
}
AUTH_METHODS = [m.value for m in AuthMethod]
DONE_OF = {"enable": "enabled", "disable": "disabled", "pause": "paused", "resume": "resumed"}


def handler_routes(console: Console) -> list[Route]:
    service = console.ctx.service

    async def handler_list(request: Request, session: Session, form: Form) -> Response:
        i_env = session.user.i_env
        health = await service.console_handler_health(i_env)
        return console.render(
            request,
            "handlers.html",
            session,
            title="Handlers",
            nav="handlers",
            rows=[(handler_json(r.handler), r) for r in health],
            maintenance=await service.maintenance_open_now(i_env),
        )

    def edit_page(
        request: Request,
        session: Session,
        form: Mapping[str, str],
        creating: bool,
        error: EspfError | None = None,
        shown: dict[str, object] | None = None,
    ) -> Response:
        errors = {field_of(error.message): error.message} if error else {}
        return console.render(
            request,
            "handler_edit.html",
            session,
            status_code=error.http_status if error else 200,
            title="New handler" if creating else f"Edit {form.get('name', '')}",
            nav="handlers",
            creating=creating,
            values=form,
            shown=shown or {},
            errors=errors,
            auth_methods=AUTH_METHODS,
        )

    async def new_form(request: Request, session: Session, form: Form) -> Response:
        return edit_page(request, session, {"auth": "basic", "timeout": ""}, creating=True)

    async def create(request: Request, session: Session, form: Form) -> Response:
        try:
            settings = settings_from_form(form)
            created = await service.handler_create(
                session.user.i_env, form.get("name", ""), settings
            )
        except EspfError as error:
            return edit_page(request, session, form, creating=True, error=error)
        return redirect("/handler", name=created.name, done="created")

    async def detail(request: Request, session: Session, form: Form) -> Response:
        return await render_handler_page(
            console,
            request,
            session,
            request.query_params.get("name", ""),
            notice=DONE_NOTICES.get(request.query_params.get("done", "")),
        )

    async def edit_form(request: Request, session: Session, form: Form) -> Response:
        handler = await service.handler_get(
            session.user.i_env, request.query_params.get("name", "")
        )
        shown = handler_json(handler)
        retry = handler.retry
        values = {
            "name": handler.name,
            "url": shown["url"],
            "auth": handler.auth_method.value,
            "login": handler.login or "",
            "auth_scheme": handler.auth_scheme or "",
            "auth_header": handler.auth_header,
            "timeout": f"{handler.timeout_s:g}",
            "auto_pause_after": ""
            if handler.auto_pause_after_s is None
            else f"{handler.auto_pause_after_s:g}",
            "retry.max_attempts": "" if retry.max_attempts is None else str(retry.max_attempts),
            "retry.schedule": retry.schedule or "",
            "ordered": "on" if handler.ordered else "",
            "order_key": handler.order_key or "",
            **limit_values(handler.max_in_flight, handler.max_rate, handler.rate_burst),
        }
        return edit_page(request, session, values, creating=False, shown=shown)

    async def save(request: Request, session: Session, form: Form) -> Response:
        name = form.get("name", "")
        i_env = session.user.i_env
        current = await service.handler_get(i_env, name)
        try:
            submitted = dict(form)
            if submitted.get("url") == handler_json(current)["url"]:
                # The masked address shown in the form: unchanged, keep the real one.
                submitted.pop("url")
            updated = await service.handler_set(i_env, name, settings_from_form(submitted))
        except EspfError as error:
            shown = handler_json(current)
            return edit_page(request, session, form, creating=False, error=error, shown=shown)
        return redirect("/handler", name=updated.name, done="saved")

    def action(verb: str) -> Route:
        async def run(request: Request, session: Session, form: Form) -> Response:
            i_env, name = session.user.i_env, form.get("name", "")
            if verb == "enable":
                await service.handler_set_enabled(i_env, name, True)
            elif verb == "disable":
                await service.handler_set_enabled(i_env, name, False)
            elif verb == "pause":
                await service.handler_pause(i_env, name, form.get("reason", "").strip())
            else:
                await service.handler_resume(i_env, name)
            return redirect("/handler", name=name, done=DONE_OF[verb])

        return Route(f"/handler/{verb}", console.page(run, admin=True), methods=["POST"])

    async def send_test(request: Request, session: Session, form: Form) -> Response:
        i_env, name = session.user.i_env, form.get("name", "")
        handler = await service.handler_get(i_env, name)
        test_type = form.get("event_type", "").strip()
        variables = form.get("variables", "")
        test_error = None
        test = None
        try:
            if not test_type:
                raise BadRequest("event_type is required", code="missing_field")
            test = await service.console_send_test(i_env, handler.name, test_type, variables)
        except EspfError as error:
            test_error = error.message
        return await render_handler_page(
            console,
            request,
            session,
            handler.name,
            test=test,
            test_error=test_error,
            test_type=test_type,
            test_variables=variables,
        )

    admin = console.admin_page
    return [
        Route("/handlers", admin(handler_list), methods=["GET"]),
        Route("/handlers/new", admin(new_form), methods=["GET"]),
        Route("/handlers/new", admin(create), methods=["POST"]),
        Route("/handler", admin(detail), methods=["GET"]),
        Route("/handler/edit", admin(edit_form), methods=["GET"]),
        Route("/handler/edit", admin(save), methods=["POST"]),
        Route("/handler/test", admin(send_test), methods=["POST"]),
        *(action(verb) for verb in ("enable", "disable", "pause", "resume")),
    ]

"""A handler's maintenance windows in the console: add one (one-off or
recurring) and remove one after a confirmation page. The window is read by
the API's own reader (api/maintenance.py) and checked by the service, so the
console refuses what the API refuses, with the same message beside the field."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.json_input import Fields
from espf.api.maintenance import WINDOW_FIELDS, window_of
from espf.errors import BadRequest, EspfError
from espf.web.handler_page import render_handler_page
from espf.web.kit import Console, Form, redirect
from espf.web.session import Session

ONE_OFF_FIELDS = ("start", "end")
RECURRING_FIELDS = ("rule", "time_zone", "duration")
WINDOW_NOTICES = {
    "window-added": "Maintenance window added. While it is open nothing is sent to this "
    "handler; its due deliveries wait, spending no attempt.",
    "window-removed": "Maintenance window removed. What it held back goes out now.",
}
# The field a service message is about, by how the message starts.
_FIELD_OF_MESSAGE = (
    ("unknown time zone", "time_zone"),
    ("rule ", "rule"),
    ("start ", "start"),
    ("end ", "end"),
    ("a window must end", "end"),
    ("that window is over", "end"),
    ("duration", "duration"),
    ("a recurring window needs a duration", "duration"),
)


def window_field_of(message: str) -> str:
    for start, name in _FIELD_OF_MESSAGE:
        if message.startswith(start):
            return name
    return "form"


def window_body(form: Form) -> dict[str, Any]:
    """The fields of the chosen kind of window, as the API's JSON would hold
    them: the other kind's fields are ignored, blanks are absent."""
    kind = form.get("kind", "")
    names = ONE_OFF_FIELDS if kind == "one_off" else RECURRING_FIELDS
    body: dict[str, Any] = {}
    for name in names:
        value = form.get(name, "").strip()
        if not value:
            continue
        # A duration that is a whole number is one; anything else reaches the
        # reader as text and gets its message ("an integer from 1 to ...").
        body[name] = int(value) if name == "duration" and value.isdigit() else value
    return body


def maintenance_routes(console: Console) -> list[Route]:
    service = console.ctx.service

    async def add(request: Request, session: Session, form: Form) -> Response:
        name = form.get("name", "")
        try:
            if form.get("kind") not in ("one_off", "recurring"):
                raise BadRequest("choose a one-off or a recurring window", code="invalid_field")
            window = window_of(Fields(window_body(form), WINDOW_FIELDS))
            await service.maintenance_add(session.user.i_env, name, window)
        except EspfError as error:
            return await render_handler_page(
                console,
                request,
                session,
                name,
                status_code=error.http_status,
                window=dict(form),
                window_errors={window_field_of(error.message): error.message},
            )
        return redirect("/handler", name=name, done="window-added")

    async def confirm_remove(request: Request, session: Session, form: Form) -> Response:
        name = request.query_params.get("name", "")
        state = await service.maintenance_list(session.user.i_env, name)
        wanted = request.query_params.get("window", "")
        found = [
            (w, span)
            for w, span in zip(state.windows, state.spans, strict=True)
            if str(w.i_window) == wanted
        ]
        if not found:
            raise BadRequest(
                f"handler {name!r} has no maintenance window {wanted!r}: it may have been "
                "removed already",
                code="unknown_window",
            )
        window, span = found[0]
        return console.render(
            request,
            "window_remove.html",
            session,
            title=f"Remove a maintenance window of {state.handler}",
            nav="handlers",
            handler=state.handler,
            w=window,
            span=span,
            now_ms=service.clock.now_ms(),
        )

    async def remove(request: Request, session: Session, form: Form) -> Response:
        name = form.get("name", "")
        text = form.get("window", "")
        if not text.isdigit():
            raise BadRequest("window must be a window's number", code="invalid_field")
        await service.maintenance_remove(session.user.i_env, name, int(text))
        return redirect("/handler", name=name, done="window-removed")

    admin = console.admin_page
    return [
        Route("/handler/maintenance/add", admin(add), methods=["POST"]),
        Route("/handler/maintenance/remove", admin(confirm_remove), methods=["GET"]),
        Route("/handler/maintenance/remove", admin(remove), methods=["POST"]),
    ]

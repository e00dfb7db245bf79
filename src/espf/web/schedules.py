"""Schedules: every recurring schedule of the environment with its next
firing in the schedule's own zone, narrowed by key prefix, a page at a time."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.errors import BadRequest, EspfError
from espf.web.kit import Console, Form
from espf.web.session import Session

PAGE = 50


def schedule_routes(console: Console) -> list[Route]:
    service = console.ctx.service

    async def schedule_list(request: Request, session: Session, form: Form) -> Response:
        key_prefix = request.query_params.get("key", "").strip()
        after_text = request.query_params.get("after", "0")
        error = None
        page = None
        try:
            if not after_text.isdigit():
                raise BadRequest("after must be a schedule number", code="invalid_field")
            page = await service.schedule_page(
                session.user.i_env, int(after_text), PAGE, key_prefix
            )
        except EspfError as err:
            error = err.message
        return console.render(
            request,
            "schedules.html",
            session,
            title="Schedules",
            nav="schedules",
            key_prefix=key_prefix,
            schedules=page.schedules if page else [],
            next_after=page.next_after if page else None,
            first_page=after_text in ("", "0"),
            error=error,
        )

    return [Route("/schedules", console.admin_page(schedule_list), methods=["GET"])]

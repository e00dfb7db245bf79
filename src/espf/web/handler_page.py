"""The handler detail page: every setting (secrets masked: only the API's
masked representation reaches the template), its limits, its maintenance
windows, its subscriptions and the test-event form. Shared by the handler
actions and the maintenance-window forms, which show it again with their
result or their error."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from espf.api.representations import handler_json
from espf.web.kit import Console
from espf.web.session import Session

DEFAULT_TEST_VARIABLES = '{"i_account": 1}'


async def render_handler_page(
    console: Console,
    request: Request,
    session: Session,
    name: str,
    status_code: int = 200,
    **shown: Any,
) -> Response:
    """``shown`` overrides the defaults: a notice, the test result, the
    values and errors of a maintenance form sent back."""
    service = console.ctx.service
    i_env = session.user.i_env
    handler = await service.handler_get(i_env, name)
    values: dict[str, Any] = {
        "notice": None,
        "test": None,
        "test_error": None,
        "test_type": "",
        "test_variables": DEFAULT_TEST_VARIABLES,
        "window": {},
        "window_errors": {},
    }
    values.update(shown)
    return console.render(
        request,
        "handler.html",
        session,
        status_code=status_code,
        title=f"Handler {handler.name}",
        nav="handlers",
        h=handler_json(handler),
        maintenance=await service.maintenance_list(i_env, handler.name),
        subscriptions=await service.subscriptions(i_env, handler.name),
        types=await service.type_list(),
        now_ms=service.clock.now_ms(),
        **values,
    )

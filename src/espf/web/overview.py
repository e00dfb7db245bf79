"""The overview: events by state, what is due soon, attempts over the last
hour and day, lateness, and the health of each handler. The figures part is
fetched again every few seconds (htmx) without reloading the page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.domain import EventState
from espf.service import own_events_only
from espf.web.charts import stacked_bars
from espf.web.kit import Console, Form
from espf.web.session import Session

REFRESH_S = 5


def overview_routes(console: Console) -> list[Route]:
    async def values(session: Session) -> dict[str, Any]:
        user = session.user
        service = console.ctx.service
        found = await service.console_overview(user.i_env, own_events_only(user))
        return {
            "overview": found,
            "states": [(s.value, found.states.get(s.value, 0)) for s in EventState],
            "total": sum(found.states.values()),
            "hour_chart": stacked_bars(found.last_hour, "attempts per minute, last hour")
            if found.last_hour
            else None,
            "day_chart": stacked_bars(found.last_day, "attempts per 30 minutes, last day")
            if found.last_day
            else None,
            # Handlers are in the administrators' overview only.
            "maintenance": await service.maintenance_open_now(user.i_env) if found.handlers else {},
            "refresh_s": REFRESH_S,
            "now": service.clock.now_ms(),
        }

    async def page(request: Request, session: Session, form: Form) -> Response:
        return console.render(
            request,
            "overview.html",
            session,
            title="Overview",
            nav="overview",
            **await values(session),
        )

    async def live(request: Request, session: Session, form: Form) -> Response:
        return console.render(request, "overview_figures.html", session, **await values(session))

    return [
        Route("/", console.page(page), methods=["GET"]),
        Route("/overview/live", console.page(live, renew=False), methods=["GET"]),
    ]

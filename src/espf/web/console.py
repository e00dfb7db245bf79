"""The console's routes, mounted at /console by the API application."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from espf.api.context import ApiContext
from espf.web.catalog import catalog_routes
from espf.web.events import event_routes
from espf.web.handlers import handler_routes
from espf.web.kit import PREFIX, Console
from espf.web.maintenance_windows import maintenance_routes
from espf.web.overview import overview_routes
from espf.web.schedules import schedule_routes
from espf.web.signin import signin_routes
from espf.web.users import user_routes

# Addresses outside /console/ that lead to it: a browser opening espf's root.
CONSOLE_ENTRIES = ("/", PREFIX)


def console_routes(ctx: ApiContext) -> list[BaseRoute]:
    console = Console(ctx)
    static = Path(str(resources.files("espf.web").joinpath("static")))

    async def to_console(request: Request) -> Response:
        return RedirectResponse(PREFIX + "/", status_code=307)

    return [
        *(Route(path, to_console, methods=["GET"]) for path in CONSOLE_ENTRIES),
        Mount(
            PREFIX,
            routes=[
                Mount("/static", StaticFiles(directory=static), name="console-static"),
                *signin_routes(console),
                *overview_routes(console),
                *event_routes(console),
                *handler_routes(console),
                *maintenance_routes(console),
                *catalog_routes(console),
                *schedule_routes(console),
                *user_routes(console),
            ],
        ),
    ]

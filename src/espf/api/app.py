"""Routes and error mapping.

The hot path (``event/create``) is a plain Starlette endpoint with orjson:
design.md §5 measured the framework's per-request cost as the biggest single
cost of ingest, so no validation framework sits in front of it. The OpenAPI
document (api/openapi/) describes every route; a test checks that the two
list the same routes.
"""

from __future__ import annotations

import logging
import time

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.account_history import account_history_endpoints
from espf.api.accounts import account_routes
from espf.api.authn import Authenticator
from espf.api.context import ApiContext, Endpoint
from espf.api.docs import docs_routes
from espf.api.event_types import event_type_endpoints
from espf.api.events import event_endpoints
from espf.api.handlers import handler_endpoints
from espf.api.maintenance import maintenance_endpoints
from espf.api.responses import JSONResponse, error_response
from espf.api.rest_session import rest_session_routes, unknown_rest_path
from espf.api.schedules import schedule_endpoints
from espf.api.subscriptions import subscription_endpoints
from espf.api.tokens import token_endpoints
from espf.api.users import user_endpoints
from espf.errors import BadRequest, EspfError, NotFound
from espf.metrics import Metrics
from espf.service import Service
from espf.web.console import console_routes

log = logging.getLogger("espf.api")

API_PREFIX = "/espf/v1/"
# The database gauges of /metrics count rows: read at most this often.
DB_STATS_MAX_AGE_S = 60.0


def create_app(service: Service, metrics: Metrics | None = None) -> Starlette:
    ctx = ApiContext(service, Authenticator(service), service.settings.max_body_bytes)
    metrics = metrics or Metrics()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        version = await service.require_current_schema()
        service.require_storage_room()
        return JSONResponse({"status": "ready", "schema_version": version})

    async def metrics_page(request: Request) -> Response:
        metrics.refresh_queue_gauges(await service.queue_snapshot())
        metrics.refresh_storage(service.storage_watch())
        stats = await service.db_stats_cached(DB_STATS_MAX_AGE_S)
        metrics.refresh_db_stats(stats, service.clock.now_ms())
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")

    def guarded(route: str, endpoint: Endpoint) -> Endpoint:
        """Errors a client can cause become JSON answers; every answer is counted
        under its route's template, never its concrete path (bounded labels)."""
        latency = metrics.api_latency.labels(route)

        async def run(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await endpoint(request)
            except EspfError as error:
                response = error_response(error)
            except ClientDisconnect:
                # The client went away mid-body: nothing was done and nobody
                # will read an answer. Not a server error, so no traceback.
                log.debug("client left during %s %s", request.method, request.url.path)
                response = error_response(
                    BadRequest("the client closed the connection", code="client_disconnected")
                )
            latency.observe(time.perf_counter() - started)
            metrics.api_requests.labels(route, str(response.status_code)).inc()
            return response

        return run

    methods = {
        **event_endpoints(ctx),
        **handler_endpoints(ctx),
        **maintenance_endpoints(ctx),
        **subscription_endpoints(ctx),
        **event_type_endpoints(ctx),
        **user_endpoints(ctx),
        **token_endpoints(ctx),
        **schedule_endpoints(ctx),
        **account_history_endpoints(ctx),
    }
    routes = [
        *(
            Route(API_PREFIX + path, guarded(path, endpoint), methods=["POST"])
            for path, endpoint in methods.items()
        ),
        *account_routes(ctx, guarded),
        *rest_session_routes(ctx, guarded),
        *docs_routes(guarded),
        Route("/healthz", guarded("healthz", healthz), methods=["GET"]),
        Route("/readyz", guarded("readyz", readyz), methods=["GET"]),
        Route("/metrics", guarded("metrics", metrics_page), methods=["GET"]),
        *console_routes(ctx),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and request.url.path.startswith("/rest/"):
            response = unknown_rest_path(request.url.path)
        elif exc.status_code == 404:
            response = error_response(NotFound(f"no such resource: {request.url.path}"))
        else:
            code = "method_not_allowed" if exc.status_code == 405 else None
            error = EspfError(exc.detail, code=code)
            error.http_status = exc.status_code
            response = error_response(error, headers=dict(exc.headers or {}))
        metrics.api_requests.labels("unmatched", str(response.status_code)).inc()
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(EspfError("internal error; see the service log"))

    app = Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    app.state.metrics = metrics
    return app

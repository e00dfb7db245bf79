"""Routes and error mapping.

The hot path (``event/create``) is a plain Starlette endpoint with orjson:
design.md §5 measured the framework's per-request cost as the biggest single
cost of ingest, so no validation framework sits in front of it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.authn import Authenticator
from espf.api.operations import operation_endpoints
from espf.api.request_body import parse_json, read_body
from espf.api.responses import JSONResponse, error_response
from espf.errors import EspfError, NotFound
from espf.service import Service

log = logging.getLogger("espf.api")

Endpoint = Callable[[Request], Awaitable[Response]]


def create_app(service: Service) -> Starlette:
    limit = service.settings.max_body_bytes
    auth = Authenticator(service)

    async def event_create(request: Request) -> Response:
        user = await auth.user(request)
        body = parse_json(await read_body(request, limit))
        idempotency_key = request.headers.get("idempotency-key")
        i_event = await service.event_create(user.i_env, body, idempotency_key)
        return JSONResponse({"i_event": i_event})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        version = await service.store.schema_version()
        return JSONResponse({"status": "ready", "schema_version": version})

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def run(request: Request) -> Response:
            try:
                return await endpoint(request)
            except EspfError as error:
                return error_response(error)

        return run

    routes = [
        Route("/espf/v1/event/create", guarded(event_create), methods=["POST"]),
        *(
            Route(f"/espf/v1/{path}", guarded(endpoint), methods=["POST"])
            for path, endpoint in operation_endpoints(service, auth, limit).items()
        ),
        Route("/healthz", guarded(healthz), methods=["GET"]),
        Route("/readyz", guarded(readyz), methods=["GET"]),
    ]

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return error_response(NotFound(f"no such resource: {request.url.path}"))
        error = EspfError(exc.detail, code="method_not_allowed" if exc.status_code == 405 else None)
        error.http_status = exc.status_code
        return error_response(error, headers=dict(exc.headers or {}))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(EspfError("internal error; see the service log"))

    return Starlette(
        routes=routes,
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )

"""``/rest/Session/*``: the billing API's session methods, for Applications
whose client libraries log in instead of sending Basic credentials.

They are answered the way those libraries read them: a body
``{"params": {...}}`` in, the billing API's fault shape
``{"faultcode", "faultstring"}`` out on failure. A failed login is HTTP 500
with the fault code ``Server.Session.auth_failed``: that exact code is how
the libraries tell a wrong password from an outage. Nothing else of the
billing API exists here; other ``/rest/`` paths answer 404 saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.basic_auth import bearer_token
from espf.api.context import ApiContext, Endpoint
from espf.api.request_body import parse_json, read_body
from espf.api.responses import JSONResponse
from espf.errors import BadRequest, EspfError, TooManyRequests, Unauthorized

AUTH_FAILED = "Server.Session.auth_failed"
SESSION_METHODS = ("login", "refresh_access_token", "ping", "logout")
MAX_FIELD = 1000


def fault(code: str, message: str, status: int, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"faultcode": code, "faultstring": message}, status, headers=headers)


def fault_of(error: EspfError) -> Response:
    if isinstance(error, TooManyRequests):
        return fault(
            "Server.Session.too_many_attempts",
            error.message,
            429,
            {"Retry-After": str(error.retry_after_s)},
        )
    if isinstance(error, Unauthorized):
        return fault(AUTH_FAILED, error.message, 500)
    if error.http_status < 500:
        return fault(f"Client.Session.{error.code}", error.message, error.http_status)
    return fault(f"Server.Session.{error.code}", error.message, error.http_status)


def _text(params: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_FIELD:
        raise BadRequest(f"params.{name} must be a non-empty string", code="invalid_field")
    return value


def rest_session_routes(
    ctx: ApiContext, guarded: Callable[[str, Endpoint], Endpoint]
) -> list[Route]:
    sessions = ctx.service.sessions
    throttle = ctx.auth.throttle

    async def params_of(request: Request) -> dict[str, Any]:
        body = await read_body(request, ctx.body_limit)
        data = parse_json(body) if body.strip() else {}
        params = data.get("params", {}) if isinstance(data, dict) else None
        if not isinstance(params, dict):
            raise BadRequest(
                'the body must be a JSON object {"params": {...}}', code="invalid_body"
            )
        return params

    async def login(request: Request) -> dict[str, Any]:
        params = await params_of(request)
        login = _text(params, "login")
        assert login is not None
        password = _text(params, "password", required=False)
        token = _text(params, "token", required=False)
        if (password is None) == (token is None):
            raise BadRequest(
                "send params.login with params.password or params.token", code="missing_field"
            )
        address = request.client.host if request.client else "unknown"
        throttle.check(address)
        try:
            tokens = await sessions.login(login, password=password, token=token)
        except Unauthorized:
            throttle.failed(address)
            raise
        return tokens.as_json()

    async def refresh(request: Request) -> dict[str, Any]:
        refresh_token = _text(await params_of(request), "refresh_token")
        assert refresh_token is not None
        return (await sessions.refresh(refresh_token)).as_json()

    def access_token_of(request: Request, params: dict[str, Any]) -> str:
        # The libraries send it in params; the Authorization header will do too.
        token = _text(params, "access_token", required=False) or bearer_token(request)
        if token is None:
            raise BadRequest("send params.access_token", code="missing_field")
        return token

    async def ping(request: Request) -> dict[str, Any]:
        token = access_token_of(request, await params_of(request))
        return {"user_id": await sessions.ping(token)}

    async def logout(request: Request) -> dict[str, Any]:
        token = access_token_of(request, await params_of(request))
        await sessions.logout(token)
        return {"success": 1}

    def answered(method: Callable[[Request], Any]) -> Endpoint:
        async def run(request: Request) -> Response:
            try:
                return JSONResponse(await method(request))
            except EspfError as error:
                return fault_of(error)

        return run

    endpoints = {"login": login, "refresh_access_token": refresh, "ping": ping, "logout": logout}
    return [
        *(
            Route(
                f"/rest/Session/{name}",
                guarded(f"rest/Session/{name}", answered(method)),
                methods=["POST"],
            )
            for name, method in endpoints.items()
        ),
    ]


def unknown_rest_path(path: str) -> Response:
    """Any other /rest/ path: the billing API is not here, beyond Session/*."""
    return fault(
        "Client.not_found",
        f"{path} is not served: espf implements only "
        + ", ".join(f"/rest/Session/{m}" for m in SESSION_METHODS)
        + " of the billing API",
        404,
    )

"""The provisioning status of accounts, as the Application reports it:

    POST /espf/v1/account/i/<i_account>/status   {status, group, message}
    POST /espf/v1/account/<id>/status            the same, by the account's id
    GET  on the same paths                       current status per group, and history

The body is JSON, or form-encoded as older releases of the original sent it.
GET takes ``group``, ``limit`` and ``cursor`` as query parameters. Kept per
environment: another environment's statuses do not exist for the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.account_status import MAX_MESSAGE_LENGTH, account_by_i_account, account_by_id
from espf.api.context import ApiContext, Endpoint
from espf.api.cursor import decode_cursor, encode_cursor
from espf.api.form_input import parse_form
from espf.api.json_input import Fields
from espf.api.representations import account_json, account_status_change_json
from espf.api.request_body import parse_json, read_body
from espf.api.responses import JSONResponse
from espf.domain import AccountRef
from espf.errors import BadRequest, UnsupportedMediaType
from espf.service import MAX_PAGE

STATUS_FIELDS = ("status", "group", "message")
QUERY_FIELDS = ("group", "limit", "cursor")
API_PREFIX = "/espf/v1/"
BY_I_ACCOUNT = API_PREFIX + "account/i/{i_account}/status"
BY_ID = API_PREFIX + "account/{id}/status"
HISTORY_CURSOR = "status"
DEFAULT_HISTORY = 100
FORM = "application/x-www-form-urlencoded"


def account_routes(ctx: ApiContext, guard: Callable[[str, Endpoint], Endpoint]) -> list[Route]:
    """``guard(route, endpoint)`` maps errors and counts requests by route."""
    service, auth = ctx.service, ctx.auth

    def status_endpoint(account_of: Callable[[Request], AccountRef]) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = await auth.admin(request)
            account = account_of(request)
            if request.method == "GET":
                return await read_status(request, user.i_env, account)
            f = Fields(await _status_body(request, ctx.body_limit), STATUS_FIELDS)
            change = await service.account_status_report(
                user.i_env,
                account,
                group=f.require_text("group", 64),
                status=f.require_text("status", 20),
                message=f.text("message", max_length=MAX_MESSAGE_LENGTH),
                reported_by=user.i_user,
            )
            return JSONResponse({**account_json(account), **account_status_change_json(change)})

        return endpoint

    async def read_status(request: Request, i_env: int, account: AccountRef) -> Response:
        f = Fields(_query(request), QUERY_FIELDS)
        cursor = f.text("cursor", max_length=200)
        view = await service.account_status(
            i_env,
            account,
            group=f.text("group", max_length=64),
            before=decode_cursor(HISTORY_CURSOR, cursor) if cursor else None,
            limit=_limit(f.text("limit", max_length=10)),
        )
        return JSONResponse(
            {
                **account_json(view.account),
                "groups": [account_status_change_json(c) for c in view.current],
                "history": [account_status_change_json(c) for c in view.history],
                "next_cursor": (
                    encode_cursor(HISTORY_CURSOR, view.next_before)
                    if view.next_before is not None
                    else None
                ),
            }
        )

    by_i_account = status_endpoint(lambda r: account_by_i_account(r.path_params["i_account"]))
    by_id = status_endpoint(lambda r: account_by_id(r.path_params["id"]))
    return [
        Route(
            BY_I_ACCOUNT,
            guard("account/i/{i_account}/status", by_i_account),
            methods=["GET", "POST"],
        ),
        Route(BY_ID, guard("account/{id}/status", by_id), methods=["GET", "POST"]),
    ]


async def _status_body(request: Request, limit: int) -> Any:
    """JSON or a form, by Content-Type; no Content-Type is taken as JSON."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await read_body(request, limit)
    if media_type == FORM:
        return parse_form(body)
    if media_type in ("", "application/json") or media_type.endswith("+json"):
        return parse_json(body)
    raise UnsupportedMediaType(f"send the status as application/json or {FORM}, not {media_type}")


def _query(request: Request) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise BadRequest(f"query parameter {name} is given twice", code="invalid_field")
        params[name] = value
    return params


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_HISTORY
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE}", code="invalid_field")
    return int(text)

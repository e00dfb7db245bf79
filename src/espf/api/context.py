"""What every endpoint module needs: the service, who is calling, and the
request body read within its size limit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from espf.api.authn import Authenticator
from espf.api.json_input import Fields
from espf.api.request_body import parse_json, read_body
from espf.service import Service

Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class ApiContext:
    service: Service
    auth: Authenticator
    body_limit: int  # max_body_bytes: larger bodies get 413, on every endpoint

    async def fields(self, request: Request, allowed: Iterable[str]) -> Fields:
        """The body's JSON object, unknown fields refused. An empty body is an
        empty object, for methods whose fields are all optional (lists)."""
        body = await read_body(request, self.body_limit)
        return Fields(parse_json(body) if body.strip() else {}, allowed)

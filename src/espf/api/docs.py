"""Serving the API's documentation: the OpenAPI document at
/doc/api/openapi.json and a web page for people at /doc/api (where the
original publishes its own). Both are built once, at start; neither needs
credentials, since they describe the API and hold no data."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from espf.api.context import Endpoint
from espf.api.docs_page import render_docs_page
from espf.api.openapi import openapi_document

# The page loads only its own script and the document: no CDN, no inline script.
_PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)


def docs_routes(guard: Callable[[str, Endpoint], Endpoint]) -> list[Route]:
    document = openapi_document()
    document_json = orjson.dumps(document)
    page = render_docs_page(document).encode()
    static = resources.files("espf.api").joinpath("static")
    script = static.joinpath("docs.js").read_bytes()
    style = static.joinpath("docs.css").read_bytes()

    async def openapi_json(request: Request) -> Response:
        return Response(document_json, media_type="application/json")

    async def docs_page(request: Request) -> Response:
        return Response(
            page,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": _PAGE_POLICY, "X-Content-Type-Options": "nosniff"},
        )

    async def docs_script(request: Request) -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8")

    async def docs_style(request: Request) -> Response:
        return Response(style, media_type="text/css; charset=utf-8")

    pages = {
        "/doc/api": docs_page,
        "/doc/api/openapi.json": openapi_json,
        "/doc/api/docs.js": docs_script,
        "/doc/api/docs.css": docs_style,
    }
    return [
        Route(path, guard(path.lstrip("/"), endpoint), methods=["GET"])
        for path, endpoint in pages.items()
    ]

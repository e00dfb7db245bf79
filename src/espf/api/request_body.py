"""Reading a request body within the size limit, and parsing it as JSON."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from espf.errors import BadRequest, PayloadTooLarge
from espf.json_text import loads_exact


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the limit of {limit} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """Stop reading as soon as the limit is passed, whatever Content-Length says."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise BadRequest("Content-Length is not a number", code="invalid_header") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise BadRequest("the request body is empty; send a JSON object", code="malformed_json")
    return loads_exact(body)

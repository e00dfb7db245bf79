"""The ingest baseline: a bare Starlette endpoint that reads and parses the
event/create body and answers without storing anything, served by uvicorn
with espf's own settings (uvloop, httptools, one worker, no access log).

    python -m bench.baseline_app PORT
"""

from __future__ import annotations

import itertools
import sys

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

_ids = itertools.count(1)


async def event_create(request: Request) -> Response:
    body = orjson.loads(await request.body())
    if not isinstance(body, dict) or "event_type" not in body:
        return Response(b'{"error":"invalid_body"}', status_code=400)
    return Response(orjson.dumps({"i_event": next(_ids)}), media_type="application/json")


async def healthz(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/espf/v1/event/create", event_create, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
)


def main() -> None:
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="off",
        timeout_keep_alive=30,
    )


if __name__ == "__main__":
    main()

"""Property-based test of the whole API against its own OpenAPI document.

A real uvicorn server on a free loopback port, over a SQLite database
holding two environments, users, handlers and events (tests/api/conftest.py
seed). Schemathesis generates valid and invalid requests for every method of
the document, sends them as environment 3's administrator, and checks that
no answer is a server error and every answer matches the document: its
status code, its content type, its headers and its body.

ESPF_SCHEMATHESIS_EXAMPLES sets the examples per method (default 25; the
suite then takes well under two minutes on a two-core machine).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
import uvicorn
from argon2 import PasswordHasher
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import espf.passwords
from espf.api import create_app
from espf.api.openapi import openapi_document
from espf.config import load_settings
from espf.domain import Role
from espf.service import Service
from espf.store import create_store
from tests.api.conftest import ADMIN3, seed

EXAMPLES = int(os.environ.get("ESPF_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
AUTHORIZATION = "Basic " + base64.b64encode(":".join(ADMIN3).encode()).decode()


def _serve(
    database: Path, sock: socket.socket, server_box: list[uvicorn.Server], ready: threading.Event
) -> None:
    async def main() -> None:
        settings = load_settings({}, database_url=f"sqlite:///{database}")
        store = create_store(settings.database_url)
        await store.open()
        try:
            service = Service(store, settings)
            await seed(service)
            # The seeded events are due: give them pending deliveries, so that
            # delivery/retry, event/reschedule and event/cancel have something
            # to act on, and EventSender, which now has unfinished work, stays
            # for every other method (handler/delete refuses it).
            now = service.clock.now_ms()
            await store.dispatch_due("seed", now, 100)
            await store.node_release("seed", now)
            await service.user_create(3, "billing", "billing-password", Role.PRODUCER)
            config = uvicorn.Config(
                create_app(service), log_level="warning", lifespan="off", access_log=False
            )
            # In a thread other than the main one, uvicorn leaves signals alone.
            server = uvicorn.Server(config)
            server_box.append(server)
            ready.set()
            await server.serve(sockets=[sock])
        finally:
            await store.close()

    asyncio.run(main())


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Cheap hashing, as for every API test: user/create runs many times here.
    real_hasher = espf.passwords._hasher
    espf.passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    box: list[uvicorn.Server] = []
    ready = threading.Event()
    database = tmp_path_factory.mktemp("schemathesis") / "espf.db"
    thread = threading.Thread(target=_serve, args=(database, sock, box, ready), daemon=True)
    thread.start()
    assert ready.wait(30), "the server did not start"
    while not box[0].started:
        thread.join(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        box[0].should_exit = True
        thread.join(30)
        espf.passwords._hasher = real_hasher


# The document as the app serves it (test_openapi checks that they are the
# same); loaded eagerly, since schemathesis' fixture-based loader does not
# run under pytest 9. Requests go to the live server through base_url.
schema = schemathesis.openapi.from_dict(openapi_document())
schema.config.generation.update(max_examples=EXAMPLES)
# Stateful sequences would need links in the document; every phase that
# tests one request at a time runs (examples, coverage, fuzzing).
schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])


@schema.parametrize()
@hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_api_answers_as_documented(case: schemathesis.Case[Any], server_url: str) -> None:
    case.call_and_validate(
        base_url=server_url, headers={"Authorization": AUTHORIZATION}, checks=CHECKS
    )

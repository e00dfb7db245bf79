"""The receiver behind espf's real EventSender, once per auth method: a live
espf process delivers to the receiver served over HTTP (ASGI by uvicorn,
WSGI by the standard library's server). A resend of the same delivery is a
duplicate; a receiver with the wrong password refuses, and espf records the
rejection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from espf.client import Client, EventDetail
from espf.receiver import (
    Authenticator,
    BasicAuth,
    Event,
    NoAuth,
    Receiver,
    SignatureAuth,
    TokenAuth,
)
from espf.signing import generate_signing_secret
from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD, EspfProcess, wait_until
from tests.receiver.serving import serve_asgi, serve_wsgi

NEW_SECRET = generate_signing_secret()
OLD_SECRET = generate_signing_secret()


@dataclass(frozen=True)
class Case:
    receiver_auth: Authenticator
    handler_settings: dict[str, Any]
    serve: Callable[[Any], AbstractContextManager[str]]
    adapter: str
    accepted: bool = True


CASES = {
    "basic over WSGI": Case(
        BasicAuth("espf", "app-password"),
        {"login": "espf", "password": "app-password"},
        serve_wsgi,
        "wsgi",
    ),
    "custom token under its own header over ASGI": Case(
        TokenAuth("Token", "t0k3n-value", header="X-Espf-Token"),
        {
            "auth": "custom",
            "auth_scheme": "Token",
            "auth_token": "t0k3n-value",
            "auth_header": "X-Espf-Token",
        },
        serve_asgi,
        "asgi",
    ),
    "signature during a rotation over ASGI": Case(
        # espf signs with the new and the old secret; this receiver knows only the old one yet.
        SignatureAuth([OLD_SECRET]),
        {"auth": "signature", "signing_secrets": [NEW_SECRET, OLD_SECRET]},
        serve_asgi,
        "asgi",
    ),
    "signature over WSGI": Case(
        SignatureAuth([NEW_SECRET]),
        {"auth": "signature", "signing_secrets": [NEW_SECRET]},
        serve_wsgi,
        "wsgi",
    ),
    "no auth over WSGI": Case(NoAuth(), {"auth": "none"}, serve_wsgi, "wsgi"),
    "wrong password": Case(
        BasicAuth("espf", "app-password"),
        {"login": "espf", "password": "not-the-password"},
        serve_asgi,
        "asgi",
        accepted=False,
    ),
}


@pytest.fixture(scope="module")
def espf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    process = EspfProcess(Path(tmp_path_factory.mktemp("espf"))).start()
    try:
        with Client(process.base_url, ADMIN_LOGIN, ADMIN_PASSWORD) as client:
            yield client
    finally:
        process.stop()
        print(process.log_tail(60))


@dataclass
class Seen:
    events: list[Event] = field(default_factory=list)


def final(espf: Client, i_event: int) -> EventDetail:
    def done() -> EventDetail | None:
        detail = espf.event_get(i_event)
        return detail if detail.state in {"delivered", "rejected", "failed"} else None

    return wait_until(done, 20, f"event {i_event} to finish", interval=0.1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_receiver_behind_espf_s_event_sender(espf: Client, name: str) -> None:
    case = CASES[name]
    seen = Seen()
    receiver = Receiver(case.receiver_auth)
    receiver.route("Custom/*", seen.events.append)
    app = receiver.asgi() if case.adapter == "asgi" else receiver.wsgi()
    handler = "".join(word.capitalize() for word in name.split())[:60]
    event_type = f"Custom/{handler}"
    with case.serve(app) as base_url:
        espf.event_type_create(event_type)
        espf.handler_create(handler, f"{base_url}/espf", **case.handler_settings)
        espf.handler_subscribe(handler, event_type)
        i_event = espf.event_create(event_type, {"i_account": 541})
        detail = final(espf, i_event)
        (delivery,) = detail.deliveries
        if not case.accepted:
            assert detail.state == "rejected" and delivery.last_status_code == 401
            assert "wrong login or password" in (delivery.last_error or "")
            assert seen.events == []
            return
        assert detail.state == "delivered", detail
        (event,) = seen.events
        assert (event.i_event, event.event_type, event.variables["i_account"]) == (
            i_event,
            event_type,
            541,
        )
        if "signature" in name:
            assert event.webhook_id == f"espf_{i_event}_{delivery.i_delivery}"
        # The same delivery once more: answered 200, not processed again.
        espf.delivery_retry(delivery.i_delivery)
        wait_until(lambda: final(espf, i_event).deliveries[0].attempts == 2, 20, "the resend")
        assert final(espf, i_event).state == "delivered"
        assert len(seen.events) == 1

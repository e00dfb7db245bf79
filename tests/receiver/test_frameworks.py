"""The adapters inside real web applications: the ASGI app mounted in
FastAPI and Starlette, the WSGI app mounted in Flask, each next to the
application's own routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fastapi
import flask
import httpx
from fastapi.testclient import TestClient
from flask.testing import FlaskClient
from starlette.applications import Starlette
from starlette.routing import Mount
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from espf.receiver import BasicAuth, Event, Receiver, RetryLater
from tests.receiver.requests import basic, body_of, request


def make_receiver() -> tuple[Receiver, list[Event]]:
    receiver = Receiver(BasicAuth("espf", "s3cret"))
    events: list[Event] = []

    @receiver.on("Account/*")
    def account(event: Event) -> None:
        events.append(event)

    @receiver.on("Custom/Busy")
    async def busy(event: Event) -> None:
        raise RetryLater("busy", after=7)

    return receiver, events


@dataclass(frozen=True)
class Answered:
    status_code: int
    body: Any
    headers: dict[str, str]  # names lower-cased


def post(client: Any, path: str, body: bytes, headers: dict[str, str]) -> Answered:
    """POST as espf does, through an httpx-style or a Flask test client."""
    sent = {"Date": request(body, headers).headers.get("Date") or "", **headers}
    if isinstance(client, FlaskClient):
        flask_answer = client.post(path, data=body, headers=sent)
        return Answered(
            flask_answer.status_code,
            flask_answer.get_json(),
            {k.lower(): v for k, v in flask_answer.headers.items()},
        )
    answer = client.post(path, content=body, headers=sent)
    return Answered(
        answer.status_code, answer.json(), {k.lower(): v for k, v in answer.headers.items()}
    )


def check_contract(client: Any, path: str, events: list[Event]) -> None:
    """The same story in every framework."""
    body = body_of("Account/Service/Netaccess/QuotaExceeded", i_event=3, i_account=541)
    first = post(client, path, body, basic())
    assert first.status_code == 200 and first.body["status"] == "processed"
    again = post(client, path, body, basic())
    assert again.body["status"] == "duplicate"
    wrong = post(client, path, body_of("Account/New", i_event=4), basic(password="nope"))
    assert wrong.status_code == 401 and "wrong login" in wrong.body["message"]
    later = post(client, path, body_of("Custom/Busy", i_event=5), basic())
    assert later.status_code == 503 and later.headers["retry-after"] == "7"
    bad = post(client, path, b"{not json", basic())
    assert bad.status_code == 400 and bad.body["error"] == "bad_event"
    assert [e.i_event for e in events] == [3]
    assert events[0].variables["i_account"] == 541


def test_mounted_in_fastapi() -> None:
    receiver, events = make_receiver()
    app = fastapi.FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app.mount("/espf", receiver.asgi())
    with TestClient(app) as client:
        check_contract(client, "/espf", events)
        assert client.get("/hello").json() == {"hello": "world"}
        assert client.get("/espf").status_code == 405


def test_mounted_in_starlette_with_a_body_limit() -> None:
    receiver, events = make_receiver()
    app = Starlette(routes=[Mount("/hooks/espf", app=receiver.asgi(max_body_bytes=1000))])
    with TestClient(app) as client:
        check_contract(client, "/hooks/espf", events)
        too_big = post(client, "/hooks/espf", b"x" * 1001, basic())
        assert too_big.status_code == 413


def test_mounted_in_flask() -> None:
    receiver, events = make_receiver()
    app = flask.Flask(__name__)

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    app.wsgi_app = DispatcherMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, {"/espf": receiver.wsgi(max_body_bytes=1000)}
    )
    client = app.test_client()
    check_contract(client, "/espf", events)
    assert client.get("/hello").get_json() == {"hello": "world"}
    assert post(client, "/espf", b"x" * 1001, basic()).status_code == 413


def test_called_from_a_flask_view_with_the_core() -> None:
    """Django and other frameworks: a view hands method, headers and body over."""
    from espf.receiver import IncomingRequest

    receiver, events = make_receiver()
    app = flask.Flask(__name__)

    @app.post("/espf")
    def espf_view() -> flask.Response:
        answer = receiver.handle(
            IncomingRequest.of(
                flask.request.method, flask.request.headers.items(), flask.request.get_data()
            )
        )
        return flask.Response(answer.body_bytes(), answer.status, answer.header_list())

    check_contract(app.test_client(), "/espf", events)


def test_the_client_library_and_the_starlette_testclient_agree_on_headers() -> None:
    # Header names arrive lower-cased from ASGI and upper-cased from WSGI;
    # the receiver reads both the same way.
    receiver, events = make_receiver()
    transport = httpx.WSGITransport(app=receiver.wsgi())
    with httpx.Client(transport=transport, base_url="http://app") as client:
        check_contract(client, "/", events)

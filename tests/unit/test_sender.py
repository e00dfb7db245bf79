"""EventSender: the request the Application receives, and what its answer
(or lack of one) turns into."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import pytest
from aiohttp import web

from espf.dispatch.sender import EventSender, request_body, request_headers
from espf.domain import AuthMethod, ClaimedDelivery, Handler
from tests.factories import a_claimed_delivery, a_handler

HANDLER = a_handler(i_handler=7, url="http://127.0.0.1:9/espf")
DELIVERY = a_claimed_delivery(HANDLER)


# -- the request -----------------------------------------------------------------------
def test_body_is_event_type_and_variables_with_i_event_and_i_env_inside() -> None:
    assert json.loads(request_body(DELIVERY)) == {
        "event_type": "Custom/NextMonth",
        "variables": {"i_account": 541, "i_event": 623623, "i_env": 3},
    }


def test_body_has_exactly_the_two_top_level_keys_receivers_require() -> None:
    assert list(json.loads(request_body(DELIVERY))) == ["event_type", "variables"]


def test_producer_cannot_spoof_i_event_or_i_env() -> None:
    spoofed = dataclasses.replace(
        DELIVERY, variables_json='{"i_event": 1, "i_env": 99, "nested": {"i_event": 2}}'
    )
    variables = json.loads(request_body(spoofed))["variables"]
    assert variables == {"i_event": 623623, "i_env": 3, "nested": {"i_event": 2}}


def test_empty_variables_still_carry_i_event_and_i_env() -> None:
    empty = dataclasses.replace(DELIVERY, variables_json="{}")
    assert json.loads(request_body(empty))["variables"] == {"i_event": 623623, "i_env": 3}


def test_variables_keep_their_json_types() -> None:
    typed = dataclasses.replace(
        DELIVERY,
        variables_json='{"s": "ü", "f": 1.5, "b": true, "n": null, "l": [1, {"x": 2}]}',
    )
    variables = json.loads(request_body(typed))["variables"]
    assert variables["s"] == "ü"
    assert variables["f"] == 1.5
    assert variables["b"] is True
    assert variables["n"] is None
    assert variables["l"] == [1, {"x": 2}]


def _headers(handler: Handler) -> dict[str, str]:
    delivery = dataclasses.replace(DELIVERY, handler=handler)
    return request_headers(delivery, request_body(delivery))


def test_headers_date_is_an_http_date_of_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    date = _headers(HANDLER)["Date"]
    after = datetime.now(UTC)
    # IMF-fixdate, e.g. "Mon, 01 Mar 2021 00:00:00 GMT" (RFC 9110).
    assert date.endswith(" GMT")
    assert datetime.strptime(date, "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=UTC
    ) == parsedate_to_datetime(date)
    assert before <= parsedate_to_datetime(date) <= after


def test_headers_content_type_is_json() -> None:
    assert _headers(HANDLER)["Content-Type"] == "application/json"


def test_headers_carry_the_handlers_auth_header() -> None:
    assert _headers(HANDLER)["Authorization"] == "Basic ZXNwZjpzM2NyZXQ="
    custom = dataclasses.replace(
        HANDLER,
        auth_method=AuthMethod.CUSTOM,
        auth_scheme="Token",
        auth_token="abc",
        auth_header="X-App-Auth",
    )
    headers = _headers(custom)
    assert headers["X-App-Auth"] == "Token abc"
    assert "Authorization" not in headers


def test_headers_without_auth() -> None:
    headers = _headers(dataclasses.replace(HANDLER, auth_method=AuthMethod.NONE))
    assert "Authorization" not in headers
    assert {"Date", "Content-Type"} <= set(headers)


# -- sending over HTTP -----------------------------------------------------------------
Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclasses.dataclass
class Seen:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes


@pytest.fixture
async def application() -> AsyncIterator[tuple[str, list[Seen], list[Answer]]]:
    """A local Application: records what it gets, answers with ``answers``
    in turn (200 once they run out)."""
    seen: list[Seen] = []
    answers: list[Answer] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append(
            Seen(request.method, request.path, list(request.headers.items()), await request.read())
        )
        if answers:
            return await answers.pop(0)(request)
        return web.Response(status=200, text="ok")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/espf", seen, answers
    finally:
        await runner.cleanup()


def status(code: int, text: str = "") -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, text=text)

    return answer


def delivery_to(url: str, timeout_s: float = 5.0) -> ClaimedDelivery:
    return dataclasses.replace(
        DELIVERY, handler=dataclasses.replace(HANDLER, url=url, timeout_s=timeout_s)
    )


async def send_once(delivery: ClaimedDelivery) -> tuple[int | None, str | None]:
    sender = EventSender(connections_per_handler=4)
    try:
        result = await sender.send(delivery)
    finally:
        await sender.close()
    return result.status_code, result.error


async def test_post_arrives_with_headers_and_body(
    application: tuple[str, list[Seen], list[Answer]],
) -> None:
    url, seen, _ = application
    assert await send_once(delivery_to(url)) == (200, None)
    [request] = seen
    assert (request.method, request.path) == ("POST", "/espf")
    names = [name.lower() for name, _ in request.headers]
    # Receivers in the wild reject anything but exactly one Date and one auth header.
    assert names.count("date") == 1
    assert names.count("authorization") == 1
    headers = dict(request.headers)
    assert headers["Content-Type"] == "application/json"
    assert headers["Authorization"] == "Basic ZXNwZjpzM2NyZXQ="
    parsedate_to_datetime(headers["Date"])
    assert json.loads(request.body) == {
        "event_type": "Custom/NextMonth",
        "variables": {"i_account": 541, "i_event": 623623, "i_env": 3},
    }


async def test_error_answers_keep_status_and_some_of_the_body(
    application: tuple[str, list[Seen], list[Answer]],
) -> None:
    url, _, answers = application
    answers.extend([status(503, "  busy, try later  "), status(400, "x" * 2000), status(404)])
    assert await send_once(delivery_to(url)) == (503, "busy, try later")
    code, error = await send_once(delivery_to(url))
    assert code == 400 and error is not None and len(error) == 500
    assert await send_once(delivery_to(url)) == (404, "Not Found")  # the reason phrase


async def test_refused_connection_is_no_answer() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now.
    code, error = await send_once(delivery_to(f"http://127.0.0.1:{port}/espf"))
    assert code is None
    assert error and "Connect" in error


async def test_timeout_is_no_answer(application: tuple[str, list[Seen], list[Answer]]) -> None:
    url, _, answers = application

    async def too_slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.8)  # past the timeout; the server waits for it on cleanup
        return web.Response(status=200)

    answers.append(too_slow)
    started = time.monotonic()
    code, error = await send_once(delivery_to(url, timeout_s=0.3))
    assert code is None
    assert error == "no answer within 0.3 s"
    assert time.monotonic() - started < 0.7


async def test_redirect_is_not_followed(application: tuple[str, list[Seen], list[Answer]]) -> None:
    url, seen, answers = application

    async def redirect(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": "/elsewhere"})

    answers.append(redirect)
    code, _ = await send_once(delivery_to(url))
    assert code == 302  # resent later by the policy, never posted elsewhere
    assert [s.path for s in seen] == ["/espf"]

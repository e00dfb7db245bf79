"""event_create is safe to repeat: an Idempotency-Key, and retries of its
own through refused connections, 503 and 429 within a deadline; other
calls fail at once. Mock transports script the server's answers; the live
tests show that a lost answer or an espf not yet started still gives
exactly one event."""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from espf.client import (
    AsyncClient,
    BadRequest,
    Client,
    EspfError,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from tests.e2e.espf_process import ADMIN_LOGIN, ADMIN_PASSWORD, EspfProcess


def created() -> httpx.Response:
    return httpx.Response(200, json={"i_event": 7})


def scripted(
    *answers: httpx.Response | Exception,
) -> tuple[list[httpx.Request], httpx.MockTransport]:
    """A transport giving these answers in order (an exception is raised)."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return seen, httpx.MockTransport(handle)


def client_with(transport: httpx.MockTransport, deadline: float = 5.0) -> Client:
    return Client("http://espf.test", "app", "pw", transport=transport, create_deadline=deadline)


def unavailable(retry_after: str | None = None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after else {}
    return httpx.Response(503, json={"error": "unavailable", "message": "db"}, headers=headers)


def test_a_503_with_retry_after_is_waited_out_and_sent_again_with_the_same_key() -> None:
    seen, transport = scripted(unavailable("0.3"), created())
    started = time.monotonic()
    with client_with(transport) as client:
        assert client.event_create("Custom/NextMonth", {"i_account": 541}) == 7
    assert time.monotonic() - started >= 0.3
    keys = [r.headers["Idempotency-Key"] for r in seen]
    assert len(keys) == 2 and keys[0] == keys[1] and len(keys[0]) >= 16


def test_429_and_a_refused_connection_are_retried_too() -> None:
    refused = httpx.ConnectError("[Errno 111] Connection refused")
    limited = httpx.Response(429, json={"error": "too_many_failures", "message": "slow"})
    seen, transport = scripted(refused, limited, created())
    with client_with(transport) as client:
        assert client.event_create("Custom/NextMonth", idempotency_key="mine") == 7
    assert [r.headers["Idempotency-Key"] for r in seen] == ["mine"] * 3


def test_the_deadline_ends_the_retries_with_the_last_error() -> None:
    seen, transport = scripted(*[unavailable() for _ in range(100)])
    started = time.monotonic()
    with client_with(transport, deadline=0.6) as client, pytest.raises(Unavailable) as error:
        client.event_create("Custom/NextMonth")
    assert time.monotonic() - started < 1.5
    assert error.value.status == 503 and error.value.error == "unavailable"
    assert 3 <= len(seen) < 20


def test_a_retry_after_beyond_the_deadline_is_not_waited_for() -> None:
    seen, transport = scripted(unavailable("60"), created())
    with client_with(transport, deadline=2) as client, pytest.raises(Unavailable) as error:
        client.event_create("Custom/NextMonth")
    assert error.value.retry_after == 60.0 and len(seen) == 1


def test_bad_requests_and_other_methods_are_never_retried() -> None:
    bad = httpx.Response(400, json={"error": "invalid_start_time", "message": "start_time ..."})
    seen, transport = scripted(bad, unavailable())
    with client_with(transport) as client:
        with pytest.raises(BadRequest) as error:
            client.event_create("Custom/NextMonth", start_time="soon")
        assert (error.value.status, error.value.error) == (400, "invalid_start_time")
        with pytest.raises(Unavailable):
            client.event_get(1)
    assert len(seen) == 2


def test_an_answer_that_is_not_the_api_s_json_still_gives_a_typed_error() -> None:
    _, transport = scripted(httpx.Response(502, text="<html>Bad Gateway</html>"))
    with client_with(transport) as client, pytest.raises(EspfError) as error:
        client.event_get(1)
    assert (error.value.status, error.value.error) == (502, "http_502")
    assert "Bad Gateway" in error.value.message


async def test_the_async_client_retries_the_same_way() -> None:
    seen: list[httpx.Request] = []

    async def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"Retry-After": "0.1"} if len(seen) == 1 else {}
        status, body = (503, {"error": "unavailable"}) if len(seen) == 1 else (200, {"i_event": 7})
        return httpx.Response(status, json=body, headers=headers)

    async with AsyncClient(
        "http://espf.test", "app", "pw", transport=httpx.MockTransport(handle)
    ) as client:
        assert await client.event_create("Custom/NextMonth") == 7
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1 and len(seen) == 2


# -- live --------------------------------------------------------------------------------


def test_create_waits_for_an_espf_that_is_not_up_yet(tmp_path: Path) -> None:
    espf = EspfProcess(tmp_path)  # port chosen, nothing listening yet
    result: list[int | BaseException] = []

    def create() -> None:
        with Client(espf.base_url, ADMIN_LOGIN, ADMIN_PASSWORD, create_deadline=30) as client:
            try:
                result.append(client.event_create("Account/New", {"i_account": 1}))
            except BaseException as exc:
                result.append(exc)

    producer = threading.Thread(target=create)
    producer.start()
    time.sleep(0.5)  # a few refused connections first
    try:
        espf.start()
        producer.join(30)
        assert len(result) == 1 and isinstance(result[0], int), result
        with Client(espf.base_url, ADMIN_LOGIN, ADMIN_PASSWORD) as client:
            assert [e.i_event for e in client.event_list().events] == [result[0]]
    finally:
        espf.stop()


class LosesFirstAnswer(httpx.BaseTransport):
    """The request reaches espf and is committed, but the answer is lost on
    the way back, as when a connection drops at the wrong moment."""

    def __init__(self) -> None:
        self._real = httpx.HTTPTransport()
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        if self.lost == 0:
            self.lost = 1
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer")
        return response


def test_a_lost_answer_does_not_create_a_second_event(tmp_path: Path) -> None:
    espf = EspfProcess(tmp_path).start()
    transport = LosesFirstAnswer()
    try:
        with Client(espf.base_url, ADMIN_LOGIN, ADMIN_PASSWORD, transport=transport) as client:
            i_event = client.event_create("Account/New", {"i_account": 2})
            assert transport.lost == 1
            assert [e.i_event for e in client.event_list().events] == [i_event]
    finally:
        espf.stop()


def test_failed_logins_become_rate_limited_with_retry_after(tmp_path: Path) -> None:
    espf = EspfProcess(tmp_path).start()
    try:
        with Client(espf.base_url, ADMIN_LOGIN, "wrong-password") as client:
            errors: list[EspfError] = []
            for _ in range(30):
                try:
                    client.event_list()
                except (Unauthorized, RateLimited) as exc:
                    errors.append(exc)
                    if isinstance(exc, RateLimited):
                        break
        limited = errors[-1]
        assert isinstance(limited, RateLimited) and limited.status == 429
        assert limited.retry_after is not None and limited.retry_after > 0
        assert isinstance(errors[0], Unauthorized) and errors[0].status == 401
    finally:
        espf.stop()


# -- credentials -------------------------------------------------------------------------


def secret_forms(password: str) -> list[str]:
    basic = base64.b64encode(f"app:{password}".encode()).decode()
    return [password, basic]


@pytest.mark.parametrize("make", [Client, AsyncClient])
def test_the_password_is_not_in_repr(make: Callable[..., Client | AsyncClient]) -> None:
    password = "very-secret-password"
    client = make("http://127.0.0.1:9", "app", password, create_deadline=0.3)
    assert "app" in repr(client)
    assert not any(form in repr(client) for form in secret_forms(password))
    assert not any(form in repr(vars(client)) for form in secret_forms(password) if form)


def test_retries_are_logged_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    password = "very-secret-password"
    caplog.set_level(logging.DEBUG)
    with Client("http://127.0.0.1:9", "app", password, create_deadline=0.5) as client:
        with pytest.raises(Unavailable) as error:
            client.event_create("Custom/NextMonth")
        assert error.value.status is None and error.value.error == "no_answer"
    assert "trying again" in caplog.text
    assert not any(form in caplog.text for form in secret_forms(password))
    assert not any(form in str(error.value) for form in secret_forms(password))

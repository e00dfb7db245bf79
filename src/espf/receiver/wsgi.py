"""The receiver as a WSGI application: in Flask, mount it with werkzeug's
``DispatcherMiddleware(app.wsgi_app, {"/espf": receiver.wsgi()})``; in
Django, a view passes ``request.method``, ``request.headers`` and
``request.body`` to ``receiver.handle``; or serve it with any WSGI server."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from espf.receiver.request import Answer, IncomingRequest, error_answer

if TYPE_CHECKING:
    from espf.receiver.core import Receiver

StartResponse = Callable[..., Any]


def environ_headers(environ: dict[str, Any]) -> list[tuple[str, str]]:
    """The request headers of a WSGI environ (HTTP_* plus the two CGI ones)."""
    headers = [
        (key[5:].replace("_", "-"), str(value))
        for key, value in environ.items()
        if key.startswith("HTTP_")
    ]
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers.append((name, str(environ[key])))
    return headers


class WsgiReceiver:
    def __init__(self, receiver: Receiver, *, max_body_bytes: int) -> None:
        self.receiver = receiver
        self.max_body_bytes = max_body_bytes

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        answer = self._answer(environ)
        body = answer.body_bytes()
        status = f"{answer.status} {HTTPStatus(answer.status).phrase}"
        start_response(status, [*answer.header_list(), ("Content-Length", str(len(body)))])
        return [body]

    def _answer(self, environ: dict[str, Any]) -> Answer:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return error_answer(400, "bad_length", "Content-Length is not a number")
        if length > self.max_body_bytes:
            return error_answer(
                413, "too_large", f"the body is larger than {self.max_body_bytes} bytes"
            )
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        request = IncomingRequest.of(
            str(environ.get("REQUEST_METHOD", "GET")), environ_headers(environ), body
        )
        return self.receiver.handle(request)

"""The receiver as an ASGI application: mount it in Starlette or FastAPI
(``app.mount("/espf", receiver.asgi())``) or serve it with uvicorn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from espf.receiver.request import Answer, IncomingRequest, error_answer

if TYPE_CHECKING:
    from espf.receiver.core import Receiver

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class AsgiReceiver:
    def __init__(self, receiver: Receiver, *, max_body_bytes: int) -> None:
        self.receiver = receiver
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: not ours
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            answer = error_answer(
                413, "too_large", f"the body is larger than {self.max_body_bytes} bytes"
            )
        else:
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            request = IncomingRequest.of(scope["method"], headers, body)
            answer = await self.receiver.handle_async(request)
        await _send(send, answer)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it passes ``limit``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, answer: Answer) -> None:
    body = answer.body_bytes()
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.header_list()]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

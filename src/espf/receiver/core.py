"""The receiver, framework-neutral: a request (method, headers, raw body)
in, an :class:`Answer` out. In order: the method, the credentials, the
``Date`` header, the body, the route, deduplication, the handler, and the
mapping of its outcome to a status espf understands. Anything wrong with
the request is a 4xx with a message saying what, and no handler runs."""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

from espf.receiver.asgi import AsgiReceiver
from espf.receiver.auth import Authenticator, NotAuthenticated
from espf.receiver.dedup import Claim, DedupStore, MemoryDedup
from espf.receiver.event import BadEvent, Event, parse_event
from espf.receiver.outcomes import Reject, RetryLater
from espf.receiver.request import Answer, IncomingRequest, error_answer
from espf.receiver.routing import EventHandler, Router
from espf.receiver.wsgi import WsgiReceiver

log = logging.getLogger("espf.receiver")
H = TypeVar("H", bound=EventHandler)
_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class _Work:
    """A verified, parsed, routed and claimed event, ready for its handler."""

    event: Event
    handler: EventHandler
    keys: tuple[str, ...]
    owner: str = ""  # of the dedup claim


class Receiver:
    """The receiving side of the ESPF contract.

    ``auth``: one of :class:`BasicAuth`, :class:`TokenAuth`,
    :class:`SignatureAuth`, :class:`NoAuth` (required: no default, so that an
    open endpoint is a decision). ``dedup``: where processed events are
    remembered (in memory by default; :class:`SqliteDedup` survives
    restarts; None turns deduplication off). ``require_date`` and
    ``date_past``/``date_future``: the ``Date`` header must be there and
    within these bounds of this host's clock (None: any date). ``unmatched``:
    the status for an event type no route takes (200: accepted and ignored;
    a 4xx rejects it).

    Register handlers with :meth:`on`; serve with :meth:`asgi` or
    :meth:`wsgi`, or call :meth:`handle`/:meth:`handle_async` from any framework.
    """

    def __init__(
        self,
        auth: Authenticator,
        *,
        dedup: DedupStore | None = _UNSET,
        require_date: bool = True,
        date_past: timedelta | None = timedelta(minutes=5),
        date_future: timedelta | None = timedelta(minutes=5),
        unmatched: int = 200,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not 200 <= unmatched < 500:
            raise ValueError("unmatched must be a 2xx (accept and ignore) or a 4xx (reject)")
        self.auth = auth
        self.dedup: DedupStore | None = MemoryDedup() if dedup is _UNSET else dedup
        self.require_date = require_date
        self.date_past = date_past
        self.date_future = date_future
        self.unmatched = unmatched
        self.clock = clock
        self.router = Router()

    def on(self, pattern: str) -> Callable[[H], H]:
        """Decorator: ``@receiver.on("Account/*")`` routes matching events to the function."""

        def register(handler: H) -> H:
            self.router.add(pattern, handler)
            return handler

        return register

    def route(self, pattern: str, handler: EventHandler) -> None:
        self.router.add(pattern, handler)

    # -- serving ------------------------------------------------------------------------
    def handle(self, request: IncomingRequest) -> Answer:
        """Process one request, synchronously (WSGI, or any blocking server).
        An async handler is run to completion on a fresh event loop."""
        work = self._prepare(request)
        if isinstance(work, Answer):
            return work
        try:
            result = work.handler(work.event)
            if inspect.isawaitable(result):
                asyncio.run(_await(result))
        except Exception as exc:
            return self._failed(work, exc)
        except BaseException:
            self._abandoned(work)
            raise
        return self._succeeded(work)

    async def handle_async(self, request: IncomingRequest) -> Answer:
        """Process one request in an event loop (ASGI). A plain handler runs in
        a worker thread, so that it cannot stall the loop."""
        work = await asyncio.to_thread(self._prepare, request)
        if isinstance(work, Answer):
            return work
        try:
            if inspect.iscoroutinefunction(work.handler):
                await work.handler(work.event)
            else:
                result = await asyncio.to_thread(work.handler, work.event)
                if inspect.isawaitable(result):
                    await result
        except Exception as exc:
            return await asyncio.to_thread(self._failed, work, exc)
        except BaseException:
            self._abandoned(work)  # cancelled (the sender hung up) or shutting down
            raise
        return await asyncio.to_thread(self._succeeded, work)

    def asgi(self, *, max_body_bytes: int = 1 << 20) -> AsgiReceiver:
        """An ASGI application: ``app.mount("/espf", receiver.asgi())`` in
        Starlette or FastAPI, or served on its own by any ASGI server."""
        return AsgiReceiver(self, max_body_bytes=max_body_bytes)

    def wsgi(self, *, max_body_bytes: int = 1 << 20) -> WsgiReceiver:
        """A WSGI application, to mount in Flask (werkzeug's
        DispatcherMiddleware), Django or any WSGI server."""
        return WsgiReceiver(self, max_body_bytes=max_body_bytes)

    # -- the steps ----------------------------------------------------------------------
    def _prepare(self, request: IncomingRequest) -> _Work | Answer:
        now = self.clock()
        event = self._verified_event(request, now)
        if isinstance(event, Answer):
            return event
        handler = self.router.find(event.event_type)
        if handler is None:
            return self._unmatched(event)
        return self._claim(event, handler, now)

    def _verified_event(self, request: IncomingRequest, now: float) -> Event | Answer:
        """The event, or the 4xx that says why the request is refused."""
        if request.method != "POST":
            return error_answer(
                405,
                "method_not_allowed",
                f"espf delivers with POST, not {request.method}",
                Allow="POST",
            )
        try:
            message_id = self.auth.verify(request.headers, request.body, now)
        except NotAuthenticated as exc:
            log.warning("refused a request: %s", exc)
            return error_answer(401, "unauthorized", str(exc))
        date_problem = self._date_problem(request.headers.get("Date"), now)
        if date_problem is not None:
            return error_answer(400, "bad_date", date_problem)
        try:
            return parse_event(request.body, message_id)
        except BadEvent as exc:
            return error_answer(400, "bad_event", str(exc))

    def _unmatched(self, event: Event) -> Answer:
        log.info(
            "i_event=%d %s: no route, answered %d", event.i_event, event.event_type, self.unmatched
        )
        if self.unmatched < 300:
            return Answer(self.unmatched, {"status": "ignored", "event_type": event.event_type})
        return error_answer(
            self.unmatched,
            "unknown_event_type",
            f"this Application does not handle {event.event_type}",
        )

    def _claim(self, event: Event, handler: EventHandler, now: float) -> _Work | Answer:
        """Work for the handler, unless the event is done or being done."""
        keys: tuple[str, ...] = (f"i_event:{event.i_env}:{event.i_event}",)
        if event.webhook_id is not None:
            keys += (f"webhook-id:{event.webhook_id}",)
        if self.dedup is None:
            return _Work(event, handler, keys)
        claimed = self.dedup.claim(keys, now)
        if claimed.claim is Claim.DONE:
            log.info(
                "i_event=%d %s: duplicate, not processed again", event.i_event, event.event_type
            )
            return Answer(200, {"status": "duplicate", "i_event": event.i_event})
        if claimed.claim is Claim.BUSY:
            wait = max(1, math.ceil(min(claimed.busy_for, 60.0)))
            return error_answer(
                503,
                "in_progress",
                f"i_event {event.i_event} is being processed by another delivery",
                **{"Retry-After": str(wait)},
            )
        return _Work(event, handler, keys, claimed.owner)

    def _date_problem(self, value: str | None, now: float) -> str | None:
        if value is None:
            if not self.require_date:
                return None
            return "the Date header is missing (espf sends one with every request)"
        try:
            sent = parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            return f"the Date header {value[:64]!r} is not an HTTP date"
        if self.date_past is not None and sent < now - self.date_past.total_seconds():
            return f"the Date header is {now - sent:.0f} s old, more than allowed"
        if self.date_future is not None and sent > now + self.date_future.total_seconds():
            return f"the Date header is {sent - now:.0f} s in the future, more than allowed"
        return None

    def _succeeded(self, work: _Work) -> Answer:
        if self.dedup is not None:
            self.dedup.complete(work.keys, self.clock())
        log.info("i_event=%d %s: processed", work.event.i_event, work.event.event_type)
        return Answer(200, {"status": "processed", "i_event": work.event.i_event})

    def _abandoned(self, work: _Work) -> None:
        """The handler was interrupted: whether it finished is unknown, so the
        next delivery must run it."""
        if self.dedup is not None:
            self.dedup.release(work.keys, work.owner)

    def _failed(self, work: _Work, exc: Exception) -> Answer:
        # Not remembered: the next delivery of the event runs the handler again.
        if self.dedup is not None:
            self.dedup.release(work.keys, work.owner)
        event = work.event
        if isinstance(exc, Reject):
            log.info("i_event=%d %s: rejected: %s", event.i_event, event.event_type, exc.reason)
            return error_answer(exc.status, exc.code, exc.reason)
        if isinstance(exc, RetryLater):
            headers = {} if exc.after is None else {"Retry-After": str(math.ceil(exc.after))}
            log.info("i_event=%d %s: retry later: %s", event.i_event, event.event_type, exc.reason)
            return error_answer(503, "retry_later", exc.reason, **headers)
        log.exception(
            "i_event=%d %s: the handler failed", event.i_event, event.event_type, exc_info=exc
        )
        return error_answer(
            500,
            "handler_failed",
            f"the handler for {event.event_type} raised {type(exc).__name__}; "
            "see the Application's log",
        )


async def _await(result: Any) -> Any:
    return await result

"""Reading an answer (or its absence) into a result or an exception, and
the retry rule of calls that are safe to repeat; shared by both clients."""

from __future__ import annotations

import json
import logging
import time
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx

from espf.client.calls import Call
from espf.client.decode import DecodeError
from espf.client.errors import EspfError, RateLimited, Unavailable, error_for

T = TypeVar("T")
log = logging.getLogger("espf.client")


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP-date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def read_answer(call: Call[T], response: httpx.Response) -> T:
    if response.is_success:
        if call.text:
            return call.read(response.text)
        try:
            return call.read(response.json())
        except (json.JSONDecodeError, DecodeError) as exc:
            raise EspfError(response.status_code, "unexpected_answer", str(exc)) from None
    try:
        body: Any = response.json()
    except json.JSONDecodeError:
        body = response.text
    raise error_for(
        response.status_code, body, retry_after_seconds(response.headers.get("Retry-After"))
    )


def http_options(base_url: str, login: str, password: str, timeout: float) -> dict[str, Any]:
    """What both clients give their httpx client."""
    return {
        "base_url": base_url,
        "auth": httpx.BasicAuth(login, password),
        "timeout": timeout,
        "headers": {"User-Agent": "espf-client"},
    }


def no_answer(call: Call[Any], exc: httpx.TransportError) -> Unavailable:
    """A request that got no HTTP answer (refused, reset, timed out)."""
    return Unavailable(None, "no_answer", f"{call.method} {call.path}: {type(exc).__name__}: {exc}")


class RetryClock:
    """When to send a retryable call again: exponential back-off from
    ``first_delay`` up to ``longest_delay``, never earlier than the server's
    Retry-After, and never past the deadline (then the last error stands)."""

    def __init__(
        self, deadline_s: float, first_delay: float = 0.1, longest_delay: float = 2.0
    ) -> None:
        self.first_delay = first_delay
        self.longest_delay = longest_delay
        self.attempts = 0
        self._give_up_at = time.monotonic() + deadline_s

    def delay_or_raise(self, call: Call[Any], exc: httpx.TransportError | EspfError) -> float:
        """Seconds to wait before sending ``call`` again after ``exc``; the
        error (an EspfError, also for a request without an answer) when it
        is not to be sent again."""
        error = no_answer(call, exc) if isinstance(exc, httpx.TransportError) else exc
        delay = self.delay_after(call, error)
        if delay is None:
            raise error
        return delay

    def delay_after(self, call: Call[Any], error: EspfError) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if not call.retry or not isinstance(error, (Unavailable, RateLimited)):
            return None
        self.attempts += 1
        delay = min(self.longest_delay, self.first_delay * 2.0 ** (self.attempts - 1))
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        if time.monotonic() + delay > self._give_up_at:
            return None
        log.info(
            "%s %s: %s; trying again in %.2f s (attempt %d)",
            call.method,
            call.path,
            error,
            delay,
            self.attempts + 1,
        )
        return delay

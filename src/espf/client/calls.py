"""A request description (:class:`Call`): method, path, body, and how to
read the answer; and the pieces every operation builds one from. The
operations themselves are in :mod:`espf.client.operations`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from espf.client.decode import DecodeError, decode

T = TypeVar("T")
API = "/espf/v1"


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and the reader of its successful answer (JSON or text)."""

    method: str
    path: str
    read: Callable[[Any], T]
    body: Mapping[str, Any] | None = None
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] | None = None
    text: bool = False  # the answer is text (metrics, the docs page), not JSON
    # Safe to send again after a refused connection, 503 or 429: event_create
    # carries an Idempotency-Key, so a repeat returns the first answer.
    retry: bool = False

    def request(self) -> dict[str, Any]:
        """The arguments of httpx's ``request``."""
        return {
            "method": self.method,
            "url": self.path,
            "json": self.body if self.method == "POST" else None,
            "params": self.params,
            "headers": self.headers,
        }


def api_call(path: str, read: Callable[[Any], T], body: Mapping[str, Any] | None = None) -> Call[T]:
    return Call("POST", f"{API}/{path}", read, body=body if body is not None else {})


def present(**fields: Any) -> dict[str, Any]:
    """The fields given; None means "not sent"."""
    return {name: value for name, value in fields.items() if value is not None}


def list_of(name: str, cls: type[T]) -> Callable[[Any], tuple[T, ...]]:
    def read(answer: Any) -> tuple[T, ...]:
        items = answer.get(name) if isinstance(answer, dict) else None
        if not isinstance(items, list):
            raise DecodeError(f"expected a list under {name!r}, got {answer!r:.200}")
        return tuple(decode(cls, item) for item in items)

    return read


def reader_of(cls: type[T]) -> Callable[[Any], T]:
    return lambda answer: decode(cls, answer)


def api_time(value: datetime | str) -> str:
    """The contract's start_time: 'YYYY-MM-DD HH:MM:SS[.mmm]' in UTC. A
    datetime must carry its time zone: a naive one is ambiguous."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a datetime sent to espf must be timezone-aware (e.g. tzinfo=UTC)")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{utc.microsecond // 1000:03d}" if utc.microsecond >= 1000 else text


def time_or_none(value: datetime | str | None) -> str | None:
    return None if value is None else api_time(value)


def local_time(value: datetime | str | None) -> str | None:
    """A local start time for a time_zone: text as it is, or a naive datetime."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is not None:
        raise ValueError("with time_zone, start_time is local time: pass a naive datetime")
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{value.microsecond // 1000:03d}" if value.microsecond >= 1000 else text

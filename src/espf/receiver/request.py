"""What the receiver works on, whatever the web framework: the request as
method, headers and raw body, and the answer as status, headers and JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson


class Headers:
    """Request headers, looked up case-insensitively. Built from a mapping or
    from (name, value) pairs, as frameworks hand them over; of a repeated
    header the first value counts."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._values: dict[str, str] = {}
        for name, value in pairs:
            self._values.setdefault(name.lower(), value)

    def get(self, name: str) -> str | None:
        return self._values.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __repr__(self) -> str:
        # Credentials travel in headers: only the names are shown.
        return f"Headers({sorted(self._values)})"


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    method: str
    headers: Headers
    body: bytes

    @classmethod
    def of(
        cls, method: str, headers: Mapping[str, str] | Iterable[tuple[str, str]], body: bytes
    ) -> IncomingRequest:
        return cls(method.upper(), Headers(headers), body)


@dataclass(frozen=True, slots=True)
class Answer:
    """The HTTP answer to send back to espf: 2xx accepted, 4xx rejected for
    good, anything else sent again later."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    def body_bytes(self) -> bytes:
        return orjson.dumps(self.body)

    def header_list(self) -> list[tuple[str, str]]:
        return [("Content-Type", "application/json"), *self.headers.items()]


def error_answer(status: int, code: str, message: str, **headers: str) -> Answer:
    return Answer(status, {"error": code, "message": message}, dict(headers))

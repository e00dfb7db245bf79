"""Which handler gets which event type: exact names first, then patterns in
the order they were added. A pattern's ``*`` matches any characters, ``/``
included (``Account/*`` takes ``Account/Service/Netaccess/QuotaExceeded``),
``?`` one character, as in :func:`fnmatch.fnmatchcase`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from fnmatch import fnmatchcase
from typing import Any

from espf.receiver.event import Event

# A handler is a plain or an async function of the event; what it returns is ignored.
EventHandler = Callable[[Event], Any] | Callable[[Event], Awaitable[Any]]


def is_pattern(name: str) -> bool:
    return any(ch in name for ch in "*?[")


class Router:
    def __init__(self) -> None:
        self._exact: dict[str, EventHandler] = {}
        self._patterns: list[tuple[str, EventHandler]] = []

    def add(self, pattern: str, handler: EventHandler) -> None:
        pattern = pattern.strip()
        if not pattern:
            raise ValueError("an event type pattern cannot be empty")
        taken = pattern in self._exact or any(p == pattern for p, _ in self._patterns)
        if taken:
            raise ValueError(f"{pattern!r} already has a handler")
        if is_pattern(pattern):
            self._patterns.append((pattern, handler))
        else:
            self._exact[pattern] = handler

    def find(self, event_type: str) -> EventHandler | None:
        handler = self._exact.get(event_type)
        if handler is not None:
            return handler
        for pattern, candidate in self._patterns:
            if fnmatchcase(event_type, pattern):
                return candidate
        return None

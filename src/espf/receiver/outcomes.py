"""How a handler tells espf what became of an event, following ESPF's rule:
return normally and it is delivered (200); raise :class:`Reject` and it is
rejected for good (4xx, never resent); raise :class:`RetryLater` and espf
sends it again after a while (503 with Retry-After). Any other exception is
a 500: logged here, and resent by espf."""

from __future__ import annotations

# espf sends 408 and 429 again, like 5xx: they cannot mean "never".
NOT_FINAL = frozenset({408, 429})


class Reject(Exception):
    """The event cannot be processed, now or later: answered ``status``
    (default 422); espf records the reason and never resends it."""

    def __init__(self, reason: str, *, status: int = 422, code: str = "rejected") -> None:
        if not 400 <= status < 500 or status in NOT_FINAL:
            raise ValueError(f"Reject needs a final 4xx status, not {status}")
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code


class RetryLater(Exception):
    """Not now: answered 503 with ``Retry-After: after`` (seconds, rounded
    up), so espf sends the event again no earlier than that (up to the
    longest delay of the handler's retry policy)."""

    def __init__(self, reason: str = "try again later", *, after: float | None = None) -> None:
        if after is not None and after < 0:
            raise ValueError("RetryLater(after=...) is a number of seconds, at least 0")
        super().__init__(reason)
        self.reason = reason
        self.after = after

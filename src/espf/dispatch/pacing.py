"""Keeping a node's own sends to a rate-limited handler within the rate,
whenever its timers fire.

The claim gives each delivery a send slot from the handler's shared token
bucket (rate_limits.py), and the slots of all nodes together keep the rate.
A node whose event loop was busy (its first requests, a start-up beside
other processes) wakes late for several slots at once and would send them
together. The pacer re-spaces them: it runs the same bucket over this node's
own sends (GCRA, the "virtual scheduling" form of a token bucket) and says
how long a send must still wait. Slots that were on time always conform (a
subset of a conforming sequence conforms), so the pacer never delays them;
it only ever delays, never advances, a send.
"""

from __future__ import annotations

from espf.domain import Handler
from espf.rate_limits import burst_of


class Pacer:
    def __init__(self) -> None:
        # Per handler: the theoretical arrival time of the next send (ms).
        self._next: dict[int, float] = {}

    def reserve(self, handler: Handler, now: int) -> int:
        """Take this node's next send to ``handler`` at or after ``now``;
        answer how many ms it must wait (0 without a rate)."""
        rate = handler.max_rate
        if not rate:
            return 0
        interval = 1000 / rate
        tolerance = (burst_of(rate, handler.rate_burst) - 1) * interval
        theoretical = max(self._next.get(handler.i_handler, 0.0), float(now))
        send_at = max(float(now), theoretical - tolerance)
        self._next[handler.i_handler] = theoretical + interval
        return max(0, round(send_at - now))

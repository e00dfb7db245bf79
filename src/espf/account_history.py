"""An account's history as JSON lines, and the outcome of expunging it.

Every record is one JSON object with a ``record`` field saying what it is:
``event``, ``delivery``, ``attempt``, ``transition`` or ``status``; an
account's events are those whose variables carry its ``i_account``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

JSON_LINES = "application/x-ndjson"


@dataclass(frozen=True, slots=True)
class AccountHistory:
    """Every row about one account, in the order export writes them."""

    records: list[dict[str, Any]]

    def lines(self) -> Iterator[bytes]:
        for record in self.records:
            yield orjson.dumps(record) + b"\n"


@dataclass(frozen=True, slots=True)
class AccountExpunged:
    i_expunge: int  # the record of the deletion, kept
    events: int
    deliveries: int
    attempts: int
    transitions: int
    status_reports: int

"""The ledger: every accepted event is delivered, still pending, or failed.

``accepted`` is what the API answered 2xx to (plus what the benchmark put in
the database in bulk); ``delivered`` is what the receiver saw, by distinct
``i_event``; pending and failed are read from the database after the service
has stopped. A run that loses an event fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.db import Counts


@dataclass
class Ledger:
    scenario: str
    accepted: int
    delivered: int
    pending: int
    failed: int
    duplicates: int
    db_events: int
    db_delivered: int
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def lost(self) -> int:
        return max(0, self.accepted - (self.delivered + self.pending + self.failed))

    def line(self) -> str:
        extra = self.db_events - self.accepted
        text = (
            f"accepted {self.accepted:,} = delivered {self.delivered:,} + pending "
            f"{self.pending:,} + failed {self.failed:,}; duplicates {self.duplicates:,}"
        )
        if extra > 0:
            text += f"; {extra:,} committed without a 2xx answer (timeouts)"
        return text + ("" if self.ok else " -- " + "; ".join(self.problems))


def settle(
    scenario: str,
    accepted: int,
    counts: Counts,
    receiver: dict[str, Any] | None,
    accepted_ids: list[int] | None = None,
) -> Ledger:
    delivered = int(receiver["distinct"]) if receiver else 0
    ledger = Ledger(
        scenario=scenario,
        accepted=accepted,
        delivered=delivered,
        pending=counts.pending,
        failed=counts.failed,
        duplicates=int(receiver["duplicates"]) if receiver else 0,
        db_events=counts.total_events,
        db_delivered=counts.delivered,
    )
    if ledger.lost:
        ledger.problems.append(
            f"LOST {ledger.lost:,} events: accepted but neither delivered, pending nor failed"
        )
    if counts.total_events < accepted:
        ledger.problems.append(
            f"the database holds {counts.total_events:,} events, fewer than the "
            f"{accepted:,} accepted"
        )
    if delivered < counts.delivered:
        ledger.problems.append(
            f"the database says {counts.delivered:,} delivered, the receiver saw {delivered:,}"
        )
    if counts.delivered + counts.pending + counts.failed != counts.total_events:
        ledger.problems.append(
            f"database states do not add up: delivered {counts.delivered:,} + pending "
            f"{counts.pending:,} + failed {counts.failed:,} != {counts.total_events:,} events "
            f"(events {counts.events}, deliveries {counts.deliveries})"
        )
    if accepted_ids is not None and len(set(accepted_ids)) != len(accepted_ids):
        ledger.problems.append(
            f"the API gave the same i_event to two requests "
            f"({len(accepted_ids) - len(set(accepted_ids)):,} times)"
        )
    return ledger

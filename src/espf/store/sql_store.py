"""What both SQL backends do the same way: every Store operation, built from
named queries and plans (plan.py, delivery_rules.py, record_plans.py).

A backend subclasses ``SqlStore`` and supplies how a named query runs and how
a transaction opens (the hooks of sql_backend.py), plus what truly differs:
opening and migrating, batched event inserts, the batch update of outcomes,
copying, and waking other processes (``announce_due``).
"""

from __future__ import annotations

from espf.store.console_reads import ConsoleReads
from espf.store.event_lists import EventLists
from espf.store.sql_deliveries import DeliveryOperations
from espf.store.sql_limits import LimitOperations
from espf.store.sql_records import RecordOperations
from espf.store.sql_retention import RetentionOperations
from espf.store.sql_schedules import ScheduleOperations
from espf.store.sql_sessions import SessionOperations


class SqlStore(
    RecordOperations,
    DeliveryOperations,
    SessionOperations,
    ScheduleOperations,
    RetentionOperations,
    LimitOperations,
    ConsoleReads,
    EventLists,
):
    """The operations of both halves; a backend adds the hooks."""

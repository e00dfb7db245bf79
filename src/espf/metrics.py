"""Prometheus metrics, served at /metrics.

Counters and histograms are per process (Prometheus adds up the processes);
the queue gauges (events by state, deliveries due but not yet sent, age of
the oldest) are read from the database at scrape time, so every process
reports the same, whole-installation figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from espf.domain import DeliveryState, EventState

if TYPE_CHECKING:
    from espf.db_stats import DbStats
    from espf.service import QueueSnapshot
    from espf.store.storage_full import StorageWatch

# Attempt latencies: local receivers answer in a millisecond, remote ones in
# seconds, and the original's timeout is 300 s.
_LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
)
_API_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.api_requests = Counter(
            "espf_api_requests", "API requests by route and status", ["route", "status"], registry=r
        )
        self.api_latency = Histogram(
            "espf_api_request_duration_seconds",
            "API request duration by route",
            ["route"],
            buckets=_API_BUCKETS,
            registry=r,
        )
        self.deliveries = Counter(
            "espf_delivery_attempts",
            "Delivery attempts by handler and outcome (delivered, rejected, retry, failed)",
            ["handler", "outcome"],
            registry=r,
        )
        self.attempt_latency = Histogram(
            "espf_attempt_duration_seconds",
            "Time from sending a delivery to the Application's answer, by handler",
            ["handler"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.handlers_auto_paused = Counter(
            "espf_handlers_auto_paused",
            "Handlers paused automatically after failing for too long",
            registry=r,
        )
        self.events = Gauge("espf_events", "Events by state", ["state"], registry=r)
        self.deliveries_by_state = Gauge(
            "espf_deliveries", "Deliveries by state", ["state"], registry=r
        )
        self.due = Gauge(
            "espf_due_not_sent",
            "Events and deliveries due now but not sent yet (the backlog)",
            registry=r,
        )
        self.oldest_due_age = Gauge(
            "espf_oldest_due_age_seconds",
            "How long the oldest due, unsent event or delivery has waited",
            registry=r,
        )
        self.storage_full = Gauge(
            "espf_storage_full",
            "1 while writes fail because the database's disk is full (503 storage_full)",
            registry=r,
        )
        self.database_size = Gauge(
            "espf_database_size_bytes",
            "The database's size (SQLite: the file; PostgreSQL: espf's tables and indexes)",
            registry=r,
        )
        self.database_free = Gauge(
            "espf_database_free_bytes",
            "SQLite: free pages inside the file, reused before it grows",
            registry=r,
        )
        self.table_rows = Gauge("espf_table_rows", "Rows per table", ["table"], registry=r)
        self.prune_next = Gauge(
            "espf_prune_next",
            "Events per state (and account_history reports) the next prune removes",
            ["state"],
            registry=r,
        )
        self.oldest_event_age = Gauge(
            "espf_oldest_event_age_seconds",
            "Age of the oldest event kept, by state",
            ["state"],
            registry=r,
        )
        self.storage_full_episodes = Gauge(
            "espf_storage_full_episodes",
            "Full-disk episodes this process has seen since it started",
            registry=r,
        )
        self.in_maintenance = Gauge(
            "espf_handler_in_maintenance",
            "1 while a maintenance window of the handler is open (nothing is sent to it)",
            ["handler"],
            registry=r,
        )

        self.effective_rate = Gauge(
            "espf_handler_effective_rate",
            "Requests per second the handler is sent at most now: max_rate, lowered by "
            "adaptive back-off while it answers 429, 503 or times out",
            ["handler"],
            registry=r,
        )
        self.circuit_open = Gauge(
            "espf_handler_circuit_open",
            "1 while the handler's circuit is open (only probes are sent to it)",
            ["handler"],
            registry=r,
        )

    def refresh_db_stats(self, stats: DbStats, now_ms: int) -> None:
        self.database_size.set(stats.size_bytes)
        if stats.free_bytes is not None:
            self.database_free.set(stats.free_bytes)
        for table, count in stats.rows.items():
            self.table_rows.labels(table).set(count)
        for state, count in stats.next_prune.items():
            self.prune_next.labels(state).set(count)
        for state, rows in stats.events_by_state.items():
            age = 0.0 if rows.oldest_at is None else max(now_ms - rows.oldest_at, 0) / 1000
            self.oldest_event_age.labels(state).set(age)

    def refresh_storage(self, watch: StorageWatch) -> None:
        self.storage_full.set(1 if watch.full else 0)
        self.storage_full_episodes.set(watch.episodes)

    def refresh_queue_gauges(self, queue: QueueSnapshot) -> None:
        # The store counts only the states it has: every other state is 0
        # now, not the value of the last scrape that saw it.
        events = queue.events_by_state
        for state in {s.value for s in EventState} | events.keys():
            self.events.labels(state).set(events.get(state, 0))
        deliveries = queue.deliveries_by_state
        for state in {s.value for s in DeliveryState} | deliveries.keys():
            self.deliveries_by_state.labels(state).set(deliveries.get(state, 0))
        self.due.set(queue.due_count)
        # A handler whose last window was removed drops out of the export.
        self.in_maintenance.clear()
        for handler, open_now in queue.in_maintenance.items():
            self.in_maintenance.labels(handler).set(1 if open_now else 0)
        self.effective_rate.clear()
        self.circuit_open.clear()
        for flow in queue.flows:
            if flow.effective_rate is not None:
                self.effective_rate.labels(flow.name).set(flow.effective_rate)
            self.circuit_open.labels(flow.name).set(1 if flow.circuit_open else 0)
        oldest = queue.oldest_due_at
        self.oldest_due_age.set(max(queue.now_ms - oldest, 0) / 1000 if oldest is not None else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)

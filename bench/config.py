"""What a run does: the quick run checks that everything works in a few
minutes; the full run measures with the sizes the targets name."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from espf.config import Settings

DEFAULTS = Settings()


@dataclass
class RunConfig:
    mode: str
    work_dir: Path
    backends: list[str]
    scenarios: list[str]
    # Ingest: each step of the offered-rate ladder runs warmup + step seconds.
    step_s: float
    warmup_s: float
    connections: int
    # Delivery: this many events due at once.
    deliveries: int
    # Lateness, memory, start-up: this many events pending over the next hours,
    # and a stream at stream_rate per second, each due lead_ms after it is sent.
    pending: int
    stream_s: float
    stream_rate: float = 1000.0
    # Schedules: this many for the memory figure, this many due at one instant.
    schedules: int = 100_000
    schedule_burst: int = 10_000
    lead_ms: int = 2000
    # Soak: minutes of a steady stream at soak_rate events/s per run (four
    # runs side by side: each backend with retention 1 minute and without).
    soak_minutes: float = 3.0
    soak_rate: float = 50.0
    profile: bool = False
    # espf's own defaults: the baseline sender uses the same numbers.
    concurrency: int = DEFAULTS.dispatch_concurrency
    pool_connections: int = DEFAULTS.handler_connections


def quick(work_dir: Path) -> RunConfig:
    return RunConfig(
        mode="quick",
        work_dir=work_dir,
        backends=["sqlite", "postgres"],
        scenarios=["ingest", "delivery", "backlog", "console"],
        step_s=3.0,
        warmup_s=1.0,
        connections=64,
        deliveries=10_000,
        pending=100_000,
        stream_s=10.0,
    )


def full(work_dir: Path) -> RunConfig:
    return RunConfig(
        mode="full",
        work_dir=work_dir,
        backends=["sqlite", "postgres"],
        scenarios=["ingest", "delivery", "backlog", "console"],
        step_s=6.0,
        warmup_s=2.0,
        connections=64,
        deliveries=100_000,
        pending=1_000_000,
        stream_s=30.0,
        schedules=1_000_000,
        schedule_burst=100_000,
        soak_minutes=15.0,
    )

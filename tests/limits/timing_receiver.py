"""An Application for limit tests, in the test's own event loop: records
when each request arrives, per path, and the most requests it ever had open
at once per path; answers 200 after ``hold_s`` (bench/flow_receiver.py)."""

from __future__ import annotations

from collections import defaultdict

from bench.flow_receiver import FlowReceiver, most_in_one_second

__all__ = ["TimingReceiver", "most_in_one_second"]


class TimingReceiver(FlowReceiver):
    def __init__(self, hold_s: float = 0.0, hold_by_path: dict[str, float] | None = None) -> None:
        super().__init__(hold_s)
        for path, hold in (hold_by_path or {}).items():
            self.paths[path].hold_s = hold

    async def start(self) -> TimingReceiver:
        await super().start()
        return self

    @property
    def arrivals(self) -> defaultdict[str, list[float]]:
        return defaultdict(list, {path: s.arrivals() for path, s in self.paths.items()})

    @property
    def most_open(self) -> defaultdict[str, int]:
        return defaultdict(int, {path: s.most_open for path, s in self.paths.items()})

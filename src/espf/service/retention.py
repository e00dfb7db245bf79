"""Retention for the CLI (`espf prune`): what would go, and pruning by hand
with the same batches the dispatcher uses (dispatch/pruner.py)."""

from __future__ import annotations

from collections.abc import Callable

from espf.dispatch.pruner import Pruner, PruneTotals
from espf.service.core import ServiceCore


class RetentionOperations(ServiceCore):
    def retention_windows_s(self) -> dict[str, float]:
        return self.settings.retention_windows_s

    async def prune_preview(self) -> dict[str, int]:
        """Events per final state, and account status reports, that a prune
        now would remove."""
        return await Pruner(self.store, self.settings, self.clock).preview()

    async def prune(self, on_batch: Callable[[int], None] | None = None) -> PruneTotals:
        return await Pruner(self.store, self.settings, self.clock).round(on_batch=on_batch)

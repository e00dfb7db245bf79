"""What every part of the service shares: the store, the settings, the clock,
and the few caches that must be one per process."""

from __future__ import annotations

import asyncio

from espf.clock import Clock, SystemClock
from espf.config import Settings
from espf.domain import ApiUser, EventType
from espf.due_wakeups import DueWakeups
from espf.errors import NotFound
from espf.passwords import CredentialCache
from espf.store import Store


class ServiceCore:
    """The state behind every operation. Each object's operations are a class
    deriving from this one (``events.py``, ``handlers.py``, ...); ``Service``
    (``facade.py``) combines them, so callers see one object."""

    def __init__(self, store: Store, settings: Settings, clock: Clock | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock or SystemClock()
        # Verified credentials, and the checks under way (authorization.py).
        self._credentials = CredentialCache(settings.credential_cache_ttl_s)
        self._checking: dict[bytes, asyncio.Future[ApiUser]] = {}
        # Event types by name (event_types.py): looked up on every event/create.
        self._types_by_name: dict[str, EventType] = {}
        # Every operation that makes a delivery due says so here, once, after
        # its commit: dispatchers here and on other nodes wake at once.
        self.wakeups = DueWakeups(store)

    async def _require_env(self, i_env: int) -> None:
        if await self.store.env_get(i_env) is None:
            raise NotFound(
                f"environment {i_env} does not exist; create it with "
                f"'espf env create --i-env {i_env} NAME'",
                code="unknown_environment",
            )

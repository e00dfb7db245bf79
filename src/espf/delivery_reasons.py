"""Why a delivery changed state, as its transition log says it: the words an
operator reads in ``event get`` and the API's history of an event."""

from __future__ import annotations

HELD_REASON = "its handler is paused: it waits until the handler is resumed"
PROMOTED_REASON = "the earlier event of its key is done"
WAITING_REASON = "ordered handler: waits for the earlier event of its key"
SUPERSEDED_REASON = "a newer event of this type for the same account or customer replaces it"
UNROUTED_REASON = "no enabled handler is subscribed"
INTERRUPTED_ERROR = "dispatcher stopped before the answer was recorded; sent again"

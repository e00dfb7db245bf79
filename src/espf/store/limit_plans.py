"""Claiming the work of handlers with delivery limits (rate_limits.py), as
plans run inside the claim's transaction on every backend.

A limited handler is claimed through its limiter row: the row holds the
token bucket, and the requests open are counted from the deliveries in
flight on every node, so that the limits hold over all dispatchers and a
dead node's requests stop counting as soon as they are rescued. Handlers
without limits have no row and never reach this code.
"""

from __future__ import annotations

from espf.domain import Handler
from espf.rate_limits import Bucket, full_bucket, is_limited, may_send, refill, spend
from espf.store import rows as to
from espf.store.plan import Plan, rows, run


def claim_limited(node_id: str, now: int, limit: int) -> Plan[list[int]]:
    """Claim up to ``limit`` due deliveries of limited handlers, as many of
    each as its limits allow now; answer their ids."""
    if limit <= 0:
        return []
    claimed: list[int] = []
    for found in (yield rows("limiter_ready", {"now": now})):
        wanted = limit - len(claimed)
        if wanted <= 0:
            break
        handler = to.handler(found, 3)
        bucket = refill(handler, Bucket(float(found[0]), int(found[1])), now)
        allowed = may_send(handler, bucket, int(found[2]), wanted)
        got: list[int] = []
        if allowed:
            params = {"i_handler": handler.i_handler, "node_id": node_id, "now": now}
            got = [
                r[0]
                for r in (yield rows("delivery_claim_due_limited", params | {"limit": allowed}))
            ]
        bucket, ready_at = spend(handler, bucket, len(got))
        yield run(
            "limiter_update",
            {
                "i_handler": handler.i_handler,
                "tokens": bucket.tokens,
                "refilled_at": bucket.refilled_at,
                "ready_at": ready_at,
            },
        )
        claimed += got
    return claimed


def sync_limiter(handler: Handler, now: int) -> Plan[None]:
    """After a handler is created or changed: give it a limiter row (a full
    bucket) if it has limits, else none, and mark its deliveries to match."""
    limited = is_limited(handler)
    key = {"i_handler": handler.i_handler}
    if limited:
        yield run("limiter_insert", key | {"tokens": full_bucket(handler, now).tokens, "now": now})
    else:
        yield run("limiter_delete", key)
    yield run("delivery_mark_limited", key | {"limited": limited})

"""Idempotency keys, and what makes two event/create requests the same."""

from __future__ import annotations

import hashlib

import orjson

from espf.errors import BadRequest
from espf.event_request import EventRequest

MAX_IDEMPOTENCY_KEY = 200


def validate_idempotency_key(key: str) -> str:
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters",
            code="invalid_idempotency_key",
        )
    return key


def request_fingerprint(event_type: str, request: EventRequest) -> str:
    """What makes two event/create requests 'the same' for an idempotency key."""
    parts = [event_type, orjson.loads(request.variables_json), request.start_at]
    if request.time_zone is not None:
        # Only then: keys stored before time_zone existed keep their hash.
        parts += [request.local_start, request.time_zone]
    canonical = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()

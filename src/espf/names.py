"""Event type names: ``Segment/Segment/...``.

A name is trimmed of surrounding whitespace (the original's own example sends
``" Custom/NextMonth "``); inside, segments are separated by ``/``, none may be
empty, and none may contain whitespace.
"""

from __future__ import annotations

import re

from espf.errors import BadRequest

CUSTOM_PREFIX = "Custom/"
# An event variable's name, as filters (i_account=541) and order keys use it.
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_NAME_LENGTH = 200


_known_good: dict[str, str] = {}
_KNOWN_GOOD_LIMIT = 10_000


def normalize_event_type_name(raw: str) -> str:
    """Return the trimmed name, or raise BadRequest saying what is wrong."""
    # Producers send the same few names over and over: remember the good ones.
    known = _known_good.get(raw)
    if known is not None:
        return known
    name = _check_event_type_name(raw)
    if len(_known_good) >= _KNOWN_GOOD_LIMIT:
        _known_good.clear()
    _known_good[raw] = name
    return name


def _check_event_type_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise BadRequest("event type name is empty", code="invalid_event_type")
    if len(name) > MAX_NAME_LENGTH:
        raise BadRequest(
            f"event type name is longer than {MAX_NAME_LENGTH} characters",
            code="invalid_event_type",
        )
    if any(ch.isspace() for ch in name):
        raise BadRequest(f"event type name {name!r} contains whitespace", code="invalid_event_type")
    if any(not segment for segment in name.split("/")):
        raise BadRequest(
            f"event type name {name!r} has an empty segment: "
            "use segments separated by single '/', e.g. 'Custom/NextMonth'",
            code="invalid_event_type",
        )
    if any(not ch.isprintable() for ch in name):
        raise BadRequest(
            f"event type name {name!r} contains a control character", code="invalid_event_type"
        )
    return name


def normalize_custom_type_name(raw: str) -> str:
    name = normalize_event_type_name(raw)
    if not name.startswith(CUSTOM_PREFIX):
        raise BadRequest(
            f"custom event type {name!r} must start with {CUSTOM_PREFIX!r}, "
            "e.g. 'Custom/NextMonth'",
            code="invalid_event_type",
        )
    return name

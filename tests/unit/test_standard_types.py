"""Built-in event types: ids that never change between releases."""

from __future__ import annotations

import hashlib

import pytest

from espf.names import normalize_event_type_name
from espf.standard_types import (
    BUILTIN_EVENT_TYPES,
    ESPF_EVENT_TYPES,
    FIRST_CUSTOM_ID,
    LATEST_ONLY_EVENT_TYPES,
    STANDARD_EVENT_TYPES,
)

# Ids that scripts and subscriptions may already refer to. Never edit a row.
GOLDEN_PAIRS = [
    (1, "Account/AccessPolicy/Changed"),
    (14, "Account/ID/Changed"),
    (15, "Account/Id/Changed"),
    (17, "Account/New"),
    (26, "Account/Service/Netaccess/QuotaExceeded"),
    (28, "Account/Service/QuotaAvailable"),
    (58, "Customer/New"),
    (75, "Custom/Jasper/CapReached"),
    (99, "Subscriber/Updated"),
    (111, "SIM/Replaced"),
    (9001, "ESPF/Handler/Paused"),
]

# sha256 of "id name" lines, sorted by id, of every type released so far
# (ids 1..111 and 9001). New types may be appended with new ids; if this
# digest changes, an existing id was renumbered, renamed or removed.
RELEASED_DIGEST = "0cdf3a5457b492decaa8bf9cc0cd8850611f3508a1122c764f278f2f903a9097"
RELEASED_COUNT = 112


def released_pairs() -> list[tuple[int, str]]:
    return sorted(pair for pair in BUILTIN_EVENT_TYPES if pair[0] <= 111 or pair[0] == 9001)


@pytest.mark.parametrize(("i_event_type", "name"), GOLDEN_PAIRS)
def test_golden_id_name_pairs(i_event_type: int, name: str) -> None:
    assert dict(BUILTIN_EVENT_TYPES)[i_event_type] == name


def test_released_types_are_unchanged() -> None:
    pairs = released_pairs()
    assert len(pairs) == RELEASED_COUNT
    text = "\n".join(f"{i} {n}" for i, n in pairs)
    assert hashlib.sha256(text.encode()).hexdigest() == RELEASED_DIGEST, (
        "a released event type id changed; ids must never be renumbered or reused"
    )


def test_ids_and_names_are_unique() -> None:
    ids = [i for i, _ in BUILTIN_EVENT_TYPES]
    names = [n for _, n in BUILTIN_EVENT_TYPES]
    assert len(set(ids)) == len(ids)
    assert len(set(names)) == len(names)


def test_builtin_ids_stay_below_the_custom_range() -> None:
    assert FIRST_CUSTOM_ID == 10001
    assert all(0 < i < 10000 for i, _ in BUILTIN_EVENT_TYPES)
    assert all(i < 1000 for i, _ in STANDARD_EVENT_TYPES)
    assert all(9000 <= i < 10000 for i, _ in ESPF_EVENT_TYPES)


def test_every_name_is_a_valid_normalized_name() -> None:
    for _, name in BUILTIN_EVENT_TYPES:
        assert normalize_event_type_name(name) == name


def test_latest_only_types_are_standard_types() -> None:
    standard = {name for _, name in STANDARD_EVENT_TYPES}
    assert LATEST_ONLY_EVENT_TYPES.issubset(standard)
    assert len(LATEST_ONLY_EVENT_TYPES) == 11

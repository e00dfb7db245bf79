"""Event type names: trimmed, ``Segment/Segment``, custom ones under ``Custom/``."""

from __future__ import annotations

import pytest

from espf.errors import BadRequest
from espf.names import MAX_NAME_LENGTH, normalize_custom_type_name, normalize_event_type_name


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # The seed's own example sends the name with spaces around it.
        (" Custom/NextMonth ", "Custom/NextMonth"),
        ("\tAccount/New\n", "Account/New"),
        ("Account/Service/Netaccess/QuotaExceeded", "Account/Service/Netaccess/QuotaExceeded"),
        ("Single", "Single"),
    ],
)
def test_valid_names_are_trimmed_and_kept(raw: str, expected: str) -> None:
    assert normalize_event_type_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "Custom/",  # empty last segment
        "/Custom/NextMonth",  # empty first segment
        "Custom//NextMonth",  # empty middle segment
        "Custom/Next Month",  # inner space
        "Custom/Next\tMonth",  # inner tab
        "Custom/Next\u00a0Month",  # inner no-break space
        "Custom/Next\x00Month",  # control character
        "Custom/" + "x" * MAX_NAME_LENGTH,  # too long
    ],
)
def test_malformed_names_are_rejected_as_bad_request(raw: str) -> None:
    with pytest.raises(BadRequest) as caught:
        normalize_event_type_name(raw)
    assert caught.value.http_status == 400
    assert caught.value.code == "invalid_event_type"


def test_longest_allowed_name_is_accepted() -> None:
    name = "Custom/" + "x" * (MAX_NAME_LENGTH - len("Custom/"))
    assert normalize_event_type_name(name) == name


def test_custom_name_is_trimmed_like_any_other() -> None:
    assert normalize_custom_type_name("  Custom/NextMonth ") == "Custom/NextMonth"


@pytest.mark.parametrize(
    "raw",
    [
        "Account/New",
        "NextMonth",
        "custom/NextMonth",  # the prefix is case-sensitive, as in the original
        "Customs/NextMonth",
        "Custom",
    ],
)
def test_custom_names_must_start_with_custom_slash(raw: str) -> None:
    with pytest.raises(BadRequest, match="must start with 'Custom/'"):
        normalize_custom_type_name(raw)


def test_custom_name_still_gets_the_general_checks() -> None:
    with pytest.raises(BadRequest, match="empty segment"):
        normalize_custom_type_name("Custom//X")

"""Zone names: IANA names load, anything else is a 400 that names it."""

from __future__ import annotations

import importlib.util

import pytest

from espf.calendar.zones import load_zone
from espf.errors import BadRequest


@pytest.mark.parametrize("name", ["Europe/Prague", "Australia/Adelaide", "Asia/Kolkata", "UTC"])
def test_iana_names_load(name: str) -> None:
    assert load_zone(name).key == name


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("Mars/Olympus_Mons", None),
        ("Europe/Pargue", "Europe/Prague"),
        ("europe/prague", "Europe/Prague"),
        ("America", None),  # a directory of zones, not a zone
        ("../../etc/passwd", None),
        ("/usr/share/zoneinfo/UTC", None),
        ("", None),
        ("localtime", None),  # whatever the machine is set to: not a calendar
        ("+02:00", None),  # an offset is not a zone: it knows no DST
    ],
)
def test_unknown_zone_is_a_bad_request_naming_it(name: str, hint: str | None) -> None:
    with pytest.raises(BadRequest) as caught:
        load_zone(name)
    error = caught.value
    assert error.http_status == 400
    assert error.code == "invalid_time_zone"
    assert repr(name) in error.message
    assert "IANA" in error.message and "Europe/Prague" in error.message
    if hint is not None:
        assert f"did you mean {hint!r}" in error.message


def test_zone_data_does_not_depend_on_the_operating_system() -> None:
    # The tzdata package is a dependency, so zoneinfo has data to fall back on
    # where /usr/share/zoneinfo is missing (slim containers, Windows).
    assert importlib.util.find_spec("tzdata") is not None

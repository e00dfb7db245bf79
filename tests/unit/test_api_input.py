"""Reading API input: fields and their bounds, cursors, forms, and the
account status vocabulary."""

from __future__ import annotations

import pytest

from espf.account_status import (
    account_by_i_account,
    account_by_id,
    provisioning_status,
    service_group,
    status_message,
)
from espf.api.cursor import decode_cursor, encode_cursor
from espf.api.form_input import parse_form
from espf.api.json_input import Fields
from espf.domain import AccountKind, ProvisioningStatus
from espf.errors import BadRequest


def test_fields_refuse_unknown_names_and_name_them() -> None:
    with pytest.raises(BadRequest, match="unknown field\\(s\\): b, c; allowed: a"):
        Fields({"a": 1, "b": 2, "c": 3}, ("a",))
    with pytest.raises(BadRequest, match="in retry: speed"):
        Fields({"retry": {"speed": 1}}, ("retry",)).nested("retry", ("base",))


@pytest.mark.parametrize("value", [0, -1, 2**63, True, 1.0, "1"])
def test_integers_stay_within_64_bits(value: object) -> None:
    with pytest.raises(BadRequest, match="i_event must be an integer from 1 to"):
        Fields({"i_event": value}, ("i_event",)).integer("i_event")


@pytest.mark.parametrize("value", [0, -1, 3601, True, "5"])
def test_numbers_are_finite_and_bounded(value: object) -> None:
    with pytest.raises(BadRequest, match="timeout must be a number more than 0"):
        Fields({"timeout": value}, ("timeout",)).number("timeout", 0, 3600)


def test_text_refuses_nul_and_overlong() -> None:
    f = Fields({"a": "x\0y", "b": "xxx"}, ("a", "b"))
    with pytest.raises(BadRequest, match="without NUL"):
        f.text("a")
    with pytest.raises(BadRequest, match="at most 2 characters"):
        f.text("b", max_length=2)


def test_null_is_absent() -> None:
    f = Fields({"a": None}, ("a",))
    assert f.text("a") is None
    with pytest.raises(BadRequest, match="a is required"):
        f.require_text("a")


def test_cursors_round_trip_and_refuse_anything_else() -> None:
    assert decode_cursor("events", encode_cursor("events", 541)) == 541
    for bad in ("", "zz", "not base64!", encode_cursor("status", 541), "MTpldmVudHM6LTE"):
        with pytest.raises(BadRequest, match="cursor"):
            decode_cursor("events", bad)


def test_forms() -> None:
    assert parse_form(b"status=OK&group=VoIP&message=a+b%21") == {
        "status": "OK",
        "group": "VoIP",
        "message": "a b!",
    }
    assert parse_form(b"") == {}
    with pytest.raises(BadRequest, match="twice"):
        parse_form(b"a=1&a=2")
    with pytest.raises(BadRequest, match="UTF-8"):
        parse_form(b"a=\xff")
    with pytest.raises(BadRequest, match="more than"):
        parse_form(b"&".join(b"f%d=1" % n for n in range(50)))


def test_account_status_vocabulary() -> None:
    assert account_by_i_account(" 0541 ").key == "541"
    assert account_by_id("+1 202").kind is AccountKind.ID
    for bad in ("0", "-1", "1.5", "١٢", str(2**63)):
        with pytest.raises(BadRequest):
            account_by_i_account(bad)
    with pytest.raises(BadRequest):
        account_by_id(" ")
    assert provisioning_status("in_progress") is ProvisioningStatus.IN_PROGRESS
    with pytest.raises(BadRequest, match="OK, IN_PROGRESS, RETRY, FAILED"):
        provisioning_status("DONE")
    assert service_group("lawfulinterception") == "LawfulInterception"
    assert service_group("IMS") == "IMS"
    for bad in ("", "-x", "a b", "x" * 65):
        with pytest.raises(BadRequest):
            service_group(bad)
    assert status_message(None) == ""
    with pytest.raises(BadRequest):
        status_message("x" * 4001)

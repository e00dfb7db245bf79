from __future__ import annotations

from espf.coalescing import coalesce_key


def test_latest_only_types_coalesce_per_account_else_customer() -> None:
    t = "Account/Service/Netaccess/QuotaExceeded"
    assert coalesce_key(t, 25, '{"i_account": 541}') == "25:i_account=541"
    assert coalesce_key(t, 25, '{"i_account": "541"}') == "25:i_account=541"
    assert coalesce_key("Customer/Status/Suspend", 9, '{"i_customer": 7}') == "9:i_customer=7"


def test_other_types_and_keyless_events_do_not_coalesce() -> None:
    assert coalesce_key("Account/New", 1, '{"i_account": 541}') is None
    assert coalesce_key("Customer/Status/Limited", 9, "{}") is None
    assert coalesce_key("Customer/Status/Limited", 9, '{"i_customer": {"x": 1}}') is None

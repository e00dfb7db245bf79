"""account/export and account/expunge over HTTP: JSON lines, the caller's
environment only, admins only, and a clear 400 for an i_account of the
wrong type."""

from __future__ import annotations

import orjson
import pytest

from tests.api.conftest import ADMIN3, ADMIN4, PRODUCER3, Api, expect_error


def test_export_answers_json_lines_and_expunge_deletes_them(api: Api) -> None:
    for i_account in (90541, 90541, 90777):
        created = api.call(
            "event/create", {"event_type": "Account/New", "variables": {"i_account": i_account}}
        )
        assert created.status_code == 200, created.text
    api.client.post(
        "/espf/v1/account/i/90541/status", json={"status": "OK", "group": "VoIP"}, auth=ADMIN3
    )

    exported = api.call("account/export", {"i_account": 90541})
    assert exported.status_code == 200, exported.text
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    records = [orjson.loads(line) for line in exported.content.splitlines()]
    assert [r["record"] for r in records] == ["event", "event", "status"]
    # Another environment's admin sees nothing of it.
    assert api.call("account/export", {"i_account": 90541}, user=ADMIN4).content == b""

    expunged = api.call("account/expunge", {"i_account": 90541})
    assert expunged.status_code == 200, expunged.text
    assert expunged.json()["events"] == 2 and expunged.json()["status_reports"] == 1
    assert api.call("account/export", {"i_account": 90541}).content == b""
    others = api.call("account/export", {"i_account": 90777}).content.splitlines()
    assert len(others) == 1


@pytest.mark.parametrize("bad", ["541", 0, -5, 1.5, True, None, 2**63])
def test_an_i_account_of_the_wrong_type_is_a_400(api: Api, bad: object) -> None:
    for method in ("account/export", "account/expunge"):
        answer = expect_error(api.call(method, {"i_account": bad}), 400)
        assert "i_account" in answer["message"]


def test_a_missing_i_account_and_unknown_fields_are_refused(api: Api) -> None:
    expect_error(api.call("account/export", {}), 400)
    expect_error(api.call("account/expunge", {"i_account": 1, "all": True}), 400)


def test_producers_may_not_export_or_expunge(api: Api) -> None:
    for method in ("account/export", "account/expunge"):
        expect_error(api.call(method, {"i_account": 1}, user=PRODUCER3), 403)

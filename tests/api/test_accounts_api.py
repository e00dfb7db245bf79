"""Account provisioning status: reported as JSON or as a form, read back as
the current status per group with its history, per environment."""

from __future__ import annotations

import httpx2

from tests.api.conftest import ADMIN3, ADMIN4, PRODUCER3, Api, expect_error

BY_I = "/espf/v1/account/i/541/status"
BY_ID = "/espf/v1/account/12025550123/status"


def report_json(
    api: Api, path: str, body: object, user: tuple[str, str] = ADMIN3
) -> httpx2.Response:
    return api.client.post(path, json=body, auth=user)


def report_form(api: Api, path: str, form: dict[str, str]) -> httpx2.Response:
    return api.client.post(path, data=form, auth=ADMIN3)


def test_report_as_json_and_as_form_then_read(api: Api) -> None:
    first = report_json(api, BY_I, {"status": "IN_PROGRESS", "group": "VoIP"})
    assert first.status_code == 200, first.text
    assert first.json() == {
        "i_account": 541,
        "i_status_change": 1,
        "group": "VoIP",
        "status": "IN_PROGRESS",
        "message": "",
        "time": "2023-11-14 22:13:20",
        "reported_by": first.json()["reported_by"],
    }
    form = report_form(api, BY_I, {"status": "ok", "group": "voip", "message": "provisioned"})
    assert form.status_code == 200, form.text
    assert form.json()["status"] == "OK" and form.json()["group"] == "VoIP"
    assert (
        report_json(
            api, BY_I, {"status": "FAILED", "group": "IMS", "message": "x" * 4000}
        ).status_code
        == 200
    )

    view = api.client.get(BY_I, auth=ADMIN3).json()
    assert view["i_account"] == 541
    assert [(g["group"], g["status"]) for g in view["groups"]] == [
        ("IMS", "FAILED"),
        ("VoIP", "OK"),
    ]
    assert [h["status"] for h in view["history"]] == ["FAILED", "OK", "IN_PROGRESS"]
    assert view["next_cursor"] is None
    voip = api.client.get(BY_I, params={"group": "VOIP"}, auth=ADMIN3).json()
    assert [h["status"] for h in voip["history"]] == ["OK", "IN_PROGRESS"]
    assert [g["group"] for g in voip["groups"]] == ["VoIP"]


def test_history_pages_with_a_cursor(api: Api) -> None:
    for status in ("IN_PROGRESS", "RETRY", "FAILED", "OK"):
        assert report_json(api, BY_I, {"status": status, "group": "HSS"}).status_code == 200
    statuses: list[str] = []
    params: dict[str, str] = {"limit": "3"}
    while True:
        page = api.client.get(BY_I, params=params, auth=ADMIN3).json()
        statuses += [h["status"] for h in page["history"]]
        if page["next_cursor"] is None:
            break
        params = {"limit": "3", "cursor": page["next_cursor"]}
    assert statuses == ["OK", "FAILED", "RETRY", "IN_PROGRESS"]


def test_by_id_is_its_own_key(api: Api) -> None:
    answer = report_json(api, BY_ID, {"status": "OK", "group": "PCRF"})
    assert answer.json()["id"] == "12025550123"
    assert api.client.get(BY_I, auth=ADMIN3).json()["groups"] == []
    view = api.client.get(BY_ID, auth=ADMIN3).json()
    assert view["id"] == "12025550123" and view["groups"][0]["group"] == "PCRF"


def test_statuses_are_kept_per_environment(api: Api) -> None:
    report_json(api, BY_I, {"status": "OK", "group": "VoIP"})
    other = api.client.get(BY_I, auth=ADMIN4).json()
    assert other["groups"] == [] and other["history"] == []


def test_errors(api: Api) -> None:
    expect_error(report_json(api, BY_I, {"status": "DONE", "group": "VoIP"}), 400, "invalid_status")
    expect_error(
        report_json(api, BY_I, {"status": "OK", "group": "has space"}), 400, "invalid_group"
    )
    expect_error(report_json(api, BY_I, {"status": "OK"}), 400, "missing_field")
    expect_error(
        report_json(api, BY_I, {"status": "OK", "group": "VoIP", "x": 1}), 400, "unknown_field"
    )
    too_long = {"status": "OK", "group": "VoIP", "message": "x" * 4001}
    expect_error(report_json(api, BY_I, too_long), 400, "invalid_field")
    expect_error(report_json(api, "/espf/v1/account/i/abc/status", {}), 400, "invalid_account")
    expect_error(report_json(api, "/espf/v1/account/i/0/status", {}), 400, "invalid_account")
    duplicated = api.client.post(
        BY_I,
        content=b"status=OK&status=FAILED&group=VoIP",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=ADMIN3,
    )
    expect_error(duplicated, 400, "malformed_form")
    xml = api.client.post(
        BY_I, content=b"<status/>", headers={"Content-Type": "text/xml"}, auth=ADMIN3
    )
    expect_error(xml, 415, "unsupported_media_type")
    expect_error(api.client.get(BY_I, params={"limit": "0"}, auth=ADMIN3), 400, "invalid_field")
    expect_error(api.client.get(BY_I, params={"page": "2"}, auth=ADMIN3), 400, "unknown_field")
    expect_error(api.client.get(BY_I, params={"cursor": "zz"}, auth=ADMIN3), 400, "invalid_cursor")
    expect_error(api.client.get(BY_I), 401, "missing_credentials")
    expect_error(api.client.delete(BY_I, auth=ADMIN3), 405, "method_not_allowed")


def test_producers_may_not_report_or_read(api: Api) -> None:
    expect_error(report_json(api, BY_I, {"status": "OK", "group": "VoIP"}, PRODUCER3), 403)
    expect_error(api.client.get(BY_I, auth=PRODUCER3), 403, "admin_required")

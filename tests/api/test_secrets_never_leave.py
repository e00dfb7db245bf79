"""A secret set on a handler never appears in any API answer: not in the
handler's own answers, not in lists, events, errors, metrics or the docs."""

from __future__ import annotations

from pathlib import Path

from espf.api.openapi import openapi_document
from tests.api.conftest import HANDLER_SECRETS, Api

URL_PASSWORD = "url-password-secret"
KEY_FILE_NAME = "client-key-secret.pem"


def secrets(tmp_path: Path) -> list[str]:
    return [*HANDLER_SECRETS.values(), URL_PASSWORD, str(tmp_path / KEY_FILE_NAME)]


def test_no_answer_carries_a_handler_secret(api: Api, tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_text("certificate")
    (tmp_path / KEY_FILE_NAME).write_text("key")
    settings = {
        "url": f"https://espf:{URL_PASSWORD}@app.example.com/hook",
        "auth": "signature",
        "login": "espf",
        "password": HANDLER_SECRETS["password"],
        "auth_scheme": "Token",
        "auth_token": HANDLER_SECRETS["auth_token"],
        "signing_secrets": [HANDLER_SECRETS["signing_secret"]],
        "tls": {
            "client_cert": str(tmp_path / "client.pem"),
            "client_key": str(tmp_path / KEY_FILE_NAME),
        },
    }
    answers = [api.call("handler/create", {"name": "Secretive", **settings})]
    assert answers[0].status_code == 200, answers[0].text
    shown = answers[0].json()
    assert shown["password"] == shown["auth_token"] == "********"
    assert shown["signing_secrets"] == ["********"]
    assert shown["tls"]["client_key"] == "********"
    assert shown["url"] == "https://espf:********@app.example.com/hook"

    name = {"name": "Secretive"}
    calls: list[tuple[str, object]] = [
        ("handler/get", name),
        ("handler/update", {**name, "timeout": 10}),
        ("handler/update", {**name, "auth": "custom"}),
        ("handler/list", {}),
        ("handler/disable", name),
        ("handler/enable", name),
        ("handler/pause", name),
        ("handler/resume", name),
        ("handler/blocked_keys", {}),
        ("handler/subscribe_all", name),
        ("handler/subscriptions", name),
        ("event/create", {"event_type": "Account/New", "variables": {"i_account": 1}}),
        ("event/list", {}),
        # Errors that name the handler or its settings.
        ("handler/create", {"name": "Secretive", **settings}),
        ("handler/update", {**name, "auth_header": "bad header"}),
        ("handler/update", {**name, "signing_secrets": ["whsec_short"]}),
        ("handler/delete", name),
    ]
    # Every other documented method, with the handler's name as a guess at its input.
    for path, item in openapi_document()["paths"].items():
        if path.startswith("/espf/v1/") and "post" in item and "{" not in path:
            calls.append((path.removeprefix("/espf/v1/"), name))
    answers += [api.call(method, body) for method, body in calls]
    api.run(api.service.store.dispatch_due, "node", api.service.clock.now_ms(), 100)
    answers.append(api.call("event/list", {}))
    for i_event in range(1, 6):
        answers.append(api.call("event/get", {"i_event": i_event}))
    for path in ("/metrics", "/doc/api", "/doc/api/openapi.json"):
        answers.append(api.client.get(path))

    for response in answers:
        for secret in secrets(tmp_path):
            assert secret not in response.text, (response.request.url, response.text)

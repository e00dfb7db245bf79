"""The OpenAPI document and the app agree: the same routes and methods, the
same request fields, every error documented; and the docs page works offline."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Route

from espf.api.openapi import openapi_document
from espf.web.console import CONSOLE_ENTRIES
from tests.api.conftest import Api

DOCUMENT = openapi_document()
API_OPERATIONS = [
    (path, method, operation)
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in ("get", "post") and path.startswith("/espf/v1/")
]


def test_the_document_and_the_app_list_the_same_methods(api: Api) -> None:
    in_app = {
        (route.path, method.lower())
        for route in api.client.app.routes  # type: ignore[attr-defined]
        # /rest/Session/* are the billing API's methods, in docs/api.md; / and
        # /console lead to the operator console's pages (docs/console.md).
        if isinstance(route, Route)
        and not route.path.startswith("/rest/")
        and route.path not in CONSOLE_ENTRIES
        for method in route.methods or ()
        if method != "HEAD"
    }
    documented = {
        (path, method)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method in ("get", "post")
    }
    assert in_app == documented


@pytest.mark.parametrize(("path", "method", "operation"), API_OPERATIONS)
def test_every_method_documents_its_errors(
    path: str, method: str, operation: dict[str, Any]
) -> None:
    statuses = set(operation["responses"])
    assert {"200", "400", "401", "413", "429", "503"} <= statuses, path
    if "producer" not in operation.get("description", ""):
        assert "403" in statuses, f"{path} is for admins: it must document 403"
    for status, response in operation["responses"].items():
        if status != "200":
            assert response["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/Error"
            }


def _closed(schema: dict[str, Any]) -> None:
    if schema.get("type") == "object" and "properties" in schema:
        assert schema.get("additionalProperties") is False, schema
        for value in schema["properties"].values():
            _closed(value)


@pytest.mark.parametrize(("path", "method", "operation"), API_OPERATIONS)
def test_request_bodies_are_closed(path: str, method: str, operation: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        _closed(media["schema"])


POST_METHODS = [
    (path, operation)
    for path, method, operation in API_OPERATIONS
    if method == "post" and "{" not in path and path != "/espf/v1/event/create"
]


@pytest.mark.parametrize(("path", "operation"), POST_METHODS)
def test_the_app_accepts_exactly_the_documented_fields(
    api: Api, path: str, operation: dict[str, Any]
) -> None:
    response = api.client.post(path, json={"zz_unknown": 1}, auth=("admin3", "admin3-password"))
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    allowed = message.partition("allowed: ")[2]
    fields = {f for f in allowed.split(", ") if f}
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert fields == set(schema["properties"]), path


def test_the_document_is_served_as_json(api: Api) -> None:
    response = api.client.get("/doc/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == DOCUMENT
    assert DOCUMENT["openapi"].startswith("3.")


def test_the_docs_page_needs_nothing_from_outside(api: Api) -> None:
    page = api.client.get("/doc/api")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for _, _, operation in API_OPERATIONS:
        assert f"id='op-{operation['operationId']}'" in page.text
    assert "src='/doc/api/docs.js'" in page.text
    assert "src='http" not in page.text and "href='http" not in page.text
    script = api.client.get("/doc/api/docs.js")
    assert script.status_code == 200 and "fetch(" in script.text
    assert api.client.get("/doc/api/docs.css").status_code == 200

"""Checking an answer against the OpenAPI document: its status must be one
the method documents, and its JSON body must match that status's schema.
Every answer in the API tests goes through this (conftest's response hook),
so the happy paths the tests walk are checked against the document too."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx2
import jsonschema_rs

from espf.api.openapi import openapi_document

DOCUMENT = openapi_document()
_TEMPLATES = [
    (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path)
    for path in DOCUMENT["paths"]
]


@cache
def _validator(path: str, method: str, status: str) -> Any:
    schema = DOCUMENT["paths"][path][method]["responses"][status]["content"]["application/json"]
    return jsonschema_rs.validator_for({**schema["schema"], "components": DOCUMENT["components"]})


def check_documented(response: httpx2.Response) -> None:
    url_path = response.request.url.path
    template = next((path for regex, path in _TEMPLATES if regex.match(url_path)), None)
    method = response.request.method.lower()
    if template is None or method not in DOCUMENT["paths"][template]:
        return  # an unknown path (404) or method (405): not the document's business
    responses = DOCUMENT["paths"][template][method]["responses"]
    status = str(response.status_code)
    assert status in responses, f"{method.upper()} {url_path} answered {status}, undocumented"
    content = responses[status].get("content", {})
    if "application/json" in content:
        response.read()
        errors = [
            e.message for e in _validator(template, method, status).iter_errors(response.json())
        ]
        assert not errors, f"{method.upper()} {url_path} {status} breaks the document: {errors}"

"""Operations: health, readiness, metrics and these docs; no credentials needed."""

from __future__ import annotations

from typing import Any

from espf.api.openapi.kit import answer, error_response, integer, json_response

TAG = "operations"


def _get(
    operation_id: str, summary: str, content: dict[str, Any], errors: tuple[int, ...] = ()
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "tags": [TAG],
            "summary": summary,
            "security": [],
            "responses": {
                "200": {"description": summary, "content": content},
                **{str(s): error_response(s) for s in errors},
            },
        }
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = json_response(schema, "")["content"]
    return content


def _text(media_type: str) -> dict[str, Any]:
    return {media_type: {"schema": {"type": "string"}}}


PATHS = {
    "/healthz": _get(
        "healthz",
        "The process is up",
        _json(answer({"status": {"const": "ok"}})),
    ),
    "/readyz": _get(
        "readyz",
        "The database answers and its schema is current",
        _json(answer({"status": {"const": "ready"}, "schema_version": integer()})),
        errors=(503,),
    ),
    "/metrics": _get("metrics", "Prometheus metrics", _text("text/plain"), errors=(503,)),
    "/doc/api": _get("docs", "This documentation, as a web page", _text("text/html")),
    "/doc/api/openapi.json": _get(
        "openapi", "This document", {"application/json": {"schema": {"type": "object"}}}
    ),
    "/doc/api/docs.js": _get("docs_script", "The web page's script", _text("text/javascript")),
    "/doc/api/docs.css": _get("docs_style", "The web page's style", _text("text/css")),
}

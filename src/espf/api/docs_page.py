"""/doc/api as a web page, rendered on the server from the OpenAPI document.

No docs UI from a CDN: espf must document itself offline, behind firewalls.
The page reads fine without JavaScript; docs.js (served beside it, no inline
script, so a strict Content-Security-Policy holds) adds a "try it" form to
each method that sends the request with credentials typed into the page.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

import orjson

Schema = dict[str, Any]


def render_docs_page(document: dict[str, Any]) -> str:
    info = document["info"]
    schemas: dict[str, Schema] = document["components"]["schemas"]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any], list[Any]]]] = {}
    for path, item in document["paths"].items():
        for method in ("get", "post"):
            if method in item:
                operation = item[method]
                parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
                by_tag.setdefault(operation["tags"][0], []).append(
                    (method, path, operation, parameters)
                )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(info['title'])} API</title>",
        "<link rel='stylesheet' href='/doc/api/docs.css'>",
        "<script src='/doc/api/docs.js' defer></script></head><body>",
        f"<header><h1>{escape(info['title'])} API {escape(info['version'])}</h1>",
        "<a href='/doc/api/openapi.json'>OpenAPI document (JSON)</a></header><main>",
        _paragraphs(info["description"]),
        "<form id='credentials' hidden><strong>Try it</strong>: login "
        "<input id='login' autocomplete='username'> password "
        "<input id='password' type='password' autocomplete='current-password'> "
        "(kept in this page only)</form>",
        "<nav><ul>",
        *(f"<li><a href='#tag-{_anchor(tag)}'>{escape(tag)}</a></li>" for tag in by_tag),
        "<li><a href='#schemas'>schemas</a></li></ul></nav>",
    ]
    for tag, operations in by_tag.items():
        parts.append(f"<h2 id='tag-{_anchor(tag)}'>{escape(tag)}</h2>")
        parts.extend(_operation(m, p, op, params, schemas) for m, p, op, params in operations)
    parts.append("<h2 id='schemas'>schemas</h2>")
    for name, schema in schemas.items():
        parts.append(f"<section class='op' id='schema-{_anchor(name)}'><h3>{escape(name)}</h3>")
        parts.append(_paragraphs(schema.get("description", "")))
        parts.append(_schema_block(schema))
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "".join(parts)


def _operation(
    method: str, path: str, op: dict[str, Any], parameters: list[Any], schemas: dict[str, Schema]
) -> str:
    out = [
        f"<section class='op' id='op-{escape(op['operationId'])}' data-method='{method.upper()}'"
        f" data-path='{escape(path)}' data-auth='{'no' if op.get('security') == [] else 'yes'}'>",
        f"<h3><span class='method {method}'>{method.upper()}</span>"
        f"<code>{escape(path)}</code></h3>",
        f"<p><strong>{escape(op.get('summary', ''))}</strong></p>",
        _paragraphs(op.get("description", "")),
    ]
    if parameters:
        out.append(
            "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>meaning</th></tr>"
        )
        for p in parameters:
            required = " <span class='req'>required</span>" if p.get("required") else ""
            out.append(
                f"<tr><td><code>{escape(p['name'])}</code>{required}</td>"
                f"<td>{escape(p['in'])}</td><td>{_type_text(p['schema'])}</td>"
                f"<td>{escape(p.get('description', ''))}</td></tr>"
            )
        out.append("</table>")
    body = op.get("requestBody")
    example: Any = None
    if body is not None:
        media = body["content"]
        first = next(iter(media.values()))
        schema = first["schema"]
        assert isinstance(schema, dict)
        kinds = ", ".join(f"<code>{escape(m)}</code>" for m in media)
        needed = "required" if body.get("required") else "optional"
        out.append(f"<h4>Request body ({kinds}, {needed})</h4>")
        out.append(_schema_block(schema))
        example = first.get("example", _example(schema, schemas))
    out.append("<h4>Answers</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>")
    for status, response in op["responses"].items():
        content = response.get("content", {})
        shown = ", ".join(
            f"{escape(m)}: {_type_text(c['schema'])}" for m, c in content.items() if "schema" in c
        )
        out.append(
            f"<tr><td>{escape(status)}</td><td>{escape(response['description'])}</td>"
            f"<td>{shown}</td></tr>"
        )
    out.append("</table>")
    success = op["responses"].get("200", {}).get("content", {}).get("application/json")
    if success is not None and "properties" in success["schema"]:
        out.append("<h4>Answer 200</h4>")
        out.append(_schema_block(success["schema"]))
    if example is not None:
        out.append(
            "<template class='example'>"
            f"{escape(orjson.dumps(example, option=orjson.OPT_INDENT_2).decode())}</template>"
        )
    out.append("</section>")
    return "".join(out)


def _schema_block(schema: Schema) -> str:
    properties = schema.get("properties")
    if not properties:
        return f"<p>{_type_text(schema)}</p>"
    required = set(schema.get("required", []))
    rows = ["<table><tr><th>field</th><th>type</th><th>meaning</th></tr>"]
    for name, field in properties.items():
        mark = " <span class='req'>required</span>" if name in required else ""
        rows.append(
            f"<tr><td><code>{escape(name)}</code>{mark}</td><td>{_type_text(field)}</td>"
            f"<td>{escape(_description(field))}{_nested(field)}</td></tr>"
        )
    rows.append("</table>")
    return "".join(rows)


def _nested(field: Schema) -> str:
    return _schema_block(field) if field.get("properties") else ""


def _description(field: Schema) -> str:
    if "description" in field:
        return str(field["description"])
    for option in field.get("anyOf", []):
        if "description" in option:
            return str(option["description"])
    return ""


def _type_text(schema: Schema) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"<a href='#schema-{_anchor(name)}'>{escape(name)}</a>"
    options: list[Schema] = schema.get("anyOf") or schema.get("oneOf") or []
    if options:
        return " or ".join(_type_text(s) for s in options)
    if "const" in schema:
        return f"<code>{escape(orjson.dumps(schema['const']).decode())}</code>"
    if "enum" in schema:
        values = ", ".join(escape(orjson.dumps(v).decode()) for v in schema["enum"])
        return f"one of <code>{values}</code>"
    kind = schema.get("type", "any")
    kinds = kind if isinstance(kind, list) else [kind]
    text = " or ".join(
        f"array of {_type_text(schema.get('items', {}))}" if k == "array" else escape(str(k))
        for k in kinds
    )
    bounds = [
        f"{label} {schema[key]}"
        for key, label in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("maxLength", "length ≤"),
            ("maxItems", "items ≤"),
        )
        if key in schema and not (key == "maximum" and schema[key] >= 2**62)
    ]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _example(schema: Schema, schemas: dict[str, Schema]) -> Any:
    """A body to start from: required fields, with the document's examples."""
    if "examples" in schema:
        return schema["examples"][0]
    properties = schema.get("properties")
    if properties is not None:
        required = schema.get("required", [])
        return {name: _example(properties[name], schemas) for name in required}
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if "enum" in schema:
        return schema["enum"][0]
    return {"integer": 1, "number": 1, "boolean": True, "array": [], "object": {}}.get(
        str(kind), ""
    )


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{_inline(p)}</p>" for p in text.split("\n\n") if p.strip())


def _inline(text: str) -> str:
    """Escaped text, with `code` spans of the document's Markdown as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _anchor(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())

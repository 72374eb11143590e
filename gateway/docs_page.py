"""Render the OpenAPI document as one self-contained HTML page.

The page is built on the server, once, and needs no script, font or stylesheet
from anywhere: its only style is one inline ``<style>`` element, which the page's
Content-Security-Policy allows by hash.
"""

import base64
import hashlib
import json
import re
from html import escape

METHOD_ORDER = ("get", "post", "put", "patch", "delete")
# reStructuredText inline literals in docstrings, ``like this``, after escaping.
INLINE_LITERAL = re.compile(r"``(.+?)``")
STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;
padding:1rem 2rem;color:#1d1d1f}
h1{margin-bottom:0}h2{border-bottom:2px solid #ccc;margin-top:2.5rem}
nav ul{columns:3;padding-left:1rem}
section.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.method{display:inline-block;min-width:4.5rem;font-weight:700;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c}.put,.patch{color:#a60}.delete{color:#c03}
code,.path{font-family:ui-monospace,monospace}.path{font-weight:600}
table{border-collapse:collapse;margin:.3rem 0 .8rem}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}.muted{color:#666}p.access{font-style:italic}
"""


def render_page(document: dict) -> str:
    """Return the HTML page describing every operation of ``document``."""
    info = document.get("info", {})
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(info.get('title', 'API'))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(info.get('title', 'API'))}</h1>",
        f"<p class=\"muted\">Version {escape(str(info.get('version', '')))}. "
        'The machine-readable document is <a href="/v1/openapi.json">'
        "/v1/openapi.json</a> (OpenAPI 3.1).</p>",
        _paragraphs(info.get("description", "")),
    ]
    by_tag = _operations_by_tag(document)
    shared = document.get("components", {}).get("responses", {})
    parts.append("<nav><h2>Contents</h2><ul>")
    parts += [f'<li><a href="#tag-{escape(tag)}">{escape(tag)}</a></li>'
              for tag in by_tag]
    parts.append('<li><a href="#schemas">Schemas</a></li></ul></nav>')
    for tag, operations in by_tag.items():
        parts.append(f'<h2 id="tag-{escape(tag)}">{escape(tag)}</h2>')
        parts += [_operation(path, method, item, shared)
                  for path, method, item in operations]
    parts.append(_schemas(document.get("components", {}).get("schemas", {})))
    parts.append("</body></html>")
    return "\n".join(part for part in parts if part)


def content_security_policy() -> str:
    """Return the page's CSP: nothing may load, except the page's own style."""
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; "
            "form-action 'none'; frame-ancestors 'none'")


def _operations_by_tag(document: dict) -> dict:
    grouped: dict = {}
    for path, item in sorted(document.get("paths", {}).items()):
        for method in METHOD_ORDER:
            if method in item:
                tag = (item[method].get("tags") or ["other"])[0]
                grouped.setdefault(tag, []).append((path, method, item[method]))
    return dict(sorted(grouped.items()))


def _operation(path: str, method: str, operation: dict, shared: dict) -> str:
    anchor = escape(operation.get("operationId", f"{method}-{path}"))
    parts = [
        f'<section class="op" id="op-{anchor}">',
        f'<h3><span class="method {method}">{method}</span> '
        f'<span class="path">{escape(path)}</span></h3>',
        f"<p><strong>{escape(operation.get('summary', ''))}</strong></p>",
        _paragraphs(operation.get("description", "")),
        _security(operation),
        _parameters(operation.get("parameters", [])),
        _request_body(operation.get("requestBody")),
        _responses(operation.get("responses", {}), shared),
        "</section>",
    ]
    return "\n".join(part for part in parts if part)


def _security(operation: dict) -> str:
    if "security" not in operation:
        return ""
    schemes = [" and ".join(requirement) for requirement in operation["security"]]
    credential = " or ".join(schemes) if schemes else "none"
    return f'<p class="access">Credential: {escape(credential)}.</p>'


def _parameters(parameters: list) -> str:
    if not parameters:
        return ""
    rows = []
    for parameter in parameters:
        schema = parameter.get("schema", {})
        description = parameter.get("description") or schema.get("description", "")
        rows.append(f"<tr><td><code>{escape(parameter['name'])}</code></td>"
                    f"<td>{escape(parameter['in'])}</td>"
                    f"<td>{'yes' if parameter.get('required') else 'no'}</td>"
                    f"<td>{_type(schema)}</td><td>{escape(description)}</td></tr>")
    return ("<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Required</th>"
            f"<th>Type</th><th>Description</th></tr>{''.join(rows)}</table>")


def _request_body(body: dict | None) -> str:
    if not body:
        return ""
    required = "required" if body.get("required") else "optional"
    items = "".join(f"<li><code>{escape(media_type)}</code>: "
                    f"{_type(content.get('schema', {}))}</li>"
                    for media_type, content in body.get("content", {}).items())
    return f"<h4>Request body ({required})</h4><ul>{items}</ul>"


def _responses(responses: dict, shared: dict) -> str:
    """Tabulate responses; ``shared`` contains the components they refer to."""
    rows = []
    for status, response in responses.items():
        if "$ref" in response:
            response = shared.get(response["$ref"].rsplit("/", 1)[-1], {})
        media = ", ".join(
            f"<code>{escape(media_type)}</code> {_type(content.get('schema', {}))}"
            for media_type, content in response.get("content", {}).items())
        rows.append(f"<tr><td>{escape(status)}</td><td>{media or 'no content'}</td>"
                    f"<td>{escape(response.get('description', ''))}</td></tr>")
    return ("<h4>Responses</h4><table><tr><th>Status</th><th>Body</th>"
            f"<th>Meaning</th></tr>{''.join(rows)}</table>")


def _schemas(schemas: dict) -> str:
    parts = ['<h2 id="schemas">Schemas</h2>']
    for name, schema in sorted(schemas.items()):
        required = set(schema.get("required", []))
        rows = "".join(
            f"<tr><td><code>{escape(field)}</code></td>"
            f"<td>{'yes' if field in required else 'no'}</td>"
            f"<td>{_type(definition)}</td><td>{_constraints(definition)}</td></tr>"
            for field, definition in schema.get("properties", {}).items())
        extra = ("" if schema.get("additionalProperties") is False
                 else '<p class="muted">Other members are allowed.</p>')
        parts.append(
            f'<section id="schema-{escape(name)}"><h3>{escape(name)}</h3>'
            f"{_paragraphs(schema.get('description', ''))}"
            "<table><tr><th>Field</th><th>Required</th><th>Type</th>"
            f"<th>Constraints</th></tr>{rows}</table>{extra}</section>")
    return "\n".join(parts)


def _type(schema: dict) -> str:
    """Describe a JSON Schema's type in a few words, linking referenced schemas."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f'<a href="#schema-{escape(name)}">{escape(name)}</a>'
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " or ".join(_type(option) for option in schema[combinator])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    text = escape(kind)
    if schema.get("format"):
        text += f" ({escape(schema['format'])})"
    return text


def _constraints(schema: dict) -> str:
    notes = []
    if "enum" in schema:
        notes.append("one of " + ", ".join(f"<code>{escape(str(value))}</code>"
                                           for value in schema["enum"]))
    items = schema.get("items", {})
    if "enum" in items:
        notes.append("items one of " + ", ".join(
            f"<code>{escape(str(value))}</code>" for value in items["enum"]))
    for key, label in (("minLength", "min length"), ("maxLength", "max length"),
                       ("minimum", "min"), ("maximum", "max"),
                       ("minItems", "min items"), ("maxItems", "max items")):
        if key in schema:
            notes.append(f"{label} {escape(str(schema[key]))}")
    if "pattern" in schema:
        notes.append(f"pattern <code>{escape(schema['pattern'])}</code>")
    if "default" in schema:
        notes.append(f"default <code>{escape(json.dumps(schema['default']))}</code>")
    if schema.get("description"):
        notes.append(escape(schema["description"]))
    return "; ".join(notes)


def _paragraphs(text: str) -> str:
    html = []
    for paragraph in text.split("\n\n"):
        if paragraph.strip():
            escaped = escape(" ".join(paragraph.split()))
            marked = INLINE_LITERAL.sub(r"<code>\1</code>", escaped)
            html.append(f"<p>{marked}</p>")
    return "".join(html)

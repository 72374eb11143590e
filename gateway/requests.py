"""Request body parsing shared by the gateway's routes."""

import json

from gateway.errors import BadRequest, PayloadTooLarge

MAX_BODY_BYTES = 64 * 1024
# JSON nesting deeper than this is rejected; no request schema nests beyond a
# handful of levels.
MAX_NESTING_DEPTH = 32


def json_body(request) -> dict:
    """Parse a JSON object body; raise ``BadRequest`` when it is absent or malformed."""
    body = optional_json_body(request)
    if body is None:
        raise BadRequest({"body": ["is missing: send a JSON object"]})
    return body


def optional_json_body(request) -> dict | None:
    """Parse a JSON object body, or return None when the request has no body.

    Reads at most ``MAX_BODY_BYTES`` + 1 bytes, so a chunked body without a
    Content-Length cannot exhaust memory either. The parsed body is kept on the
    request, so an access check and the handler can both read it.
    """
    if hasattr(request, "parsed_json_body"):
        return request.parsed_json_body
    request.parsed_json_body = _parse(request)
    return request.parsed_json_body


def _parse(request) -> dict | None:
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise PayloadTooLarge(MAX_BODY_BYTES)
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except RecursionError as exc:
        raise BadRequest({"body": [f"is nested more than {MAX_NESTING_DEPTH} levels deep"]}) \
            from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest({"body": [f"is not valid JSON ({exc})"]}) from exc
    if not isinstance(body, dict):
        raise BadRequest({"body": ["must be a JSON object"]})
    _check_values(body, "", 1)
    return body


def _check_values(value, path: str, depth: int) -> None:
    """Reject nesting beyond ``MAX_NESTING_DEPTH`` and text that storage cannot hold.

    JSON allows ``\\u0000`` and unpaired surrogates such as ``\\ud800`` in
    strings, but neither is valid in stored UTF-8 text (PostgreSQL, under
    FerretDB, rejects NUL outright), so they are refused here with the field.
    """
    if depth > MAX_NESTING_DEPTH:
        raise BadRequest({path or "body": [
            f"is nested more than {MAX_NESTING_DEPTH} levels deep"]})
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            _check_text(key, child)
            _check_values(item, child, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_values(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        _check_text(value, path)


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise BadRequest({field: ["contains a NUL character (\\u0000); remove it"]})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequest({field: [
            "contains an unpaired UTF-16 surrogate; send valid Unicode text"]}) from exc

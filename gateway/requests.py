"""Request body parsing shared by the gateway's routes."""

import json

from gateway.errors import BadRequest

MAX_BODY_BYTES = 64 * 1024


def json_body(request) -> dict:
    """Parse a JSON object body; raise ``BadRequest`` when it is absent or malformed."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise BadRequest({"body": [f"must be at most {MAX_BODY_BYTES} bytes"]})
    raw = request.get_data(cache=False)
    if not raw:
        raise BadRequest({"body": ["is missing: send a JSON object"]})
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest({"body": [f"is not valid JSON ({exc})"]}) from exc
    if not isinstance(body, dict):
        raise BadRequest({"body": ["must be a JSON object"]})
    return body

"""Map service errors to RFC 9457 ``application/problem+json`` responses.

One table decides each error's HTTP status and type; anything not in it is a 500
whose body carries only the request id, never a traceback.
"""

import json
import logging

from nameko.exceptions import RemoteError, UnknownService
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from cities_common.errors import (
    CityArchived, Conflict, Forbidden, InvalidInput, NotFound, Rejected,
    StoreUnavailable, Unauthenticated, UnknownCity,
)

logger = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A service did not answer in time, or is not running."""

    def __init__(self, service: str, detail: str):
        super().__init__(service, detail)
        self.service = service
        self.detail = detail


class BadRequest(Exception):
    """The HTTP request itself is malformed: body not JSON, parameter not a number."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


class PayloadTooLarge(Exception):
    """The request body is larger than the gateway accepts."""

    def __init__(self, limit: int):
        super().__init__(f"the request body must be at most {limit} bytes; send less "
                         "data, or split it over several requests")
        self.limit = limit


class TooManyRequests(Exception):
    """The client sent more requests than a rate limit allows."""

    def __init__(self, detail: str, retry_after: int):
        super().__init__(detail)
        self.retry_after = retry_after


RETRY_AFTER_SECONDS = 5
# Members every problem body has; extension members may not replace them.
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "request_id", "reason"}

# exception class: (status, problem type slug, title)
TABLE = {
    InvalidInput: (400, "invalid-input", "Invalid input"),
    BadRequest: (400, "invalid-input", "Invalid input"),
    PayloadTooLarge: (413, "payload-too-large", "Payload too large"),
    UnknownCity: (404, "unknown-city", "Unknown city"),
    NotFound: (404, "not-found", "Not found"),
    Unauthenticated: (401, "unauthenticated", "Unauthenticated"),
    Forbidden: (403, "forbidden", "Forbidden"),
    CityArchived: (410, "city-archived", "City archived"),
    Conflict: (409, "conflict", "Conflict"),
    TooManyRequests: (429, "too-many-requests", "Too many requests"),
    ServiceUnavailable: (503, "service-unavailable", "Service unavailable"),
    StoreUnavailable: (503, "service-unavailable", "Service unavailable"),
}


def problem(status: int, slug: str, title: str, detail: str, request_id=None,
            **extra) -> Response:
    body = {"type": f"https://citiesoflearning.org/problems/{slug}", "title": title,
            "status": status, "detail": detail, "request_id": request_id, **extra}
    response = Response(json.dumps(body), status=status,
                        mimetype="application/problem+json")
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="cities-of-learning"'
    return response


def problem_response(exc: Exception, request_id=None) -> Response:
    """Build the problem response for ``exc``; log unexpected errors with the request id."""
    if isinstance(exc, UnknownService):
        exc = ServiceUnavailable(str(exc), "the service is not running")
    if isinstance(exc, HTTPException):
        return problem(exc.code or 500, "http-error", exc.name, exc.description or "",
                       request_id)
    if isinstance(exc, Rejected):
        # The reason code and its facts become problem extension members.
        details = {key: value for key, value in exc.details.items()
                   if key not in PROBLEM_MEMBERS}
        return problem(409, "rejected", "Rejected", exc.message, request_id,
                       reason=exc.reason, **details)
    for exc_type, (status, slug, title) in TABLE.items():
        if isinstance(exc, exc_type):
            if isinstance(exc, (InvalidInput, BadRequest)):
                errors = exc.errors
                return problem(status, slug, title, _describe(errors), request_id,
                               errors=errors)
            if isinstance(exc, ServiceUnavailable):
                return problem(status, slug, title,
                               f"{exc.service}: {exc.detail}; retry later", request_id)
            return problem(status, slug, title, str(exc.args[0]) if exc.args else title,
                           request_id)
    if isinstance(exc, RemoteError):
        logger.error("unexpected remote error %s: %s", exc.exc_type, exc.value,
                     extra={"request_id": request_id})
    else:
        logger.error("unexpected error in the gateway", exc_info=exc,
                     extra={"request_id": request_id})
    return problem(500, "internal-error", "Internal error",
                   "the request failed unexpectedly; quote the request id when "
                   "reporting it", request_id)


def _describe(errors: dict, prefix: str = "") -> str:
    """Flatten marshmallow's field messages into one readable sentence."""
    parts = []
    for field, messages in errors.items():
        name = f"{prefix}{field}"
        if isinstance(messages, dict):
            parts.append(_describe(messages, f"{name}."))
        else:
            text = "; ".join(str(message) for message in messages) \
                if isinstance(messages, list) else str(messages)
            parts.append(f"{name}: {text}")
    return "; ".join(parts)

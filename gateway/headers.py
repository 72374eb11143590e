"""Security and CORS headers that the gateway adds to every response.

A route may set its own ``Content-Security-Policy``, ``Cache-Control`` or
``Access-Control-Allow-Origin`` (hosted badge documents, badge images and the API
docs page do), and these functions keep them.
"""

from urllib.parse import urlsplit

from nameko.exceptions import ConfigurationError
from werkzeug.wrappers import Response

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'"
# One year, in seconds.
HSTS = "max-age=31536000"
CREDENTIAL_HEADERS = ("Authorization", "X-Api-Key")

CORS_ALLOWED_HEADERS = ("Authorization", "Content-Type", "If-Match", "X-Api-Key",
                        "X-Organization-Id", "X-Request-Id")
CORS_EXPOSED_HEADERS = ("ETag", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                        "RateLimit-Reset", "X-Request-Id")
# Seconds a browser may cache a preflight response.
CORS_MAX_AGE = 600


class SecurityHeaders:
    """``nosniff``, no referrer, no framing, a default CSP and, on HTTPS, HSTS."""

    def __init__(self, https: bool):
        self.https = https

    @classmethod
    def from_config(cls, config: dict) -> "SecurityHeaders":
        base_url = config.get("PUBLIC_BASE_URL") or ""
        return cls(https=base_url.lower().startswith("https://"))

    def apply(self, request, response: Response) -> None:
        headers = response.headers
        for name, value in SECURITY_HEADERS.items():
            headers.setdefault(name, value)
        headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        if self.https:
            headers.setdefault("Strict-Transport-Security", HSTS)
        # A response to a credentialed request may contain that caller's data, so
        # no cache may keep it unless the route chose a policy itself.
        if any(request.headers.get(name) for name in CREDENTIAL_HEADERS):
            headers.setdefault("Cache-Control", "no-store")


class Cors:
    """Cross-origin access for the origins in ``CORS_ALLOWED_ORIGINS``.

    An allowed origin is reflected in ``Access-Control-Allow-Origin``, never ``*``.
    ``Access-Control-Allow-Credentials`` is never sent, because callers
    authenticate with headers, not cookies.
    """

    def __init__(self, origins):
        self.origins = frozenset(origins)

    @classmethod
    def from_config(cls, config: dict) -> "Cors":
        return cls(parse_origins(config.get("CORS_ALLOWED_ORIGINS") or ""))

    def allows(self, origin: str | None) -> bool:
        return bool(origin) and origin in self.origins

    def preflight(self, request, methods) -> Response:
        """Return the response to ``OPTIONS`` on a path that accepts ``methods``."""
        response = Response(status=204)
        response.headers["Allow"] = ", ".join(sorted(methods))
        origin = request.headers.get("Origin")
        if self.allows(origin):
            headers = response.headers
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Methods"] = ", ".join(sorted(methods))
            headers["Access-Control-Allow-Headers"] = ", ".join(CORS_ALLOWED_HEADERS)
            headers["Access-Control-Max-Age"] = str(CORS_MAX_AGE)
        response.vary.add("Origin")
        return response

    def apply(self, request, response: Response) -> None:
        """Reflect an allowed origin on an actual (not preflight) response."""
        if response.headers.get("Access-Control-Allow-Origin") == "*":
            return
        if self.origins:
            response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if not self.allows(origin) or \
                "Access-Control-Allow-Origin" in response.headers:
            return
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = \
            ", ".join(CORS_EXPOSED_HEADERS)


def parse_origins(value: str) -> list[str]:
    """Parse ``CORS_ALLOWED_ORIGINS``: comma-separated ``scheme://host[:port]``."""
    origins = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        if entry == "*":
            raise ConfigurationError(
                "CORS_ALLOWED_ORIGINS: '*' is not accepted; list each origin that "
                "may call the API, such as https://app.example.org")
        parts = urlsplit(entry)
        if parts.scheme not in ("http", "https") or not parts.hostname or \
                parts.path or parts.query or parts.fragment or parts.username:
            raise ConfigurationError(
                f"CORS_ALLOWED_ORIGINS: {entry!r} is not an origin; write "
                "scheme://host or scheme://host:port, without a path or a "
                "trailing slash")
        origins.append(entry.lower())
    return origins

"""Security headers, CORS and rate limits of ``ProblemWsgiApp``, on a werkzeug client.

The app routes to small fake providers, so every response passes through the
same code as in the running gateway without any service behind it.
"""

import hashlib
import json
from types import SimpleNamespace

import pytest
from nameko.exceptions import ConfigurationError
from werkzeug.routing import Map, Rule
from werkzeug.test import Client
from werkzeug.wrappers import Response

from gateway.entrypoints import ProblemWsgiApp
from gateway.headers import DEFAULT_CSP, Cors, parse_origins
from gateway.ratelimit import CLIENT_ADDRESS_ENVIRON, RateLimiter, credential_digest

ORIGIN = "https://app.example.org"


class FakeProvider:
    """An entrypoint stand-in that returns ``make_response()`` for every request."""

    def __init__(self, make_response):
        self.make_response = make_response

    def handle_request(self, request):
        return self.make_response()


def json_response():
    return Response(json.dumps({"ok": True}), mimetype="application/json")


def svg_response():
    response = Response("<svg/>", mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src data:"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


class FakeServer:
    def __init__(self, config):
        self.container = SimpleNamespace(config=config)

    def make_url_map(self):
        return Map([
            Rule("/v1/things", methods=["GET", "POST"],
                 endpoint=FakeProvider(json_response)),
            Rule("/v1/badge.svg", methods=["GET"], endpoint=FakeProvider(svg_response)),
            Rule("/v1/auth/token", methods=["POST"],
                 endpoint=FakeProvider(json_response)),
        ])


def from_peer(app, peer: str):
    """Wrap ``app`` so that every request comes from the socket peer ``peer``."""
    def call(environ, start_response):
        environ["REMOTE_ADDR"] = peer
        return app(environ, start_response)

    return call


def client(peer="198.51.100.7", **config) -> Client:
    settings = {"RATE_LIMIT_PER_ADDRESS": "1000/minute",
                "RATE_LIMIT_PER_CREDENTIAL": "1000/minute",
                "RATE_LIMIT_AUTH": "1000/minute", **config}
    return Client(from_peer(ProblemWsgiApp(FakeServer(settings)), peer))


# Security headers ----------------------------------------------------------------

def test_headers_on_json_response():
    response = client().get("/v1/things")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == DEFAULT_CSP
    assert "Strict-Transport-Security" not in response.headers
    assert "Cache-Control" not in response.headers
    assert len(response.headers["X-Request-Id"]) == 32


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/v1/nowhere", 404),
    ("DELETE", "/v1/things", 405),
])
def test_headers_on_routing_problems(method, path, status):
    response = client().open(path, method=method,
                             headers={"X-Request-Id": "abcdef123456"})
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == DEFAULT_CSP
    assert response.headers["X-Request-Id"] == "abcdef123456"
    assert response.get_json()["request_id"] == "abcdef123456"


def test_headers_keep_route_policy():
    response = client().get("/v1/badge.svg", headers={"Authorization": "Bearer x"})
    assert response.headers["Content-Security-Policy"] == \
        "default-src 'none'; img-src data:"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key"])
def test_headers_no_store_with_credential(header):
    response = client().get("/v1/things", headers={header: "Bearer col_secret"})
    assert response.headers["Cache-Control"] == "no-store"


def test_headers_hsts_only_on_https():
    secure = client(PUBLIC_BASE_URL="https://api.example.org").get("/v1/things")
    plain = client(PUBLIC_BASE_URL="http://127.0.0.1:8000").get("/v1/things")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in plain.headers


# CORS ----------------------------------------------------------------------------

def preflight(test_client, origin=ORIGIN, path="/v1/things"):
    return test_client.options(path, headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})


def test_cors_preflight_allowed_origin():
    response = preflight(client(CORS_ALLOWED_ORIGINS=f"{ORIGIN}, https://b.example"))
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) >= \
        {"GET", "POST"}
    allowed = response.headers["Access-Control-Allow-Headers"].split(", ")
    assert {"Authorization", "Content-Type", "If-Match", "X-Request-Id",
            "X-Api-Key"} <= set(allowed)
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_cors_preflight_other_origin():
    response = preflight(client(CORS_ALLOWED_ORIGINS=ORIGIN),
                         origin="https://evil.example")
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Methods" not in response.headers


def test_cors_preflight_denied_by_default():
    response = preflight(client())
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_preflight_unknown_path():
    response = preflight(client(CORS_ALLOWED_ORIGINS=ORIGIN), path="/v1/nowhere")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


def test_cors_reflects_allowed_origin():
    response = client(CORS_ALLOWED_ORIGINS=ORIGIN).get("/v1/things",
                                                       headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "X-Request-Id" in response.headers["Access-Control-Expose-Headers"]
    assert "Origin" in response.headers["Vary"]


def test_cors_ignores_other_origin():
    response = client(CORS_ALLOWED_ORIGINS=ORIGIN).get(
        "/v1/things", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_keeps_public_document_wildcard():
    response = client(CORS_ALLOWED_ORIGINS=ORIGIN).get("/v1/badge.svg",
                                                       headers={"Origin": ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Expose-Headers" not in response.headers


@pytest.mark.parametrize("value, fragment", [
    ("*", "'*' is not accepted"),
    ("https://app.example.org/", "is not an origin"),
    ("app.example.org", "is not an origin"),
    ("ftp://app.example.org", "is not an origin"),
])
def test_cors_config_rejects(value, fragment):
    with pytest.raises(ConfigurationError) as caught:
        parse_origins(value)
    assert "CORS_ALLOWED_ORIGINS" in str(caught.value)
    assert fragment in str(caught.value)


def test_cors_config_accepts_origins():
    cors = Cors(parse_origins(" https://A.example.org ,http://127.0.0.1:5173,"))
    assert cors.origins == {"https://a.example.org", "http://127.0.0.1:5173"}


# Rate limits ---------------------------------------------------------------------

def test_rate_limit_per_address():
    test_client = client(RATE_LIMIT_PER_ADDRESS="3/minute")
    statuses = [test_client.get("/v1/things").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_rate_limit_rejection_is_problem():
    test_client = client(RATE_LIMIT_PER_ADDRESS="2/minute")
    first = test_client.get("/v1/things")
    test_client.get("/v1/things")
    rejected = test_client.get("/v1/things")
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    assert rejected.status_code == 429
    assert rejected.mimetype == "application/problem+json"
    body = rejected.get_json()
    assert body["type"].endswith("/too-many-requests")
    assert body["status"] == 429
    assert "more than 2 requests from one address per minute" in body["detail"]
    assert 1 <= int(rejected.headers["Retry-After"]) <= 60
    assert rejected.headers["RateLimit-Limit"] == "2"
    assert rejected.headers["RateLimit-Remaining"] == "0"
    assert 0 <= int(rejected.headers["RateLimit-Reset"]) <= 60
    assert rejected.headers["X-Content-Type-Options"] == "nosniff"


def test_rate_limit_counts_addresses_apart():
    app = ProblemWsgiApp(FakeServer({"RATE_LIMIT_PER_ADDRESS": "1/minute"}))
    first = Client(from_peer(app, "198.51.100.1"))
    second = Client(from_peer(app, "198.51.100.2"))
    assert first.get("/v1/things").status_code == 200
    assert second.get("/v1/things").status_code == 200
    assert first.get("/v1/things").status_code == 429


def test_rate_limit_ignores_untrusted_forwarded_for():
    test_client = client(RATE_LIMIT_PER_ADDRESS="1/minute")
    assert test_client.get("/v1/things", headers={
        "X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert test_client.get("/v1/things", headers={
        "X-Forwarded-For": "203.0.113.2"}).status_code == 429


def test_rate_limit_honours_trusted_proxy():
    test_client = client(peer="10.0.0.5", RATE_LIMIT_PER_ADDRESS="1/minute",
                         TRUSTED_PROXIES="10.0.0.0/8")
    assert test_client.get("/v1/things", headers={
        "X-Forwarded-For": "203.0.113.1"}).status_code == 200
    assert test_client.get("/v1/things", headers={
        "X-Forwarded-For": "203.0.113.2"}).status_code == 200
    assert test_client.get("/v1/things", headers={
        "X-Forwarded-For": "203.0.113.1"}).status_code == 429


@pytest.mark.parametrize("forwarded, expected", [
    ("203.0.113.9", "203.0.113.9"),
    ("198.51.100.1, 203.0.113.9", "203.0.113.9"),
    ("203.0.113.9, 10.0.0.7", "203.0.113.9"),
    ("10.0.0.8, 10.0.0.7", "10.0.0.8"),
    ("", "10.0.0.5"),
])
def test_client_address_walks_forwarded_for(forwarded, expected):
    limiter = RateLimiter("1/minute", "1/minute", "1/minute", "10.0.0.0/8, 127.0.0.1")
    environ = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": forwarded}
    assert limiter.client_address(environ) == expected


def test_check_leaves_client_address_for_handlers():
    limiter = RateLimiter("5/minute", "5/minute", "5/minute", "10.0.0.0/8")
    environ = {"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.9",
               "REQUEST_METHOD": "POST", "PATH_INFO": "/v1/auth/token"}
    limiter.check(environ)
    assert environ[CLIENT_ADDRESS_ENVIRON] == "203.0.113.9"


def test_trusted_proxies_config_rejects_garbage():
    with pytest.raises(ConfigurationError) as caught:
        RateLimiter("1/minute", "1/minute", "1/minute", "10.0.0.0/8, proxy.local")
    assert "TRUSTED_PROXIES: 'proxy.local'" in str(caught.value)


@pytest.mark.parametrize("name", ["RATE_LIMIT_PER_ADDRESS", "RATE_LIMIT_AUTH"])
def test_rate_limit_config_rejects_garbage(name):
    with pytest.raises(ConfigurationError) as caught:
        RateLimiter.from_config({name: "lots"})
    assert f"{name}: 'lots' is not a rate limit" in str(caught.value)


def test_rate_limit_config_defaults():
    limiter = RateLimiter.from_config({"RATE_LIMIT_AUTH": ""})
    assert [str(rule.item) for rule in limiter.address_rules] == ["600 per 1 minute"]
    assert [str(rule.item) for rule in limiter.credential_rules] == ["1200 per 1 minute"]
    assert [str(rule.item) for rule in limiter.auth_rules] == ["10 per 1 minute"]


def test_rate_limit_per_credential():
    test_client = client(RATE_LIMIT_PER_CREDENTIAL="2/minute")
    alice = {"Authorization": "Bearer token-of-alice"}
    bob = {"X-Api-Key": "col_key_of_bob"}
    assert test_client.get("/v1/things", headers=alice).status_code == 200
    assert test_client.get("/v1/things", headers=alice).status_code == 200
    assert test_client.get("/v1/things", headers=bob).status_code == 200
    assert test_client.get("/v1/things", headers=alice).status_code == 429
    assert test_client.get("/v1/things").status_code == 200


def test_rate_limit_keeps_no_raw_credential():
    limiter = RateLimiter("100/minute", "100/minute", "100/minute")
    limiter.check({"REMOTE_ADDR": "198.51.100.3", "REQUEST_METHOD": "GET",
                   "PATH_INFO": "/v1/things", "HTTP_AUTHORIZATION": "Bearer s3cret"})
    keys = " ".join(limiter.window.storage.events)
    assert "s3cret" not in keys
    assert hashlib.sha256(b"Bearer s3cret").hexdigest() in keys
    assert credential_digest({"HTTP_X_API_KEY": " col_k "}) == \
        hashlib.sha256(b"col_k").hexdigest()


def test_rate_limit_auth_paths():
    test_client = client(RATE_LIMIT_AUTH="2/minute")
    statuses = [test_client.post("/v1/auth/token").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert test_client.get("/v1/things").status_code == 200
    rejected = test_client.post("/v1/auth/token")
    assert "sign-in and sign-up requests" in rejected.get_json()["detail"]


@pytest.mark.parametrize("method, path, counted", [
    ("POST", "/v1/auth/token", True),
    ("POST", "/v1/auth/password", True),
    ("POST", "/v1/cities/dallas/accounts", True),
    ("POST", "/v1/cities/dallas/accounts/abc/reset", True),
    ("GET", "/v1/auth/me", False),
    ("POST", "/v1/cities/dallas/accountsx", False),
    ("POST", "/v1/cities/dallas/registrations", False),
])
def test_rate_limit_auth_path_selection(method, path, counted):
    limiter = RateLimiter("100/minute", "100/minute", "1/minute")
    environ = {"REMOTE_ADDR": "198.51.100.4", "REQUEST_METHOD": method,
               "PATH_INFO": path}
    limiter.check(environ)
    assert limiter.check(environ).allowed is not counted

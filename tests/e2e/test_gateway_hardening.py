"""The served API document, security headers, CORS and rate limits, end to end.

The shared platform runs with rate limits too high to meet, because other tests
fire thousands of requests from loopback. So the rate-limit, CORS and HSTS
checks start a second gateway, with low limits, an allowed origin, an https
public URL and loopback as a trusted proxy, in front of the same services. Its
tests pick their client address with ``X-Forwarded-For``, so each test counts
in its own bucket.
"""

import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import jsonschema_rs
import pytest
import requests
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "https://app.example.org"
AUTH_LIMIT = 5
ADDRESS_LIMIT = 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_address() -> dict:
    """Headers that make the strict gateway count the request for a new client.

    The address is a random one of the IPv6 documentation prefix, 2001:db8::/32.
    """
    suffix = uuid.uuid4().hex
    return {"X-Forwarded-For": f"2001:db8::{suffix[:4]}:{suffix[4:8]}"}


@pytest.fixture(scope="module")
def strict_gateway(platform, tmp_path_factory):
    """A second gateway with low limits; return its URL."""
    port = free_port()
    env = {**platform["env"], "GATEWAY_ADDRESS": f"127.0.0.1:{port}",
           "PUBLIC_BASE_URL": "https://api.example.org",
           "METRICS_PORT": str(free_port()),
           "RATE_LIMIT_AUTH": f"{AUTH_LIMIT}/minute",
           "RATE_LIMIT_PER_ADDRESS": f"{ADDRESS_LIMIT}/minute",
           "RATE_LIMIT_PER_CREDENTIAL": f"{ADDRESS_LIMIT}/minute",
           "TRUSTED_PROXIES": "127.0.0.1", "CORS_ALLOWED_ORIGINS": ORIGIN}
    log_path = tmp_path_factory.mktemp("strict-gateway") / "gateway.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config",
             str(ROOT / "deploy" / "nameko.yml"), "gateway.service:GatewayService"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_serving(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_serving(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the strict gateway exited:\n{log_path.read_text()[-3000:]}")
        try:
            # Each probe counts against loopback's address limit.
            if requests.get(f"{url}/v1/openapi.json", timeout=5,
                            headers=client_address()).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the strict gateway did not serve within 60 s:\n"
                f"{log_path.read_text()[-3000:]}")


# The served document and page --------------------------------------------------

def test_openapi_json_served(platform):
    response = requests.get(f"{platform['url']}/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    document = response.json()
    assert list(OPENAPI_31_VALIDATOR.iter_errors(document)) == []
    assert document["servers"] == [{"url": platform["url"]}]
    assert "/v1/cities/{city}/opportunities" in document["paths"]
    assert "/v1/openapi.json" in document["paths"]
    for name, component in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(component), name


def test_docs_page_served(platform):
    response = requests.get(f"{platform['url']}/v1/docs", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "script" not in policy
    assert "<script" not in response.text.lower()
    assert 'id="op-search_opportunities"' in response.text


# Security headers ---------------------------------------------------------------

@pytest.mark.parametrize("method, path, status", [
    ("GET", "/v1/cities", 200),
    ("GET", "/v1/nowhere", 404),
    ("PUT", "/v1/cities", 405),
    ("GET", "/v1/cities/atlantis", 404),
])
def test_security_headers_on_every_response(platform, method, path, status):
    response = requests.request(method, f"{platform['url']}{path}", timeout=30)
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Content-Security-Policy"] == \
        "default-src 'none'; frame-ancestors 'none'"
    assert "Strict-Transport-Security" not in response.headers
    assert response.headers["X-Request-Id"]


def test_security_headers_no_store_with_credential(platform):
    response = requests.get(f"{platform['url']}/v1/cities", timeout=30,
                            headers={"X-Api-Key": "col_not_a_real_key"})
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_on_https_deployment(strict_gateway):
    response = requests.get(f"{strict_gateway}/v1/openapi.json", timeout=30,
                            headers=client_address())
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


# CORS ---------------------------------------------------------------------------

def test_cors_preflight_without_configured_origins(platform):
    response = requests.options(f"{platform['url']}/v1/cities", timeout=30, headers={
        "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert response.status_code == 204
    assert "Access-Control-Allow-Origin" not in response.headers
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_cors_preflight_allowed_origin(strict_gateway):
    response = requests.options(
        f"{strict_gateway}/v1/cities/dallas/registrations", timeout=30,
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type",
                 **client_address()})
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]


def test_cors_actual_response(strict_gateway):
    allowed = requests.get(f"{strict_gateway}/v1/cities", timeout=30,
                           headers={"Origin": ORIGIN, **client_address()})
    other = requests.get(f"{strict_gateway}/v1/cities", timeout=30,
                         headers={"Origin": "https://evil.example", **client_address()})
    assert allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Access-Control-Allow-Origin" not in other.headers
    assert "Access-Control-Allow-Credentials" not in allowed.headers


# Rate limits --------------------------------------------------------------------

def test_rate_limit_on_sign_in(strict_gateway):
    address = client_address()
    login = {"email": "nobody@example.org", "password": "not the password at all"}
    answers = [requests.post(f"{strict_gateway}/v1/auth/token", json=login,
                             headers=address, timeout=30)
               for _ in range(AUTH_LIMIT + 1)]
    assert [answer.status_code == 429 for answer in answers] == \
        [False] * AUTH_LIMIT + [True]
    rejected = answers[-1]
    assert rejected.headers["Content-Type"] == "application/problem+json"
    assert rejected.json()["type"].endswith("/too-many-requests")
    assert 1 <= int(rejected.headers["Retry-After"]) <= 60
    assert rejected.headers["RateLimit-Limit"] == str(AUTH_LIMIT)
    assert rejected.headers["RateLimit-Remaining"] == "0"
    # Another client, and reads of the same client, are not held back.
    assert requests.post(f"{strict_gateway}/v1/auth/token", json=login, timeout=30,
                         headers=client_address()).status_code != 429
    assert requests.get(f"{strict_gateway}/v1/cities", headers=address,
                        timeout=30).status_code == 200


def test_rate_limit_per_address(strict_gateway):
    address = client_address()
    statuses = [requests.get(f"{strict_gateway}/v1/openapi.json", headers=address,
                             timeout=30).status_code for _ in range(ADDRESS_LIMIT + 1)]
    assert statuses == [200] * ADDRESS_LIMIT + [429]


def test_rate_limit_headers_on_success(strict_gateway):
    response = requests.get(f"{strict_gateway}/v1/cities", headers=client_address(),
                            timeout=30)
    assert response.headers["RateLimit-Limit"] == str(ADDRESS_LIMIT)
    assert response.headers["RateLimit-Remaining"] == str(ADDRESS_LIMIT - 1)

"""The HTTP sender against real servers on loopback."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.notifications.transport import EXCERPT_BYTES, HttpSender
from tests.receiver import Receiver


def sender(timeout=2.0, resolver=None, allow_loopback=True):
    options = {"resolver": resolver} if resolver else {}
    return HttpSender(timeout, pool_size=2, allow_loopback=allow_loopback, **options)


class CannedServer:
    """Answer every POST with one fixed status, headers and body."""

    def __init__(self, status, body=b"", headers=None):
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_post_delivers_body_and_headers(receiver):
    result = sender().post(receiver.url, b'{"a":1}', {"webhook-id": "msg_1"})
    assert result.succeeded
    assert result.status_code == 204
    assert result.latency_ms > 0
    request = receiver.requests[0]
    assert request["body"] == '{"a":1}'
    assert request["headers"]["webhook-id"] == "msg_1"
    assert request["path"] == "/hooks"


def test_post_reports_failure_status(receiver):
    receiver.status = 500
    result = sender().post(receiver.url, b"{}", {})
    assert not result.succeeded
    assert result.status_code == 500
    assert result.response_excerpt == "ok"


def test_post_does_not_follow_redirect(receiver):
    redirect = CannedServer(302, headers={"location": receiver.url})
    try:
        result = sender().post(redirect.url, b"{}", {})
    finally:
        redirect.close()
    assert result.status_code == 302
    assert not result.succeeded
    assert receiver.requests == []


def test_post_truncates_response_excerpt():
    server = CannedServer(400, body=b"x" * (EXCERPT_BYTES * 4))
    try:
        result = sender().post(server.url, b"{}", {})
    finally:
        server.close()
    assert result.status_code == 400
    assert len(result.response_excerpt) == EXCERPT_BYTES


def test_post_times_out_on_slow_endpoint(receiver):
    receiver.delay = 2.0
    result = sender(timeout=0.3).post(receiver.url, b"{}", {})
    assert result.status_code is None
    assert "timed out" in result.error
    assert result.latency_ms < 1500


def test_post_reports_refused_connection(receiver):
    receiver.stop()
    result = sender().post(receiver.url, b"{}", {})
    assert result.status_code is None
    assert result.error


def test_post_connects_to_checked_address_with_host_header(receiver):
    resolver = {"partner.test": ["127.0.0.1"]}
    url = f"http://partner.test:{receiver.port}/hooks"
    result = sender(resolver=lambda host, port: resolver[host]).post(url, b"{}", {})
    assert result.succeeded
    assert receiver.requests[0]["headers"]["host"] == f"partner.test:{receiver.port}"


def test_post_rechecks_dns_before_sending(receiver):
    """A name that resolved to a public address may resolve to a private one later."""
    answers = {"rebind.test": ["10.0.0.7"]}
    url = f"http://rebind.test:{receiver.port}/hooks"
    result = sender(resolver=lambda host, port: answers[host]).post(url, b"{}", {})
    assert result.status_code is None
    assert result.error.startswith("unsafe URL")
    assert "10.0.0.7" in result.error
    assert receiver.requests == []


def test_post_rejects_loopback_unless_allowed(receiver):
    result = sender(allow_loopback=False).post(receiver.url, b"{}", {})
    assert result.status_code is None
    assert "loopback" in result.error
    assert receiver.requests == []

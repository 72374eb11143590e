"""A webhook receiver on loopback that records each request, for tests."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet


class Receiver:
    """Record POSTs; answer ``failures`` of them with 503 before accepting.

    ``status`` (default 204) is the answer after that; set it to 500 to fail every
    request. ``stop`` closes the port, so senders see a refused connection, and
    ``start`` opens the same port again. ``delay`` seconds are slept before
    responding, and ``max_concurrent`` is the most requests that were open at once.
    """

    def __init__(self, failures: int = 0, status: int = 204, delay: float = 0.0,
                 port: int = 0):
        self.requests: list[dict] = []
        self.failures = failures
        self.status = status
        self.delay = delay
        self.port = port
        self.open_requests = 0
        self.max_concurrent = 0
        self._lock = threading.Lock()
        self.server = None
        self.thread = None
        self.start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.open_requests += 1
                    receiver.max_concurrent = max(receiver.max_concurrent,
                                                  receiver.open_requests)
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver._lock:
                    receiver.open_requests -= 1
                failing = receiver.failures > 0
                if failing:
                    receiver.failures -= 1
                status = 503 if failing else receiver.status
                receiver.requests.append({"headers": dict(self.headers.items()),
                                          "body": body.decode(), "status": status,
                                          "path": self.path, "at": time.time()})
                # A 204 response has no body (RFC 9110, section 15.3.5).
                body = b"" if status == 204 else b"ok"
                self.send_response(status)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler

    def start(self) -> None:
        """Listen (again) on ``self.port``; the first start picks a free port."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def accepted(self) -> list[dict]:
        return [item for item in self.requests if 200 <= item["status"] < 300]

    def events(self) -> list[dict]:
        """Return the CloudEvents of every request, accepted or not."""
        return [json.loads(item["body"]) for item in list(self.requests)]

    def wait_for(self, predicate, timeout: float = 30.0) -> list[dict]:
        with eventlet.Timeout(timeout, False):
            while not predicate(self.events()):
                eventlet.sleep(0.1)
        return self.events()

    def close(self) -> None:
        self.stop()

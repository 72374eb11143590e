"""A webhook receiver on loopback that records each request, for tests."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import eventlet


class Receiver:
    """Record POSTs; answer ``failures`` of them with 503 before accepting."""

    def __init__(self, failures: int = 0):
        self.requests: list[dict] = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append({"headers": dict(self.headers.items()),
                                          "body": body.decode()})
                failing = receiver.failures > 0
                if failing:
                    receiver.failures -= 1
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def events(self) -> list[dict]:
        return [json.loads(item["body"]) for item in self.requests]

    def wait_for(self, predicate, timeout: float = 30.0) -> list[dict]:
        with eventlet.Timeout(timeout, False):
            while not predicate(self.events()):
                eventlet.sleep(0.1)
        return self.events()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

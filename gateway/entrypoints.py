"""An HTTP entrypoint that puts the city and a request id into the worker's context.

nameko copies a worker's context data into the headers of every RPC call it makes,
so setting ``city`` and ``request_id`` here is enough for every service downstream
to scope its queries and tag its log lines.
"""

import json
import logging
import socket
import uuid
from functools import partial

import eventlet
from eventlet import wsgi
from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import HttpOnlyProtocol, WebServer, WsgiApp
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from cities_common.context import CITY_KEY, REQUEST_ID_KEY
from gateway.errors import TABLE, BadRequest, problem_response
from gateway.headers import Cors, SecurityHeaders
from gateway.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# WSGI environ key of the request id chosen for the request.
REQUEST_ID_ENVIRON = "gateway.request_id"
# Connections the kernel queues for the gateway before it accepts them.
LISTEN_BACKLOG = 2048
# Maximum request line (method, URL and version) the gateway reads, in bytes.
MAX_REQUEST_LINE = 64 * 1024


def check_path_values(values: dict) -> None:
    """Reject path values with control characters or of absurd length.

    Such a value can never name a record, and PostgreSQL, under FerretDB,
    rejects NUL in a query outright.
    """
    for name, value in values.items():
        if not isinstance(value, str):
            continue
        if len(value) > MAX_PATH_VALUE_LENGTH:
            raise BadRequest({name: [f"must be at most {MAX_PATH_VALUE_LENGTH} characters"]})
        if any(ord(char) < 32 or ord(char) == 127 for char in value):
            raise BadRequest({name: ["contains a control character"]})


def request_id_from(request) -> str:
    """Reuse the caller's request id when it is a plain token; otherwise make one.

    ``ProblemWsgiApp`` picks the id first and keeps it in the WSGI environ, so the
    handler's worker and the response headers carry the same id.
    """
    chosen = request.environ.get(REQUEST_ID_ENVIRON)
    if chosen:
        return chosen
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if 8 <= len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex


# Path values longer than this are rejected before any service is called; ids
# and city slugs are at most 100 characters.
MAX_PATH_VALUE_LENGTH = 200

# Errors that a client causes. nameko logs these as one warning line instead of
# an error with a traceback.
CLIENT_ERRORS = tuple(error for error, (status, _, _) in TABLE.items() if status < 500)


class ProblemWsgiApp(WsgiApp):
    """The WSGI app of nameko's web server: rate limits, routing and response headers.

    Every response passes through ``__call__``, including problem responses for
    unknown paths and methods, preflight responses and 429s. So the security,
    CORS and ``RateLimit-*`` headers are added here.
    """

    def __init__(self, server):
        super().__init__(server)
        config = server.container.config
        self.rate_limiter = RateLimiter.from_config(config)
        self.security_headers = SecurityHeaders.from_config(config)
        self.cors = Cors.from_config(config)

    def __call__(self, environ, start_response):
        # eventlet's server decodes chunked request bodies but does not tell
        # werkzeug, which then reads such a body as empty.
        if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
            environ["wsgi.input_terminated"] = True
        request = Request(environ, shallow=True)
        request_id = request_id_from(request)
        environ[REQUEST_ID_ENVIRON] = request_id
        decision = self.rate_limiter.check(environ)
        if decision.allowed:
            response = self.dispatch(request, request_id)
        else:
            response = self.rate_limiter.rejection(decision, request_id)
        decision.apply_headers(response)
        self.security_headers.apply(request, response)
        self.cors.apply(request, response)
        response.headers.setdefault(REQUEST_ID_HEADER, request_id)
        return response(environ, start_response)

    def dispatch(self, request, request_id: str):
        """Route the request to its entrypoint, or respond to OPTIONS or a bad route."""
        adapter = self.url_map.bind_to_environ(request.environ)
        if request.method == "OPTIONS":
            methods = adapter.allowed_methods()
            if methods:
                return self.cors.preflight(request, methods)
        try:
            provider, values = adapter.match()
        except HTTPException as exc:
            response = problem_response(exc, request_id)
            if exc.code == 405 and getattr(exc, "valid_methods", None):
                response.headers["Allow"] = ", ".join(sorted(exc.valid_methods))
            return response
        request.path_values = values
        return provider.handle_request(request)


class ProblemWebServer(WebServer):
    """nameko's shared web server with ``ProblemWsgiApp`` as its application."""

    def get_wsgi_app(self):
        return ProblemWsgiApp(self)

    def start(self):
        # nameko listens with eventlet's default backlog of 50 connections. When
        # 1,000 clients connected at once (tests/e2e/test_registration.py), the
        # kernel reset some of them. The kernel caps the backlog at
        # net.core.somaxconn.
        if not self._starting:
            self._starting = True
            self._sock = eventlet.listen(self.bind_addr, backlog=LISTEN_BACKLOG)
            self._sock.settimeout(None)
            self._serv = self.get_wsgi_server(self._sock, self.get_wsgi_app())
            self._gt = self.container.spawn_managed_thread(self.run)

    def get_wsgi_server(self, sock, wsgi_app, protocol=HttpOnlyProtocol, debug=False):
        # eventlet rejects a request line over 8 KiB itself with a bare 414. A
        # long query (a cursor near its 1,200-character cap, percent-encoded)
        # can pass that, so the limit is raised and the gateway's own validation
        # returns a 400 that names the parameter.
        return wsgi.Server(sock, sock.getsockname(), wsgi_app, protocol=protocol,
                           debug=debug, log=logging.getLogger("nameko.web.server"),
                           url_length_limit=MAX_REQUEST_LINE)

    def process_request(self, sock, address):
        # eventlet's WSGI server buffers 16 KiB of output, so a larger response
        # leaves in two writes, headers and then body. With Nagle's algorithm on,
        # the body waits for the client's delayed ACK of the headers, about 40 ms
        # on Linux. bench/search measured that delay on search pages of 20 results.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(sock, address)


class CityHttpEntrypoint(HttpRequestHandler):
    """``http`` entrypoint whose workers carry the path's city and a request id."""

    server = ProblemWebServer()

    def __init__(self, method, url, expected_exceptions=CLIENT_ERRORS, **kwargs):
        super().__init__(method, url, expected_exceptions=expected_exceptions, **kwargs)

    def handle_request(self, request):
        request.shallow = False
        request_id = request_id_from(request)
        context_data = {REQUEST_ID_KEY: request_id}
        if "city" in request.path_values:
            context_data[CITY_KEY] = request.path_values["city"]
        try:
            check_path_values(request.path_values)
            args, kwargs = self.get_entrypoint_parameters(request)
            self.check_signature(args, kwargs)
            event = Event()
            self.container.spawn_worker(self, args, kwargs, context_data=context_data,
                                        handle_result=partial(self.handle_result, event))
            result = event.wait()
            response = self.response_from_result(result)
        except Exception as exc:
            response = self.response_from_exception(exc, request_id)
        response.headers[REQUEST_ID_HEADER] = request_id
        return response

    def response_from_result(self, result):
        if isinstance(result, Response):
            return result
        status, payload = result if isinstance(result, tuple) else (200, result)
        return Response(json.dumps(payload, default=str), status=status,
                        mimetype="application/json")

    def response_from_exception(self, exc, request_id=None):
        return problem_response(exc, request_id)


http = CityHttpEntrypoint.decorator

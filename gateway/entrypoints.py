"""An HTTP entrypoint that puts the city and a request id into the worker's context.

nameko copies a worker's context data into the headers of every RPC call it makes,
so setting ``city`` and ``request_id`` here is enough for every service downstream
to scope its queries and tag its log lines.
"""

import json
import logging
import uuid
from functools import partial

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from cities_common.context import CITY_KEY, REQUEST_ID_KEY
from gateway.errors import problem_response

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"


def request_id_from(request) -> str:
    """Reuse the caller's request id when it is a plain token; otherwise make one."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if 8 <= len(given) <= 64 and given.replace("-", "").isalnum():
        return given
    return uuid.uuid4().hex


class CityHttpEntrypoint(HttpRequestHandler):
    """``http`` entrypoint whose workers carry the path's city and a request id."""

    def handle_request(self, request):
        request.shallow = False
        request_id = request_id_from(request)
        context_data = {REQUEST_ID_KEY: request_id}
        if "city" in request.path_values:
            context_data[CITY_KEY] = request.path_values["city"]
        try:
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

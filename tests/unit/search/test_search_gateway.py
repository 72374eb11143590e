"""The gateway's side of search: query-string parsing and the 503 response."""

import json
import socket

import pytest
from werkzeug.datastructures import MultiDict

from cities_common.errors import StoreUnavailable
from gateway.entrypoints import ProblemWebServer
from gateway.errors import BadRequest, problem_response
from gateway.schemas import query_parameters


def test_query_parameters_lists_repeat_or_comma():
    args = MultiDict([("interest", "media"), ("interests", "zoology, numbers"),
                      ("format", "online,hybrid"), ("language", "es")])
    query = query_parameters(args)
    assert query["interests"] == ["media", "zoology", "numbers"]
    assert query["format"] == ["online", "hybrid"]
    assert query["language"] == ["es"]


def test_query_parameters_provider_keeps_commas():
    args = MultiDict([("provider", "Language Ladders, Inc"), ("provider", "FUSE")])
    assert query_parameters(args)["provider"] == ["Language Ladders, Inc", "FUSE"]


@pytest.mark.parametrize("value, expected", [("true", True), ("1", True),
                                             ("FALSE", False), ("0", False)])
def test_query_parameters_booleans(value, expected):
    query = query_parameters(MultiDict([("registration_open", value)]))
    assert query["registration_open"] is expected


def test_query_parameters_bad_boolean_names_parameter():
    with pytest.raises(BadRequest) as raised:
        query_parameters(MultiDict([("free", "maybe")]))
    assert "free" in raised.value.errors


def test_query_parameters_scalar_given_twice():
    with pytest.raises(BadRequest) as raised:
        query_parameters(MultiDict([("lat", "1"), ("lat", "2")]))
    assert "lat" in raised.value.errors


def test_store_unavailable_is_503_with_retry_after():
    response = problem_response(StoreUnavailable("the search index is unreachable; "
                                                 "retry later"), "req-1")
    body = json.loads(response.get_data())
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.mimetype == "application/problem+json"
    assert body["detail"] == "the search index is unreachable; retry later"
    assert body["request_id"] == "req-1"


class RecordingWsgiServer:
    def __init__(self):
        self.requests = []

    def process_request(self, connection):
        self.requests.append(connection)


def test_web_server_disables_nagle():
    server = ProblemWebServer()
    server._serv = RecordingWsgiServer()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        with socket.create_connection(listener.getsockname()):
            connection, address = listener.accept()
            with connection:
                server.process_request(connection, address)
                assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert len(server._serv.requests) == 1

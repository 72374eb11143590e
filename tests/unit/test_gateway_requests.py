"""Request body and path checks of the gateway, before any service is called."""

import io
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.entrypoints import MAX_PATH_VALUE_LENGTH, check_path_values
from gateway.errors import BadRequest, PayloadTooLarge, problem_response
from gateway.requests import MAX_BODY_BYTES, json_body, optional_json_body


def make_request(data: bytes, headers=None) -> Request:
    builder = EnvironBuilder(method="POST", input_stream=io.BytesIO(data),
                             headers=headers or {"Content-Length": str(len(data))})
    return Request(builder.get_environ())


def errors_of(data: bytes) -> dict:
    with pytest.raises(BadRequest) as caught:
        json_body(make_request(data))
    return caught.value.errors


def test_json_body_parses_object():
    assert json_body(make_request(b'{"a": [1, {"b": "c"}]}')) == {"a": [1, {"b": "c"}]}


def test_json_body_missing():
    assert errors_of(b"") == {"body": ["is missing: send a JSON object"]}


def test_optional_body_empty_is_none():
    assert optional_json_body(make_request(b"  ")) is None


@pytest.mark.parametrize("data, field, fragment", [
    (b"[1]", "body", "must be a JSON object"),
    (b"{not json", "body", "is not valid JSON"),
    (b"[" * 60000, "body", "nested more than"),
    (b'{"a": {"b": "x\\u0000y"}}', "a.b", "NUL character"),
    (b'{"a": ["ok", "\\ud800"]}', "a[1]", "unpaired UTF-16 surrogate"),
    (b'{"k\\u0000": 1}', "k\x00", "NUL character"),
])
def test_json_body_rejects(data, field, fragment):
    errors = errors_of(data)
    assert list(errors) == [field]
    assert fragment in errors[field][0]


def test_json_body_depth_limit_names_field():
    nested = {"a": 1}
    for _ in range(40):
        nested = {"n": nested}
    errors = errors_of(json.dumps(nested).encode())
    assert "nested more than" in next(iter(errors.values()))[0]


def test_json_body_size_limit_by_header():
    data = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
    with pytest.raises(PayloadTooLarge) as caught:
        json_body(make_request(data))
    response = problem_response(caught.value, "req-1")
    assert response.status_code == 413
    assert f"at most {MAX_BODY_BYTES} bytes" in json.loads(response.get_data())["detail"]


def test_json_body_is_parsed_once_and_kept():
    request = make_request(b'{"a": 1}')
    assert json_body(request) is json_body(request)


def test_json_body_size_limit_without_header():
    data = b'{"a": "' + b"x" * MAX_BODY_BYTES + b'"}'
    request = make_request(data, headers={"Transfer-Encoding": "chunked"})
    request.environ["wsgi.input_terminated"] = True
    with pytest.raises(PayloadTooLarge):
        json_body(request)


@pytest.mark.parametrize("value, fragment", [
    ("a\x00b", "control character"),
    ("line\nbreak", "control character"),
    ("x" * (MAX_PATH_VALUE_LENGTH + 1), "at most"),
])
def test_path_values_rejected(value, fragment):
    with pytest.raises(BadRequest) as caught:
        check_path_values({"city": "chicago", "opportunity_id": value})
    assert fragment in caught.value.errors["opportunity_id"][0]


def test_path_values_accepted():
    check_path_values({"city": "chicago", "opportunity_id": "opp-1f2e", "page": 3})

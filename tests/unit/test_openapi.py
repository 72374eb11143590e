"""The gateway's OpenAPI document: valid, complete, and true to the handlers' code."""

import base64
import hashlib
import re

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from gateway import openapi
from gateway.apidoc import build_document, error_statuses, http_routes
from gateway.docs_page import STYLE, content_security_policy, render_page
from gateway.entrypoints import http
from gateway.service import GatewayService

ROUTES = http_routes(GatewayService)
BODY_READERS = ("json_body(", "optional_body(", "optional_json_body(")
QUERY_READERS = (r'request\.args\.get\("(\w+)"', r'integer_parameter\(request, "(\w+)"')
STATUS_LITERALS = (r"return \(?(\d{3})\b", r"\((\d{3}) if ", r"else (\d{3})\)",
                   r"status=(\d{3})")


@pytest.fixture(scope="module")
def document():
    return build_document(GatewayService, "http://127.0.0.1:8000")


def operation_of(document, route) -> dict:
    return document["paths"][route.path][route.method.lower()]


def test_openapi_document_is_valid(document):
    errors = [f"{error.instance_path}: {error.message}"
              for error in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []
    assert document["openapi"] == "3.1.0"


def test_openapi_component_schemas_are_valid_json_schema(document):
    invalid = [name for name, schema in document["components"]["schemas"].items()
               if not jsonschema_rs.meta.is_valid(schema)]
    assert invalid == []


def test_openapi_component_names_are_unique(document):
    # apispec appends a digit when two schemas resolve to one name.
    assert [name for name in document["components"]["schemas"]
            if re.search(r"\d$", name)] == []


def test_openapi_has_every_route(document):
    missing = [f"{route.method} {route.path}" for route in ROUTES
               if route.method.lower() not in document["paths"].get(route.path, {})]
    assert missing == []
    documented = sum(len(item) for item in document["paths"].values())
    assert documented == len(ROUTES)


def test_openapi_operation_ids_are_handler_names(document):
    for route in ROUTES:
        assert operation_of(document, route)["operationId"] == route.name


def test_openapi_declares_every_path_parameter(document):
    for path, item in document["paths"].items():
        in_path = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            declared = {parameter["name"] for parameter in operation["parameters"]
                        if parameter["in"] == "path"}
            assert declared == in_path, f"{method.upper()} {path}"


def test_openapi_maps_every_json_body(document):
    readers = [route.name for route in ROUTES
               if any(reader in route.source for reader in BODY_READERS)]
    unmapped = [name for name in readers
                if (openapi.SCHEMAS.get(name) or (None,))[0] is None]
    assert unmapped == [], "add these handlers' request schemas to gateway/openapi.py"
    for route in ROUTES:
        if route.name in readers:
            assert "requestBody" in operation_of(document, route), route.name


def test_openapi_documents_every_query_parameter(document):
    for route in ROUTES:
        read = {name for pattern in QUERY_READERS
                for name in re.findall(pattern, route.source)}
        documented = {parameter["name"] for parameter in
                      operation_of(document, route)["parameters"]
                      if parameter["in"] == "query"}
        assert read <= documented, f"{route.name} reads {sorted(read - documented)}"


def test_openapi_maps_whole_query_readers():
    # These handlers pass every query parameter on, so a schema must list them.
    for route in ROUTES:
        if "query_parameters(request.args)" in route.source or \
                "request.args.to_dict()" in route.source:
            assert route.name in openapi.QUERY, route.name


def test_openapi_documents_success_statuses(document):
    for route in ROUTES:
        statuses = {status for pattern in STATUS_LITERALS
                    for status in re.findall(pattern, route.source)}
        documented = set(operation_of(document, route)["responses"])
        assert statuses <= documented, f"{route.name} returns {sorted(statuses)}"


def test_openapi_security_follows_access(document):
    schemes = set(document["components"]["securitySchemes"])
    for route in ROUTES:
        operation = operation_of(document, route)
        access = route.access
        if access is None:
            assert "security" not in operation
            continue
        assert operation["security"] == list(access.security)
        for requirement in operation["security"]:
            assert set(requirement) <= schemes, route.name
        unauthenticated = {"401", "403"} & set(operation["responses"])
        if access.name == "public" and route.name not in openapi.EXTRA_ERRORS:
            assert operation["security"] == [], route.name
            assert unauthenticated == set(), route.name
        elif access.name != "public":
            assert unauthenticated == {"401", "403"}, route.name


def test_openapi_errors_are_problems(document):
    responses = document["components"]["responses"]
    for route in ROUTES:
        for status, response in operation_of(document, route)["responses"].items():
            if int(status) >= 400 and "$ref" in response:
                name = response["$ref"].rsplit("/", 1)[-1]
                content = responses[name]["content"]
                assert list(content) == ["application/problem+json"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "request_id", "errors",
            "reason"} <= set(problem["properties"])


def test_openapi_rate_limit_response_has_headers(document):
    headers = document["components"]["responses"]["Problem429"]["headers"]
    assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
            "RateLimit-Reset"} == set(headers)
    for route in ROUTES:
        assert "429" in operation_of(document, route)["responses"], route.name


def test_openapi_city_routes_answer_404_and_410(document):
    for route in ROUTES:
        if "city" in route.path_parameters:
            assert {"404", "410"} <= set(operation_of(document, route)["responses"])


def test_openapi_session_times_have_pattern(document):
    session = document["components"]["schemas"]["catalog.Session"]
    assert session["properties"]["start"]["pattern"] == \
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$"


def test_openapi_query_parameters_are_never_null(document):
    for path, item in document["paths"].items():
        for operation in item.values():
            for parameter in operation["parameters"]:
                kind = parameter["schema"].get("type")
                assert kind != "null" and "null" not in (kind or []), \
                    f"{path} {parameter['name']}"


class Unguarded:
    """Routes declared with plain ``http``, before access policies existed."""

    @http("GET", "/v1/cities/<string:city>/things/<int:thing_id>")
    def get_thing(self, request, city, thing_id):
        """Return a thing.

        Things are small.
        """


def test_apidoc_without_access_policy():
    document = build_document(Unguarded)
    operation = document["paths"]["/v1/cities/{city}/things/{thing_id}"]["get"]
    assert "security" not in operation
    assert {"401", "403", "404", "429"} <= set(operation["responses"])
    assert operation["summary"] == "Return a thing."
    assert operation["description"] == "Things are small."
    assert document["servers"] == []
    route = http_routes(Unguarded)[0]
    assert 503 not in error_statuses(route)


def test_docs_page_lists_every_operation(document):
    page = render_page(document)
    for route in ROUTES:
        assert f'id="op-{route.name}"' in page, route.name
    assert 'id="schema-Problem"' in page


def test_docs_page_loads_nothing_external(document):
    page = render_page(document).lower()
    assert "<script" not in page
    assert "<link" not in page
    assert not re.search(r'src=|url\(|@import', page)


def test_docs_page_csp_allows_only_its_style():
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    policy = content_security_policy()
    assert f"style-src 'sha256-{digest}'" in policy
    assert policy.startswith("default-src 'none';")
    assert "frame-ancestors 'none'" in policy

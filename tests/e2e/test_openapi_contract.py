"""Property-based contract tests of every operation in the gateway's OpenAPI document.

schemathesis generates requests from the document (valid ones and invalid ones),
sends them to the running test platform and checks each response: no 5xx, a
status the document lists, and a body that matches the documented schema. Every
operation is tested, none is excluded.

The cases come from the document built in this process by the code that builds
the served one, because schemathesis 4.32.5's fixture loader
(``schemathesis.pytest.from_fixture``) fails on pytest 9 with "'Function' object
has no attribute '_nodeid'". ``test_served_document_is_the_tested_one`` checks
that ``/v1/openapi.json`` serves that same document.

Each request carries the token of an operator of this module's own, so that
routes needing a credential are exercised past their 401 response; other
modules' accounts are never touched. An operator may archive cities, so those
requests name cities that this module onboards for itself, never the seeded
cities that other tests use. ``POST /v1/auth/logout`` is sent without the token,
because ending the operator's session would turn every later case into a 401.
"""

import json
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance, status_code_conformance,
)

from gateway.apidoc import build_document
from gateway.service import GatewayService
from tests.e2e.accounts import seed_city

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# About 100 operations; with this many generated requests each, the run takes a
# few minutes on a 2-core machine.
EXAMPLES_PER_OPERATION = 6
DOCUMENT = build_document(GatewayService)

# POST /v1/cities/{city}/badges/verify takes signed tokens as text.
schemathesis.serializer.alias(["application/jose", "application/jwt",
                               "application/vc+jwt"], "text/plain")
schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": 20260101,
    "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True},
}))


def test_served_document_is_the_tested_one(platform):
    served = requests.get(f"{platform['url']}/v1/openapi.json", timeout=30).json()
    assert served.pop("servers") == [{"url": platform["url"]}]
    built = json.loads(json.dumps(DOCUMENT))
    built.pop("servers")
    assert served == built


@pytest.fixture(scope="module")
def operator(platform):
    """Return the headers of an operator of this module and two cities of its own."""
    headers = platform["accounts"].new_operator(
        f"contract-{uuid.uuid4().hex[:8]}@example.org").headers
    cities = {}
    for purpose in ("routes", "archive"):
        slug = f"contract-{purpose}-{uuid.uuid4().hex[:6]}"
        body = {**seed_city("pittsburgh"), "slug": slug, "name": f"Contract {slug}"}
        response = requests.post(f"{platform['url']}/v1/cities", json=body,
                                 headers=headers, timeout=60)
        assert response.status_code == 201, response.text
        cities[purpose] = slug
    return {"headers": headers, "cities": cities}


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
          database=None, suppress_health_check=list(HealthCheck))
def test_openapi_contract(case, platform, operator):
    headers = {}
    if case.operation.path != "/v1/auth/logout":
        headers = operator["headers"]
        if "city" in (case.path_parameters or {}):
            # An archived city returns 410 to every later request, so archiving
            # uses a city of its own.
            archives = case.operation.path.endswith("/archive")
            case.path_parameters["city"] = operator["cities"][
                "archive" if archives else "routes"]
    case.call_and_validate(base_url=platform["url"], headers=headers, checks=CHECKS,
                           timeout=30)

"""The gateway's access policies, with stand-ins returning the services' replies."""

import io
import json

import pytest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from cities_common.errors import Forbidden, NotFound, Unauthenticated
from gateway.access import (
    CITY_ADMIN, OPERATOR, OPPORTUNITY_STAFF, PUBLIC, SIGNED_IN, STAFF, YOUTH_OWNER,
    BadgeStaff, Caller, OrgAdmin, Partner, Principal, RegistrationParty, catalog_account,
    credential_of, partner_organization,
)
from gateway.errors import BadRequest
from gateway.service import GatewayService
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR


def grant(city, role, scope, catalog_account_id=None):
    return {"city": city, "role": role, "scope_id": scope,
            "catalog_account_id": catalog_account_id}


ACCOUNTS = {
    "operator-token": {"kind": "account", "account_id": "op", "operator": True,
                       "grants": []},
    "admin-token": {"kind": "account", "account_id": "adm", "grants": [
        grant("chicago", "city_admin", "chicago", "cat-admin")]},
    "staff-token": {"kind": "account", "account_id": "stf", "grants": [
        grant("chicago", "org_staff", "org-a", "cat-staff")]},
    "two-orgs-token": {"kind": "account", "account_id": "two", "grants": [
        grant("chicago", "org_admin", "org-a", "cat-a"),
        grant("chicago", "org_admin", "org-b", "cat-b")]},
    "youth-token": {"kind": "account", "account_id": "yth", "grants": [
        grant("chicago", "youth", "y-1")]},
    "guardian-token": {"kind": "account", "account_id": "grd", "grants": [
        grant("chicago", "guardian", "y-2"), grant("dallas", "guardian", "y-9")]},
    "nobody-token": {"kind": "account", "account_id": "nb", "grants": []},
    "col_key": {"kind": "api_key", "key_id": "k1", "city": "chicago",
                "organization_id": "org-a", "scopes": ["webhooks:read"]},
}


class Proxy:
    def __init__(self, answers):
        self.answers = answers

    def __getattr__(self, name):
        return lambda *args: self.answers[(name,) + args]


class Service:
    identity_rpc = None

    def __init__(self):
        def authenticate(credential):
            if credential not in ACCOUNTS:
                raise Unauthenticated("the access token expired")
            return ACCOUNTS[credential]

        self.identity_rpc = type("Identity", (), {"authenticate": staticmethod(
            authenticate)})()
        self.catalog_rpc = Proxy({
            ("access_facts", "opportunity", "opp-a"): {"organization_id": "org-a"},
            ("access_facts", "opportunity", "opp-b"): {"organization_id": "org-b"},
        })
        self.registration_rpc = Proxy({
            ("access_facts", "registration", "reg-1"): {
                "youth_id": "y-1", "opportunity_id": "opp-a"},
            ("access_facts", "registration", "reg-2"): {
                "youth_id": "y-2", "opportunity_id": "opp-b"},
        })
        self.badges_rpc = Proxy({
            ("access_facts", "badge_class", "class-a"): {"organization_id": "org-a"},
            ("access_facts", "badge_class", "class-city"): {"organization_id": None},
        })


def request_with(token=None, body=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else b""
    headers["Content-Length"] = str(len(data))
    request = Request(EnvironBuilder(method="POST", input_stream=io.BytesIO(data),
                                     headers=headers).get_environ())
    request.caller = Caller(Service(), request)
    return request


def outcome(policy, token, values=None, body=None, headers=None):
    """Return "ok" or the name of the error the policy raises."""
    values = {"city": "chicago", **(values or {})}
    try:
        policy.check(Service(), request_with(token, body, headers), values)
    except (Unauthenticated, Forbidden, NotFound, BadRequest) as exc:
        return type(exc).__name__
    return "ok"


@pytest.mark.parametrize("policy, values, expected", [
    (PUBLIC, {}, {None: "ok", "youth-token": "ok"}),
    (SIGNED_IN, {}, {None: "Unauthenticated", "nobody-token": "ok",
                     "col_key": "Forbidden", "bad-token": "Unauthenticated"}),
    (OPERATOR, {}, {None: "Unauthenticated", "operator-token": "ok",
                    "admin-token": "Forbidden"}),
    (CITY_ADMIN, {}, {"operator-token": "ok", "admin-token": "ok",
                      "staff-token": "Forbidden"}),
    (STAFF, {}, {"admin-token": "ok", "staff-token": "ok", "youth-token": "Forbidden",
                 "operator-token": "Forbidden"}),
    (YOUTH_OWNER, {"youth_id": "y-1"}, {"youth-token": "ok", "guardian-token": "NotFound",
                                        "admin-token": "NotFound",
                                        None: "Unauthenticated"}),
    (YOUTH_OWNER, {"youth_id": "y-2"}, {"guardian-token": "ok", "youth-token": "NotFound"}),
    (OPPORTUNITY_STAFF, {"opportunity_id": "opp-a"}, {
        "staff-token": "ok", "admin-token": "ok", "youth-token": "Forbidden"}),
    (OPPORTUNITY_STAFF, {"opportunity_id": "opp-b"}, {"staff-token": "Forbidden"}),
    (RegistrationParty(), {"registration_id": "reg-1"}, {
        "youth-token": "ok", "staff-token": "ok", "guardian-token": "NotFound",
        "admin-token": "ok"}),
    (RegistrationParty(("staff",)), {"registration_id": "reg-1"}, {
        "youth-token": "Forbidden", "staff-token": "ok"}),
    (RegistrationParty(), {"registration_id": "reg-2"}, {
        "guardian-token": "ok", "staff-token": "NotFound"}),
    (BadgeStaff("badge_class", parameter="class_id"), {"class_id": "class-a"}, {
        "staff-token": "ok", "two-orgs-token": "ok", "youth-token": "Forbidden"}),
    (BadgeStaff("badge_class", parameter="class_id"), {"class_id": "class-city"}, {
        "staff-token": "Forbidden", "admin-token": "ok"}),
    (OrgAdmin(), {"organization_id": "org-a"}, {
        "two-orgs-token": "ok", "staff-token": "Forbidden", "admin-token": "ok"}),
    (Partner("webhooks:read"), {}, {"col_key": "ok", "staff-token": "Forbidden",
                                    "two-orgs-token": "BadRequest"}),
    (Partner("webhooks:write"), {}, {"col_key": "Forbidden"}),
])
def test_policy_matrix(policy, values, expected):
    for token, result in expected.items():
        assert outcome(policy, token, values) == result, (policy, token)


def test_other_city_grants_do_not_count():
    assert outcome(YOUTH_OWNER, "guardian-token", {"city": "dallas",
                                                   "youth_id": "y-2"}) == "NotFound"
    assert outcome(YOUTH_OWNER, "guardian-token", {"city": "dallas",
                                                   "youth_id": "y-9"}) == "ok"
    assert outcome(CITY_ADMIN, "admin-token", {"city": "dallas"}) == "Forbidden"


def test_api_key_of_another_city_is_refused():
    request = request_with("col_key")
    with pytest.raises(Forbidden, match="another city"):
        partner_organization(request, "dallas", "webhooks:read")


def test_youth_named_in_body():
    policy = YOUTH_OWNER.__class__(body_field="youth_id")
    assert outcome(policy, "youth-token", body={"youth_id": "y-1"}) == "ok"
    assert outcome(policy, "youth-token", body={"youth_id": "y-2"}) == "NotFound"
    assert outcome(policy, "youth-token", body={}) == "BadRequest"


def test_member_of_two_organisations_names_one():
    request = request_with("two-orgs-token", headers={"X-Organization-Id": "org-b"})
    assert catalog_account(request, "chicago") == "cat-b"
    with pytest.raises(BadRequest):
        catalog_account(request_with("two-orgs-token"), "chicago")
    assert catalog_account(request_with("two-orgs-token"), "chicago", "org-a") == "cat-a"
    request = request_with("two-orgs-token", headers={"X-Organization-Id": "org-z"})
    with pytest.raises(Forbidden):
        catalog_account(request, "chicago")


@pytest.mark.parametrize("headers, expected", [
    ({}, None),
    ({"Authorization": "Bearer abc"}, "abc"),
    ({"Authorization": "bearer  abc "}, "abc"),
    ({"X-Api-Key": "col_x_y"}, "col_x_y"),
])
def test_credential_of(headers, expected):
    assert credential_of(request_with(headers=headers)) == expected


@pytest.mark.parametrize("header", ["Basic dXNlcjpwdw==", "Bearer", "Bearer " + "a" * 5000,
                                    "Bearer tökén"])
def test_malformed_credentials_are_refused(header):
    with pytest.raises(Unauthenticated):
        credential_of(request_with(headers={"Authorization": header}))


def test_principal_from_identity():
    principal = Principal.from_identity(ACCOUNTS["col_key"])
    assert (principal.kind, principal.key_organization_id) == ("api_key", "org-a")
    assert not principal.is_account


def test_every_route_declares_a_policy():
    routes = [name for name in dir(GatewayService)
              if getattr(getattr(GatewayService, name), ENTRYPOINT_EXTENSIONS_ATTR, None)]
    assert len(routes) > 90
    assert [name for name in routes
            if not hasattr(getattr(GatewayService, name), "access")] == []


def test_access_page_lists_every_route():
    from pathlib import Path

    from gateway.access_table import BEGIN, END, table
    page = (Path(__file__).resolve().parents[2] / "docs" / "access.md").read_text()
    embedded = page.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert embedded == table(GatewayService), \
        "docs/access.md is stale: regenerate it with python -m gateway.access_table"

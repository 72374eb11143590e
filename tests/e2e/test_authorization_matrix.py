"""Every gateway route, called by every role, on its own and on others' records.

The test builds one small world in Chicago. Its people are a city admin, the
org admins of two partner organisations (A and B), a staff member of A, a youth
who signed up for themself, a guardian of two other youth, a stranger with no
role and the operator; A also has an API key. A publishes an opportunity, both youth
register, A issues a badge, and A subscribes a webhook.

Each row of ``ROWS`` names a route, the body to send and the roles allowed to
call it on those records. An allowed role must not get 401 or 403 (it may get a
409 or 400 from the service, which then judged the request, not the caller).
Every other role must get 401, 403 or 404, and an anonymous caller of a route
that is not public exactly 401. Each non-public row that acts on a Chicago
record is then sent again with Dallas in the path, where every role must be
refused. A unit test of ``ROWS`` checks that every route of the gateway has a
row, so a new route cannot skip the matrix.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date

import pytest
import requests

from gateway.access_table import routes
from gateway.service import GatewayService
from tests.e2e.accounts import PASSWORD

pytestmark = pytest.mark.e2e

CITY = "chicago"
OTHER_CITY = "dallas"
MATRIX_CITY = "e2e-matrix"
ROLES = ("anonymous", "stranger", "youth", "guardian", "staff_a", "lead_a", "lead_b",
         "admin", "operator", "key_a")
ACCOUNT_ROLES = tuple(role for role in ROLES if role not in ("anonymous", "key_a"))
EVERYONE = ROLES
REFUSED = (401, 403, 404)
TEEN_YEAR = date.today().year - 14

STAFF_A = ("staff_a", "lead_a", "admin")
LEAD_A = ("lead_a", "admin")
PARTNER_A = ("lead_a", "key_a")


@dataclass
class Row:
    method: str
    path: str
    allowed: tuple
    body: object = None
    # Sent again with another city in the path, where every role is refused.
    cross_city: bool = True
    # Changes state for good: only the first allowed role calls it.
    once: bool = False
    # Sent with a new session of each account, so that shared sessions survive.
    fresh_session: bool = False
    params: dict = field(default_factory=dict)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


C = "/v1/cities/{city}"
ROWS = [
    # Public ------------------------------------------------------------------
    Row("GET", "/health", EVERYONE, cross_city=False),
    Row("GET", "/v1/openapi.json", EVERYONE, cross_city=False),
    Row("GET", "/v1/docs", EVERYONE, cross_city=False),
    Row("GET", "/v1/auth/keys", EVERYONE, cross_city=False),
    Row("POST", "/v1/auth/token", EVERYONE, lambda w: {
        "email": w.emails["stranger"], "password": PASSWORD}, cross_city=False),
    Row("POST", "/v1/auth/email-verification", EVERYONE,
        {"token": "x" * 43, "password": PASSWORD}, cross_city=False),
    Row("POST", "/v1/auth/password", EVERYONE,
        {"token": "x" * 43, "password": PASSWORD}, cross_city=False),
    Row("POST", C + "/accounts", EVERYONE, lambda w: {
        "email": f"{unique('signup')}@example.org", "password": PASSWORD},
        cross_city=False),
    Row("POST", C + "/accounts/password-reset", EVERYONE, lambda w: {
        "email": f"{unique('reset')}@example.org"}, cross_city=False),
    Row("GET", "/v1/cities", EVERYONE, cross_city=False),
    Row("GET", C, EVERYONE, cross_city=False),
    Row("GET", C + "/interests", EVERYONE, cross_city=False),
    Row("GET", C + "/organizations", EVERYONE, cross_city=False),
    Row("GET", C + "/organizations/{organization_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/opportunities", EVERYONE, cross_city=False),
    Row("GET", C + "/opportunities/{opportunity_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/opportunities/{opportunity_id}/related", EVERYONE,
        cross_city=False),
    Row("GET", C + "/opportunities/{opportunity_id}/completion-rule", EVERYONE,
        cross_city=False),
    Row("GET", C + "/autocomplete", EVERYONE, params={"q": "rob"}, cross_city=False),
    Row("GET", C + "/sites", EVERYONE, cross_city=False),
    Row("GET", C + "/index", EVERYONE, cross_city=False),
    Row("GET", C + "/erasures/{erasure_id}", EVERYONE, cross_city=False),
    Row("POST", C + "/guardian-consent/lookup", EVERYONE, {"token": "x" * 43},
        cross_city=False),
    Row("POST", C + "/guardian-consent", EVERYONE,
        {"token": "x" * 43, "decision": "grant"}, cross_city=False),
    Row("GET", "/guardian-consent/{city}", EVERYONE, cross_city=False),
    Row("POST", "/guardian-consent/{city}", EVERYONE, cross_city=False),
    Row("GET", C + "/unsubscribe/{token}", EVERYONE, cross_city=False),
    Row("POST", C + "/unsubscribe/{token}", EVERYONE, cross_city=False),
    Row("GET", C + "/portfolios/{share_token}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/issuers", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/issuers/{issuer_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/issuers/{issuer_id}/image", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/issuers/{issuer_id}/keys/{key_id}", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/issuers/{issuer_id}/revocations", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/issuers/{issuer_id}/status-lists/{number}", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/classes", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/classes/{class_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/classes/{class_id}/versions/{version}", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/classes/{class_id}/versions/{version}/image", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/rules/{opportunity_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/assertions/{assertion_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/assertions/{assertion_id}/signed", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/assertions/{assertion_id}/credential", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/assertions/{assertion_id}/image.png", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/assertions/{assertion_id}/image.svg", EVERYONE,
        cross_city=False),
    Row("GET", C + "/badges/keys", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/keys/{key_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/endorsements/{endorsement_id}", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/playlists", EVERYONE, cross_city=False),
    Row("GET", C + "/badges/playlists/{playlist_id}", EVERYONE, cross_city=False),
    Row("POST", C + "/badges/verify", EVERYONE, {"token": "not.a.jws"},
        cross_city=False),

    # Signed in -----------------------------------------------------------------
    Row("GET", "/v1/auth/me", ACCOUNT_ROLES, cross_city=False),
    Row("GET", "/v1/me/portfolio", ACCOUNT_ROLES, cross_city=False),
    Row("POST", C + "/youth", ACCOUNT_ROLES, {
        "display_name": "Matrix", "birth_year": TEEN_YEAR, "birth_month": 2,
        "relationship": "guardian"}, cross_city=False),
    Row("POST", C + "/invitations/accept", ACCOUNT_ROLES, {"token": "x" * 32},
        cross_city=False),
    Row("POST", C + "/registrations", ("youth",), lambda w: {
        "opportunity_id": w.ids["opportunity_id"], "youth_id": w.ids["youth_id"]}),
    Row("POST", C + "/registrations/{registration_id}/peer-assessments",
        ("guardian",) + STAFF_A, lambda w: {
            "assessor_registration_id": w.ids["child_registration_id"],
            "statement": "Explained the circuit clearly."}),

    # Operators -----------------------------------------------------------------
    Row("POST", "/v1/cities", ("operator",), lambda w: w.matrix_city,
        cross_city=False),
    Row("GET", C + "/export", ("operator",), cross_city=False),
    Row("GET", "/v1/webhooks/dead-letters", ("operator",), cross_city=False),
    Row("POST", "/v1/webhooks/dead-letters/{delivery_id}/requeue", ("operator",),
        cross_city=False),

    # Catalog staff -------------------------------------------------------------
    Row("GET", C + "/catalog/opportunities", STAFF_A + ("lead_b",)),
    Row("POST", C + "/opportunities", STAFF_A, lambda w: w.opportunity_body()),
    Row("PATCH", C + "/opportunities/{opportunity_id}", STAFF_A,
        {"accessibility_notes": "Step-free entrance on Clark Street."}),
    Row("POST", C + "/opportunities/{opportunity_id}/submit", STAFF_A),
    Row("POST", C + "/organizations", ("admin",), lambda w: {
        "name": unique("Matrix partner"), "kind": "museum",
        "website": "https://matrix.example.org",
        "admin": {"email": f"{unique('lead')}@example.org", "name": "Lee"}}),
    Row("POST", C + "/organizations/{organization_id}/approve", ("admin",)),
    Row("GET", C + "/organizations/{organization_id}/members", STAFF_A),
    Row("POST", C + "/organizations/{organization_id}/members", LEAD_A, lambda w: {
        "email": f"{unique('member')}@example.org", "name": "Mo", "role": "staff"}),
    Row("PATCH", C + "/organizations/{organization_id}", LEAD_A,
        {"description": "Robotics clubs for ages 10 to 14."}),
    Row("GET", C + "/organizations/{organization_id}/api-keys", LEAD_A),
    Row("POST", C + "/organizations/{organization_id}/api-keys", LEAD_A,
        {"name": "matrix", "scopes": ["webhooks:read"]}),

    # Rosters and completion ------------------------------------------------------
    Row("GET", C + "/opportunities/{opportunity_id}/registrations", STAFF_A),
    Row("PUT", C + "/opportunities/{opportunity_id}/completion-rule", STAFF_A,
        {"kind": "staff_sign_off"}),
    Row("POST", C + "/opportunities/{opportunity_id}/attendance", STAFF_A,
        lambda w: {"registration_id": w.ids["registration_id"],
                   "occurrence": 1, "status": "present"}),
    Row("GET", C + "/registrations/{registration_id}", ("youth",) + STAFF_A),
    Row("GET", C + "/registrations/{registration_id}/attendance", ("youth",) + STAFF_A),
    Row("POST", C + "/registrations/{registration_id}/evidence", ("youth",) + STAFF_A,
        {"url": "https://example.org/work/circuit", "description": "My circuit"}),
    Row("POST", C + "/registrations/{registration_id}/completion", STAFF_A),

    # Youth records -----------------------------------------------------------------
    Row("GET", C + "/youth/{youth_id}", ("youth",)),
    Row("GET", C + "/youth/{youth_id}/registrations", ("youth",)),
    Row("POST", C + "/youth/{youth_id}/guardians", ("youth",),
        {"name": "Pat", "email": "pat@example.org", "language": "en"}),
    Row("POST", C + "/youth/{youth_id}/consent-requests", ("youth",),
        lambda w: {"guardian_id": "unknown-guardian"}),
    Row("GET", C + "/youth/{youth_id}/badges", ("youth",)),
    Row("GET", C + "/youth/{youth_id}/portfolio", ("youth",)),
    Row("PUT", C + "/youth/{youth_id}/portfolio/badges/{assertion_id}", ("youth",),
        {"public": True}),
    Row("POST", C + "/youth/{youth_id}/share-links", ("youth",)),
    Row("GET", C + "/youth/{youth_id}/record", ("youth",)),

    # Badges staff ----------------------------------------------------------------
    Row("POST", C + "/badges/issuers", ("lead_a", "lead_b", "admin"), lambda w: {
        "name": unique("Matrix issuer"), "kind": "partner"}),
    Row("POST", C + "/badges/classes", STAFF_A, lambda w: w.badge_class_body()),
    Row("PUT", C + "/badges/classes/{class_id}", STAFF_A,
        lambda w: {**w.badge_class_body(include_issuer=False), "expected_version": 1}),
    Row("PUT", C + "/badges/rules/{opportunity_id}", STAFF_A,
        lambda w: {"badge_class_id": w.ids["class_id"]}),
    Row("POST", C + "/badges/awards", STAFF_A, lambda w: {
        "badge_class_id": w.ids["class_id"], "youth_id": w.ids["youth_id"],
        "opportunity_id": w.ids["opportunity_id"], "awarded_by": {"name": "Ms Rivera"},
        "narrative": "Built a circuit."}),
    Row("POST", C + "/badges/endorsements", STAFF_A, lambda w: {
        "endorser_id": w.ids["issuer_id"], "badge_class_id": w.ids["class_id"],
        "comment": "Counts toward our apprenticeships."}),
    Row("POST", C + "/badges/playlists", STAFF_A + ("lead_b",),
        lambda w: w.playlist_body()),

    # Partner webhooks ------------------------------------------------------------
    Row("GET", C + "/webhooks", PARTNER_A + ("lead_b",)),
    Row("POST", C + "/webhooks", PARTNER_A + ("lead_b",), lambda w: {
        "url": "http://127.0.0.1:9/matrix", "event_types": ["badge.issued"]}),
    Row("GET", C + "/webhooks/{subscription_id}", PARTNER_A),
    Row("PATCH", C + "/webhooks/{subscription_id}", PARTNER_A,
        {"description": "matrix"}),
    Row("POST", C + "/webhooks/{subscription_id}/rotate-secret", PARTNER_A,
        {"overlap_seconds": 60}),
    Row("GET", C + "/webhooks/{subscription_id}/deliveries", PARTNER_A),
    Row("GET", C + "/webhooks/{subscription_id}/attempts", PARTNER_A),
    Row("POST", C + "/webhooks/{subscription_id}/replay", PARTNER_A,
        {"since": "2026-01-01T00:00:00Z"}),

    # Changes for good: run last, once by the first allowed role --------------------
    Row("POST", C + "/badges/assertions/{assertion_id}/revocation", STAFF_A,
        {"reason": "Awarded by mistake."}, once=True),
    Row("DELETE", C + "/youth/{youth_id}/share-links/{link_id}", ("youth",), once=True),
    Row("DELETE", C + "/webhooks/{spare_subscription_id}", PARTNER_A, once=True),
    Row("DELETE", C + "/organizations/{organization_id}/api-keys/{spare_key_id}",
        LEAD_A, once=True),
    Row("POST", C + "/registrations/{child_registration_id}/cancellation",
        ("guardian",) + STAFF_A, once=True),
    Row("POST", C + "/youth/{child_id}/consent-withdrawal", ("guardian",), once=True),
    Row("DELETE", C + "/youth/{spare_child_id}", ("guardian",), once=True),
    # Signing keys of the matrix city alone, so no other test's badges change.
    # The key id is Chicago's, unknown there, so the operator's revocation gets
    # 404 once past the access check.
    Row("GET", "/v1/cities/" + MATRIX_CITY + "/badges/signing-keys", ("operator",),
        cross_city=False),
    Row("POST", "/v1/cities/" + MATRIX_CITY + "/badges/signing-keys/rotation",
        ("operator",), {}, once=True, cross_city=False),
    Row("POST",
        "/v1/cities/" + MATRIX_CITY + "/badges/signing-keys/{key_id}/revocation",
        ("operator",), {"reason": "Matrix check"}, once=True, cross_city=False),
    Row("POST", "/v1/cities/" + MATRIX_CITY + "/archive", ("operator",),
        once=True, cross_city=False),
    Row("POST", "/v1/auth/logout", ACCOUNT_ROLES, cross_city=False, fresh_session=True),
]


class World:
    """The accounts and records the matrix runs against."""

    def __init__(self, platform):
        self.url = platform["url"]
        self.accounts = platform["accounts"]
        self.headers: dict[str, dict] = {"anonymous": {}}
        self.emails: dict[str, str] = {}
        self.ids: dict[str, str] = {"city": CITY, "version": "1", "number": "0",
                                    "token": "x" * 32, "erasure_id": "x" * 24,
                                    "delivery_id": "msg_" + "0" * 24}
        self.matrix_city = None

    def call(self, role, method, path, body=None, params=None, fresh_session=False):
        headers = self.headers[role]
        if fresh_session and role in self.emails:
            # The city admin's and operator's sessions are shared with other test
            # modules, so a logout row must not end them.
            headers = self.accounts.sign_in(self.emails[role]).headers
        return requests.request(method, f"{self.url}{path}", json=body, params=params,
                                headers=headers, timeout=60)

    def ok(self, role, method, path, body=None) -> dict:
        response = self.call(role, method, path, body)
        assert response.status_code < 300, (method, path, response.text)
        return response.json() if response.content else {}

    def published_opportunity(self) -> str:
        """Create an opportunity of A, have it moderated and published; return its id."""
        created = self.ok("lead_a", "POST", f"/v1/cities/{CITY}/opportunities",
                          self.opportunity_body())
        path = f"/v1/cities/{CITY}/opportunities/{created['id']}"
        self.ok("lead_a", "POST", f"{path}/submit")
        approved = self.ok("admin", "POST", f"{path}/approve")
        if approved["status"] != "published":
            self.ok("lead_a", "POST", f"{path}/publish")
        return created["id"]

    def playlist_body(self) -> dict:
        return {"name": unique("Matrix playlist"), "description": "Two robotics steps.",
                "opportunity_ids": [self.ids["opportunity_id"],
                                    self.ids["second_opportunity_id"]]}

    def opportunity_body(self) -> dict:
        return {"organization_id": self.ids["organization_id"],
                "title": unique("Matrix robotics"), "description": "Build robots.",
                "format": "online", "interests": ["coding-games"], "min_age": 10,
                "max_age": 18, "capacity": 20, "cost": {"free": True},
                "languages": ["en"],
                "sessions": [{"start": f"{date.today().year + 1}-03-02T10:00",
                              "end": f"{date.today().year + 1}-03-02T12:00",
                              "rrule": "FREQ=WEEKLY;COUNT=4"}]}

    def badge_class_body(self, include_issuer=True) -> dict:
        body = {"name": "Matrix Circuit Builder",
                "description": "Builds and explains a working circuit.",
                "criteria": {"narrative": "Build a circuit and explain it.",
                             "url": "https://example.org/criteria"}}
        if include_issuer:
            body["issuer_id"] = self.ids["issuer_id"]
        return body


@pytest.fixture(scope="module")
def world(platform):
    accounts = platform["accounts"]
    world = World(platform)
    admin = accounts.city_admin(CITY)
    organization_a, lead_a = accounts.partner(CITY)
    organization_b, lead_b = accounts.partner(CITY)
    staff_email = f"{unique('staff')}@example.org"
    invited = accounts.request(
        "POST", f"/v1/cities/{CITY}/organizations/{organization_a}/members", lead_a,
        {"email": staff_email, "name": "Sam", "role": "staff"})
    assert invited.status_code == 201, invited.text
    staff_a, accepted = accounts.accept_invitation(CITY, invited.json()["token"],
                                                   email=staff_email)
    assert accepted.status_code == 200, accepted.text
    people = {"stranger": accounts.sign_up(CITY), "youth": accounts.sign_up(CITY),
              "guardian": accounts.sign_up(CITY), "staff_a": staff_a, "lead_a": lead_a,
              "lead_b": lead_b, "admin": admin, "operator": accounts.operator()}
    for role, account in people.items():
        world.headers[role] = account.headers
        world.emails[role] = account.email
    key = accounts.api_key(CITY, organization_a, lead_a,
                           ("webhooks:read", "webhooks:write"))
    world.headers["key_a"] = {"X-Api-Key": key}
    ids = world.ids
    ids.update(organization_id=organization_a)

    # A's two published opportunities.
    ids["opportunity_id"] = world.published_opportunity()
    ids["second_opportunity_id"] = world.published_opportunity()

    # The youth's own profile and registration, and the guardian's two children.
    registered = world.ok("youth", "POST", f"/v1/cities/{CITY}/registrations", {
        "opportunity_id": ids["opportunity_id"], "relationship": "self",
        "youth": {"display_name": "Ria", "birth_year": TEEN_YEAR, "birth_month": 4}})
    ids.update(youth_id=registered["youth_id"], registration_id=registered["id"])
    child = world.ok("guardian", "POST", f"/v1/cities/{CITY}/registrations", {
        "opportunity_id": ids["opportunity_id"], "relationship": "guardian",
        "youth": {"display_name": "Ana", "birth_year": TEEN_YEAR, "birth_month": 6}})
    ids.update(child_id=child["youth_id"], child_registration_id=child["id"])
    spare = world.ok("guardian", "POST", f"/v1/cities/{CITY}/youth", {
        "display_name": "Ben", "birth_year": TEEN_YEAR, "birth_month": 7,
        "relationship": "guardian"})
    ids["spare_child_id"] = spare["id"]

    # A's issuer, badge class and a badge for the youth, shared publicly.
    issuer = world.ok("lead_a", "POST", f"/v1/cities/{CITY}/badges/issuers",
                      {"name": unique("Matrix Lab"), "kind": "partner"})
    ids["issuer_id"] = issuer["id"]
    badge_class = world.ok("lead_a", "POST", f"/v1/cities/{CITY}/badges/classes",
                           world.badge_class_body())
    ids["class_id"] = badge_class["id"]
    award = world.ok("lead_a", "POST", f"/v1/cities/{CITY}/badges/awards", {
        "badge_class_id": ids["class_id"], "youth_id": ids["youth_id"],
        "opportunity_id": ids["opportunity_id"], "awarded_by": {"name": "Ms Rivera"},
        "narrative": "Built a circuit."})
    ids["assertion_id"] = award["assertion_id"]
    link = world.ok("youth", "POST",
                    f"/v1/cities/{CITY}/youth/{ids['youth_id']}/share-links")
    ids.update(link_id=link["id"], share_token=link["token"])
    keys = requests.get(f"{world.url}/v1/cities/{CITY}/badges/keys", timeout=30).json()
    ids["key_id"] = keys["keys"][0]["kid"].rstrip("/").rsplit("/", 1)[-1]
    playlists = world.ok("lead_a", "POST", f"/v1/cities/{CITY}/badges/playlists",
                         world.playlist_body())
    ids["playlist_id"] = playlists["id"]
    endorsement = world.call("lead_a", "POST", f"/v1/cities/{CITY}/badges/endorsements",
                             {"endorser_id": ids["issuer_id"],
                              "badge_class_id": ids["class_id"],
                              "comment": "Good."})
    ids["endorsement_id"] = (endorsement.json().get("id") if endorsement.ok
                             else "unknown-endorsement")

    # A's webhooks, and a spare key and subscription to delete.
    hooks = f"/v1/cities/{CITY}/webhooks"
    body = {"url": "http://127.0.0.1:9/a", "event_types": ["badge.issued"]}
    ids["subscription_id"] = world.ok("key_a", "POST", hooks, body)["id"]
    ids["spare_subscription_id"] = world.ok("key_a", "POST", hooks, body)["id"]
    ids["spare_key_id"] = world.ok(
        "lead_a", "POST",
        f"/v1/cities/{CITY}/organizations/{organization_a}/api-keys",
        {"name": "spare", "scopes": ["webhooks:read"]})["id"]

    # A throwaway city for the operator's onboarding and archive rows.
    from tests.e2e.accounts import seed_city
    world.matrix_city = {**seed_city(CITY), "slug": MATRIX_CITY,
                         "name": "Matrix test city"}
    return world


def body_of(row: Row, world: World):
    return row.body(world) if callable(row.body) else row.body


def test_every_route_has_a_row():
    declared = {(method, path) for path, method, _ in routes(GatewayService)}
    covered = set()
    for row in ROWS:
        path = row.path.replace("/v1/cities/" + MATRIX_CITY, C)
        covered.add((row.method, path.replace("{spare_subscription_id}",
                                              "{subscription_id}")
                     .replace("{spare_key_id}", "{key_id}")
                     .replace("{child_registration_id}", "{registration_id}")
                     .replace("{child_id}", "{youth_id}")
                     .replace("{spare_child_id}", "{youth_id}")
                     .replace("{share_token}", "{token}")
                     .replace("/opportunities/{opportunity_id}/submit",
                              "/opportunities/{opportunity_id}/{action}")))
    assert declared - covered == set()


def test_authorization_matrix(world):
    failures = []
    for row in ROWS:
        path = row.path.format(**world.ids)
        allowed = [role for role in ROLES if role in row.allowed]
        refused = [role for role in ROLES if role not in row.allowed]
        for role in refused + (allowed[:1] if row.once else allowed):
            response = world.call(role, row.method, path, body_of(row, world),
                                  row.params, row.fresh_session)
            status = response.status_code
            if role in row.allowed:
                good = status < 500 and status not in (401, 403)
            elif role == "anonymous":
                good = status == 401
            else:
                good = status in REFUSED
            if not good:
                failures.append(f"{role:9} {row.method} {row.path}: {status} "
                                f"{response.text[:160]}")
        if row.cross_city and not row.once:
            other = path.replace(f"/v1/cities/{CITY}/", f"/v1/cities/{OTHER_CITY}/", 1)
            for role in ROLES:
                response = world.call(role, row.method, other, body_of(row, world),
                                      row.params)
                if response.status_code not in REFUSED:
                    failures.append(f"{role:9} {row.method} {other} (other city): "
                                    f"{response.status_code} {response.text[:160]}")
    assert failures == [], "\n".join(failures)

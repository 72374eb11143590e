"""Catalog journeys on the real servers: onboarding, moderation, lifecycle events
reaching search, cross-city and cross-partner isolation, archiving and the import
command.

The tests onboard fictional test cities (slugs starting ``e2e-``), each with an
administrator, and archive them before the module ends, so the city list of the
other journeys still shows only the four seed cities. Every request carries the
credential of the person who would make it (see ``tests.e2e.accounts``).
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from services.catalog.storage import record_id
from tests.e2e.accounts import PASSWORD

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# A fictional tenant laid over Springfield, Illinois, far from the seed cities.
TEST_BBOX = {"min_lat": 39.70, "min_lon": -89.75, "max_lat": 39.86, "max_lon": -89.55}
STREET = {"name": "Test Hall", "address": "1 Test Street", "lat": 39.78, "lon": -89.65}
SEARCH_WAIT_SECONDS = 60
GRANT_WAIT_SECONDS = 30


def fictional_city(slug: str, admin_email: str | None = None) -> dict:
    city = {"slug": slug, "name": f"Test city {slug}", "time_zone": "America/Chicago",
            "default_locale": "en", "locales": ["en", "es"],
            "centre": {"lat": 39.78, "lon": -89.65}, "bbox": TEST_BBOX,
            "branding": {"display_name": f"{slug} City of Learning",
                         "primary_colour": "#336699", "logo_url": None}}
    if admin_email:
        city["admin"] = {"email": admin_email, "name": "Test Admin"}
    return city


def call(platform, method, path, who=None, body=None, **params):
    """Send a request as ``who`` (anything ``Accounts.headers`` takes)."""
    return platform["accounts"].request(method, path, who, body, timeout=30, **params)


def run_cli(namespace, *args) -> subprocess.CompletedProcess:
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "services.catalog.cli", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def wait_for(predicate, timeout=SEARCH_WAIT_SECONDS, interval=0.5):
    """Poll ``predicate`` until it returns a truthy value; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def search_ids(platform, city, **params) -> set[str]:
    response = call(platform, "GET", f"/v1/cities/{city}/opportunities", **params)
    if response.status_code != 200:
        return set()
    return {item["id"] for item in response.json()["results"]}


def city_admin(platform, slug):
    """Onboard the fictional city ``slug`` with an administrator; return the admin."""
    return platform["accounts"].city_admin(slug, city_body=fictional_city(slug))


def approved_partner(platform, city, admin, name="Test Robot Lab"):
    """Invite, accept and approve a partner; return its id and its org admin."""
    accounts = platform["accounts"]
    email = f"lead-{uuid.uuid4().hex[:8]}@{city}.example"
    invited = call(platform, "POST", f"/v1/cities/{city}/organizations", admin, {
        "name": name, "kind": "museum", "website": "https://robots.example.org",
        "locations": [STREET],
        "admin": {"email": email, "name": "Lee Lead"}})
    assert invited.status_code == 201, invited.text
    token = invited.json()["invitation"]["token"]
    lead, accepted = accounts.accept_invitation(city, token, email=email)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["organization"]["membership"]["status"] == "pending"
    organization_id = invited.json()["organization"]["id"]
    approved = call(platform, "POST",
                    f"/v1/cities/{city}/organizations/{organization_id}/approve", admin)
    assert approved.status_code == 200, approved.text
    return organization_id, lead


def staff_member(platform, city, organization_id, lead):
    """Invite a staff member (not an org admin) as ``lead``; return their account."""
    email = f"staff-{uuid.uuid4().hex[:8]}@{city}.example"
    invited = call(platform, "POST",
                   f"/v1/cities/{city}/organizations/{organization_id}/members", lead,
                   {"email": email, "name": "Sam Staff", "role": "staff"})
    assert invited.status_code == 201, invited.text
    staff, accepted = platform["accounts"].accept_invitation(
        city, invited.json()["token"], email=email)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["account"]["role"] == "staff"
    return staff


def draft_body(organization_id, title) -> dict:
    return {"organization_id": organization_id, "title": title,
            "description": "<p>Build <b>robots</b>.</p><script>alert(1)</script>",
            "format": "in_person", "interests": ["coding-games"], "tags": ["robots"],
            "locations": [STREET], "min_age": 10, "max_age": 14, "capacity": 12,
            "cost": {"free": True}, "languages": ["en", "es"],
            "sessions": [{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00",
                          "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"}]}


def anchor_of(platform, city) -> str:
    return call(platform, "GET", f"/v1/cities/{city}/organizations",
                kind="anchor").json()["results"][0]["id"]


@pytest.fixture(scope="module")
def cities(platform):
    """Two onboarded test cities and their administrators, archived afterwards."""
    admins = {slug: city_admin(platform, slug) for slug in ("e2e-alpha", "e2e-beta")}
    yield admins
    for slug in admins:
        call(platform, "POST", f"/v1/cities/{slug}/archive", "operator")


@pytest.fixture(scope="module")
def rival_partners(platform, cities):
    """Two partners of e2e-alpha as (id, org admin) pairs, and a staff member of
    the second partner."""
    admin = cities["e2e-alpha"]
    first = approved_partner(platform, "e2e-alpha", admin, "First Robot Lab")
    second = approved_partner(platform, "e2e-alpha", admin, "Second Robot Lab")
    staff = staff_member(platform, "e2e-alpha", *second)
    return first, second, staff


def test_onboarding_twice_is_idempotent(platform, cities):
    admin = cities["e2e-alpha"]
    again = call(platform, "POST", "/v1/cities", "operator",
                 fictional_city("e2e-alpha", admin.email))
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["outcome"] == "unchanged"
    assert body["interests_added"] == 0
    assert body["admin"]["id"] == admin.catalog_accounts["e2e-alpha"]
    # The admin already has a password, so onboarding again must not reset it.
    assert body["admin_setup_token"] is None
    interests = call(platform, "GET", "/v1/cities/e2e-alpha/interests").json()
    assert len(interests["interests"]) == 11
    organizations = call(platform, "GET", "/v1/cities/e2e-alpha/organizations").json()
    assert [item["kind"] for item in organizations["results"]] == ["anchor"]
    index = wait_for(lambda: call(platform, "GET", "/v1/cities/e2e-alpha/index")
                     .status_code == 200)
    assert index, "search never learnt of the onboarded city"


def test_onboarding_needs_operator(platform, cities):
    body = fictional_city("e2e-alpha", cities["e2e-alpha"].email)
    anonymous = call(platform, "POST", "/v1/cities", None, body)
    assert anonymous.status_code == 401, anonymous.text
    by_admin = call(platform, "POST", "/v1/cities", cities["e2e-alpha"], body)
    assert by_admin.status_code == 403, by_admin.text
    archived = call(platform, "POST", "/v1/cities/e2e-beta/archive",
                    cities["e2e-beta"])
    assert archived.status_code == 403, archived.text
    assert call(platform, "GET", "/v1/cities/e2e-beta").status_code == 200


def test_cli_onboards_idempotently(platform, namespace):
    email = "admin@e2e-cli.example"
    arguments = ["onboard", "--slug", "e2e-cli", "--name", "CLI test city",
                 "--time-zone", "America/Chicago", "--default-locale", "en",
                 "--locales", "en,es", "--bbox", "39.70", "-89.75", "39.86", "-89.55",
                 "--display-name", "CLI City of Learning", "--primary-colour", "#123456",
                 "--admin-email", email, "--admin-name", "CLI Admin"]
    try:
        first = run_cli(namespace, *arguments)
        second = run_cli(namespace, *arguments)
        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        first, second = json.loads(first.stdout), json.loads(second.stdout)
        assert first["outcome"] == "created"
        assert second["outcome"] == "unchanged"
        assert first["admin"]["id"] == second["admin"]["id"]
        assert first["identity"]["account_id"] == second["identity"]["account_id"]
        # The admin has no password yet, so each run issues a new setup token, and
        # the newest one works.
        assert first["identity"]["setup_token"]
        token = second["identity"]["setup_token"]
        assert token

        set_password = call(platform, "POST", "/v1/auth/password", None,
                            {"token": token, "password": PASSWORD})
        assert set_password.status_code == 200, set_password.text
        admin = platform["accounts"].sign_in(email)
        listed = call(platform, "GET", "/v1/cities/e2e-cli/catalog/opportunities",
                      admin)
        assert listed.status_code == 200, listed.text
        invited = call(platform, "POST", "/v1/cities/e2e-cli/organizations", admin, {
            "name": "CLI partner", "kind": "library",
            "website": "https://cli.example.org",
            "admin": {"email": "lead@e2e-cli.example", "name": "Lee Lead"}})
        assert invited.status_code == 201, invited.text
    finally:
        run_cli(namespace, "archive", "e2e-cli")


def test_cli_reports_invalid_city(platform, namespace):
    result = run_cli(namespace, "onboard", "--slug", "e2e-bad", "--name", "Bad",
                     "--time-zone", "Mars/Base", "--default-locale", "en",
                     "--locales", "en", "--bbox", "1", "1", "2", "2",
                     "--display-name", "Bad", "--primary-colour", "#000000")
    assert result.returncode == 1
    assert "time_zone" in result.stderr


def test_moderated_opportunity_reaches_search(platform, cities):
    admin = cities["e2e-alpha"]
    organization_id, partner = approved_partner(platform, "e2e-alpha", admin)
    created = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", partner,
                   draft_body(organization_id, "Robot Builders"))
    assert created.status_code == 201, created.text
    opportunity = created.json()
    assert "<script" not in opportunity["description_html"]
    assert opportunity["schedule"]["occurrences"] == 6
    path = f"/v1/cities/e2e-alpha/opportunities/{opportunity['id']}"

    direct = call(platform, "POST", f"{path}/publish", partner)
    assert direct.status_code == 409, direct.text
    submitted = call(platform, "POST", f"{path}/submit", partner)
    assert submitted.json()["status"] == "submitted"
    self_approved = call(platform, "POST", f"{path}/approve", partner)
    assert self_approved.status_code == 403
    anonymous = call(platform, "POST", f"{path}/approve", None, {"reason": "Fine"})
    assert anonymous.status_code == 401
    approved = call(platform, "POST", f"{path}/approve", admin, {"reason": "Fine"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    assert approved.json()["version"] == 3

    found = wait_for(lambda: opportunity["id"] in search_ids(
        platform, "e2e-alpha", q="Robot Builders"))
    assert found, "the published opportunity never reached search"

    withdrawn = call(platform, "POST", f"{path}/withdraw", partner,
                     {"reason": "Cancelled"})
    assert withdrawn.json()["status"] == "withdrawn"
    gone = wait_for(lambda: opportunity["id"] not in search_ids(
        platform, "e2e-alpha", q="Robot Builders"))
    assert gone, "the withdrawn opportunity is still in search"
    assert call(platform, "GET", path).status_code == 404
    assert call(platform, "GET", path, partner).json()["version"] == 4


def test_returned_opportunity_goes_back_to_draft(platform, cities):
    admin = cities["e2e-beta"]
    organization_id, partner = approved_partner(platform, "e2e-beta", admin)
    opportunity = call(platform, "POST", "/v1/cities/e2e-beta/opportunities", partner,
                       draft_body(organization_id, "Returned Club")).json()
    path = f"/v1/cities/e2e-beta/opportunities/{opportunity['id']}"
    call(platform, "POST", f"{path}/submit", partner)

    without_reason = call(platform, "POST", f"{path}/return", admin)
    returned = call(platform, "POST", f"{path}/return", admin, {"reason": "Add a room"})

    assert without_reason.status_code == 400
    assert "reason" in without_reason.json()["errors"]
    assert returned.json()["status"] == "draft"
    assert returned.json()["review_notes"] == ["Add a room"]
    listed = call(platform, "GET", "/v1/cities/e2e-beta/catalog/opportunities", partner,
                  status="draft", organization_id=organization_id).json()
    assert [item["id"] for item in listed["results"]] == [opportunity["id"]]


@pytest.mark.parametrize("changes, path", [
    ({"locations": [{**STREET, "lat": -89.65, "lon": 39.78}]},
     ["locations", "0", "lat"]),
    ({"sessions": [{"start": "2026-07-06T10:00", "end": "2026-07-06T09:00"}]},
     ["sessions", "0", "end"]),
    ({"interests": ["knitting"]}, ["interests", "0"]),
    ({"min_age": 15, "max_age": 9}, ["max_age"]),
    ({"capacity": -1}, ["capacity"]),
    ({"title": "x" * 201}, ["title"]),
])
def test_invalid_opportunity_names_field(platform, cities, changes, path):
    admin = cities["e2e-alpha"]
    anchor = anchor_of(platform, "e2e-alpha")
    response = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", admin,
                    {**draft_body(anchor, "Invalid"), **changes})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    node = response.json()["errors"]
    for key in path:
        assert key in node, response.json()
        node = node[key]


def test_other_city_never_sees_or_changes(platform, cities):
    alpha, beta = cities["e2e-alpha"], cities["e2e-beta"]
    anchor = anchor_of(platform, "e2e-alpha")
    opportunity = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", alpha,
                       draft_body(anchor, "Alpha Only")).json()
    identifier = opportunity["id"]
    in_beta = f"/v1/cities/e2e-beta/opportunities/{identifier}"

    assert call(platform, "GET", in_beta).status_code == 404
    assert call(platform, "GET", in_beta, beta).status_code == 404
    assert call(platform, "PATCH", in_beta, beta, {"title": "Taken"}).status_code == 404
    assert call(platform, "POST", f"{in_beta}/withdraw", beta).status_code == 404
    assert call(platform, "GET", f"/v1/cities/e2e-beta/organizations/{anchor}") \
        .status_code == 404
    assert call(platform, "POST", "/v1/cities/e2e-beta/opportunities", alpha,
                draft_body(anchor, "Cross")).status_code == 403
    listed = call(platform, "GET", "/v1/cities/e2e-beta/catalog/opportunities", beta,
                  limit=1000).json()
    assert identifier not in {item["id"] for item in listed["results"]}
    in_alpha = f"/v1/cities/e2e-alpha/opportunities/{identifier}"
    unchanged = call(platform, "GET", in_alpha, alpha)
    assert unchanged.json()["title"] == "Alpha Only"
    assert unchanged.json()["version"] == 1


def test_staff_cannot_touch_other_partners_draft(platform, rival_partners):
    (owner_id, owner), (_, rival_lead), rival_staff = rival_partners
    draft = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", owner,
                 draft_body(owner_id, "Owner Only")).json()
    path = f"/v1/cities/e2e-alpha/opportunities/{draft['id']}"

    for rival in (rival_staff, rival_lead):
        assert call(platform, "GET", path, rival).status_code == 404
        changed = call(platform, "PATCH", path, rival, {"title": "Taken"})
        assert changed.status_code in (403, 404), changed.text
        for action in ("submit", "withdraw", "close"):
            acted = call(platform, "POST", f"{path}/{action}", rival)
            assert acted.status_code in (403, 404), (action, acted.text)
        roster = call(platform, "GET", f"{path}/registrations", rival)
        assert roster.status_code in (403, 404), roster.text
        rule = call(platform, "PUT", f"{path}/completion-rule", rival,
                    {"min_attendance": 1})
        assert rule.status_code in (403, 404), rule.text
        posing = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", rival,
                      draft_body(owner_id, "Posing As Owner"))
        assert posing.status_code == 403, posing.text

    unchanged = call(platform, "GET", path, owner).json()
    assert unchanged["title"] == "Owner Only"
    assert unchanged["status"] == "draft"
    assert unchanged["version"] == 1


def test_catalog_list_hides_other_partners_drafts(platform, rival_partners):
    (owner_id, owner), (rival_id, _), rival_staff = rival_partners
    hidden = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", owner,
                  draft_body(owner_id, "Hidden Draft")).json()
    own = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities", rival_staff,
               draft_body(rival_id, "Rival Draft"))
    assert own.status_code == 201, own.text
    own = own.json()

    listed = call(platform, "GET", "/v1/cities/e2e-alpha/catalog/opportunities",
                  rival_staff, status="draft", limit=1000)
    assert listed.status_code == 200, listed.text
    found = {item["id"] for item in listed.json()["results"]}
    assert own["id"] in found
    assert hidden["id"] not in found
    assert {item["organization_id"] for item in listed.json()["results"]} == {rival_id}

    named = call(platform, "GET", "/v1/cities/e2e-alpha/catalog/opportunities",
                 rival_staff, organization_id=owner_id, limit=1000)
    assert named.status_code in (400, 403), named.text
    assert hidden["id"] not in named.text
    anonymous = call(platform, "GET", "/v1/cities/e2e-alpha/catalog/opportunities")
    assert anonymous.status_code == 401


def test_admin_cannot_moderate_other_city(platform, cities):
    alpha, beta = cities["e2e-alpha"], cities["e2e-beta"]
    organization_id, partner = approved_partner(platform, "e2e-beta", beta,
                                                "Beta Robot Lab")
    opportunity = call(platform, "POST", "/v1/cities/e2e-beta/opportunities", partner,
                       draft_body(organization_id, "Beta Review")).json()
    path = f"/v1/cities/e2e-beta/opportunities/{opportunity['id']}"
    submitted = call(platform, "POST", f"{path}/submit", partner)
    assert submitted.json()["status"] == "submitted"

    for action in ("approve", "return", "publish", "withdraw"):
        acted = call(platform, "POST", f"{path}/{action}", alpha, {"reason": "Mine"})
        assert acted.status_code == 403, (action, acted.text)
    assert call(platform, "PATCH", path, alpha, {"title": "Taken"}).status_code == 403
    assert call(platform, "GET", path, alpha).status_code == 404
    assert call(platform, "GET", "/v1/cities/e2e-beta/catalog/opportunities",
                alpha).status_code == 403
    organization = f"/v1/cities/e2e-beta/organizations/{organization_id}"
    approve_partner = call(platform, "POST", f"{organization}/approve", alpha)
    assert approve_partner.status_code == 403
    invited = call(platform, "POST", "/v1/cities/e2e-beta/organizations", alpha, {
        "name": "Alpha Intruder", "kind": "museum",
        "admin": {"email": "intruder@e2e-alpha.example", "name": "Ian Intruder"}})
    assert invited.status_code == 403

    unchanged = call(platform, "GET", path, beta).json()
    assert unchanged["status"] == "submitted"
    assert unchanged["version"] == submitted.json()["version"]


def grants_in(platform, who, city) -> list:
    me = call(platform, "GET", "/v1/auth/me", who).json()
    return [grant for grant in me["grants"] if grant["city"] == city]


def test_archive_exports_and_spares_others(platform, namespace, cities, tmp_path):
    slug = "e2e-gamma"
    admin = city_admin(platform, slug)
    organization_id, partner = approved_partner(platform, slug, admin)
    call(platform, "POST", f"/v1/cities/{slug}/opportunities", partner,
         draft_body(organization_id, "Gamma Club"))
    export_file = tmp_path / "gamma.json"

    result = run_cli(namespace, "archive", slug, "--export", str(export_file))

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["archived_now"] is True
    export = json.loads(export_file.read_text())
    assert export["city"]["status"] == "archived"
    assert len(export["opportunities"]) == 1
    assert len(export["organizations"]) == 2
    assert len(export["interests"]) == 11
    assert {account["role"] for account in export["accounts"]} == {"city_admin",
                                                                  "org_admin"}
    archived = call(platform, "GET", f"/v1/cities/{slug}")
    assert archived.status_code == 410
    assert "archived" in archived.json()["detail"]
    # Archiving removes the city's grants, so its staff lose their roles there.
    revoked = wait_for(lambda: not grants_in(platform, partner, slug)
                       and not grants_in(platform, admin, slug),
                       timeout=GRANT_WAIT_SECONDS)
    assert revoked, "the archived city's grants were never removed"
    late = call(platform, "POST", f"/v1/cities/{slug}/opportunities", partner,
                draft_body(organization_id, "Late"))
    assert late.status_code == 403, late.text
    assert call(platform, "POST", "/v1/cities", "operator",
                fictional_city(slug)).status_code == 410
    listed = [city["slug"] for city in call(platform, "GET", "/v1/cities")
              .json()["cities"]]
    assert slug not in listed
    assert call(platform, "GET", "/v1/cities/e2e-beta").status_code == 200
    assert call(platform, "GET", "/v1/cities/e2e-beta/interests").status_code == 200
    assert grants_in(platform, cities["e2e-beta"], "e2e-beta")
    assert call(platform, "GET", "/v1/cities/chicago/opportunities",
                q="library").json()["total"] > 0


def copy_dc_camps(tmp_path: Path) -> Path:
    """Copy the DC camps mapping, its source file and the reference files."""
    data = ROOT / "data"
    (tmp_path / "mappings").mkdir()
    (tmp_path / "real" / "washington-dc").mkdir(parents=True)
    for name in ("cities.json", "interests.json"):
        shutil.copy(data / name, tmp_path / name)
    shutil.copy(data / "mappings" / "washington-dc-camps-2016.yml", tmp_path / "mappings")
    shutil.copy(data / "real" / "washington-dc" / "dc_summer_camps_2016.csv",
                tmp_path / "real" / "washington-dc")
    return tmp_path / "mappings" / "washington-dc-camps-2016.yml"


def retitle_first_camp(mapping: Path, title: str) -> str:
    """Change the first camp's name in the copied CSV; return its objectid."""
    path = mapping.parent.parent / "real" / "washington-dc" / "dc_summer_camps_2016.csv"
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    rows[1][header.index("camp_name")] = title
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return rows[1][header.index("objectid")]


def test_import_cli_dry_run_then_update(platform, namespace, tmp_path):
    mapping = copy_dc_camps(tmp_path)

    unchanged = run_cli(namespace, "import", str(mapping), "--dry-run")
    assert unchanged.returncode == 0, unchanged.stderr
    source = json.loads(unchanged.stdout)["sources"][0]
    assert source["dry_run"] is True
    assert source["created"] == 0
    assert source["updated"] == 0
    assert source["unchanged"] == source["documents"] == 159

    object_id = retitle_first_camp(mapping, "Adventure Camp on Capitol Hill (renamed)")
    identifier = record_id("opportunities", "washington-dc",
                           "washington-dc-camps-2016", object_id)
    path = f"/v1/cities/washington-dc/opportunities/{identifier}"
    before = call(platform, "GET", path).json()
    dry = json.loads(run_cli(namespace, "import", str(mapping), "--dry-run")
                     .stdout)["sources"][0]
    assert (dry["updated"], dry["unchanged"]) == (1, 158)
    assert call(platform, "GET", path).json()["version"] == before["version"]

    applied = run_cli(namespace, "import", str(mapping), "--report",
                      str(tmp_path / "report.json"))
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["sources"][0]["updated"] == 1
    after = call(platform, "GET", path).json()
    assert after["title"] == "Adventure Camp on Capitol Hill (renamed)"
    assert after["version"] == before["version"] + 1
    again = json.loads(run_cli(namespace, "import", str(mapping)).stdout)["sources"][0]
    assert (again["updated"], again["unchanged"]) == (0, 159)
    assert call(platform, "GET", path).json()["version"] == after["version"]
    renamed = wait_for(lambda: identifier in search_ids(
        platform, "washington-dc", q="renamed"))
    assert renamed, "search never indexed the updated opportunity"

"""Catalog journeys on the real servers: onboarding, moderation, lifecycle events
reaching search, cross-city isolation, archiving and the import command.

The tests onboard fictional test cities (slugs starting ``e2e-``) and archive them
before the module ends, so the city list of the other journeys still shows only
the four seed cities.
"""

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from services.catalog.storage import record_id

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
# A fictional tenant laid over Springfield, Illinois, far from the seed cities.
TEST_BBOX = {"min_lat": 39.70, "min_lon": -89.75, "max_lat": 39.86, "max_lon": -89.55}
STREET = {"name": "Test Hall", "address": "1 Test Street", "lat": 39.78, "lon": -89.65}
SEARCH_WAIT_SECONDS = 60


def fictional_city(slug: str, admin_email: str | None = None) -> dict:
    city = {"slug": slug, "name": f"Test city {slug}", "time_zone": "America/Chicago",
            "default_locale": "en", "locales": ["en", "es"],
            "centre": {"lat": 39.78, "lon": -89.65}, "bbox": TEST_BBOX,
            "branding": {"display_name": f"{slug} City of Learning",
                         "primary_colour": "#336699", "logo_url": None}}
    if admin_email:
        city["admin"] = {"email": admin_email, "name": "Test Admin"}
    return city


def call(platform, method, path, body=None, account=None, **params):
    headers = {"X-Account-Id": account} if account else {}
    return requests.request(method, f"{platform['url']}{path}", json=body,
                            params=params, headers=headers, timeout=30)


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


def onboard(platform, slug) -> dict:
    response = call(platform, "POST", "/v1/cities",
                    fictional_city(slug, f"admin@{slug}.example"))
    assert response.status_code in (200, 201), response.text
    return response.json()


def approved_partner(platform, city, admin, name="Test Robot Lab") -> tuple[str, str]:
    """Invite, accept and approve a partner; return its id and its admin's account id."""
    invited = call(platform, "POST", f"/v1/cities/{city}/organizations", {
        "name": name, "kind": "museum", "website": "https://robots.example.org",
        "locations": [STREET],
        "admin": {"email": f"lead@{city}.example", "name": "Lee Lead"}}, admin)
    assert invited.status_code == 201, invited.text
    invitation = invited.json()["invitation"]
    accepted = call(platform, "POST", f"/v1/cities/{city}/invitations/accept",
                    {"token": invitation["token"]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["organization"]["membership"]["status"] == "pending"
    organization_id = invited.json()["organization"]["id"]
    approved = call(platform, "POST",
                    f"/v1/cities/{city}/organizations/{organization_id}/approve",
                    account=admin)
    assert approved.status_code == 200, approved.text
    return organization_id, invitation["account_id"]


def draft_body(organization_id, title) -> dict:
    return {"organization_id": organization_id, "title": title,
            "description": "<p>Build <b>robots</b>.</p><script>alert(1)</script>",
            "format": "in_person", "interests": ["coding-games"], "tags": ["robots"],
            "locations": [STREET], "min_age": 10, "max_age": 14, "capacity": 12,
            "cost": {"free": True}, "languages": ["en", "es"],
            "sessions": [{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00",
                          "rrule": "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"}]}


@pytest.fixture(scope="module")
def cities(platform):
    """Two onboarded test cities with their admin account ids; archived afterwards."""
    onboarded = {slug: onboard(platform, slug)["admin"]["id"]
                 for slug in ("e2e-alpha", "e2e-beta")}
    yield onboarded
    for slug in onboarded:
        call(platform, "POST", f"/v1/cities/{slug}/archive")


def test_onboarding_twice_is_idempotent(platform, cities):
    again = call(platform, "POST", "/v1/cities",
                 fictional_city("e2e-alpha", "admin@e2e-alpha.example"))
    assert again.status_code == 200, again.text
    body = again.json()
    assert body["outcome"] == "unchanged"
    assert body["interests_added"] == 0
    assert body["admin"]["id"] == cities["e2e-alpha"]
    interests = call(platform, "GET", "/v1/cities/e2e-alpha/interests").json()
    assert len(interests["interests"]) == 11
    organizations = call(platform, "GET", "/v1/cities/e2e-alpha/organizations").json()
    assert [item["kind"] for item in organizations["results"]] == ["anchor"]
    index = wait_for(lambda: call(platform, "GET", "/v1/cities/e2e-alpha/index")
                     .status_code == 200)
    assert index, "search never learnt of the onboarded city"


def test_cli_onboards_idempotently(platform, namespace):
    arguments = ["onboard", "--slug", "e2e-cli", "--name", "CLI test city",
                 "--time-zone", "America/Chicago", "--default-locale", "en",
                 "--locales", "en,es", "--bbox", "39.70", "-89.75", "39.86", "-89.55",
                 "--display-name", "CLI City of Learning", "--primary-colour", "#123456",
                 "--admin-email", "admin@e2e-cli.example", "--admin-name", "CLI Admin"]
    try:
        first = run_cli(namespace, *arguments)
        second = run_cli(namespace, *arguments)
        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        assert json.loads(first.stdout)["outcome"] == "created"
        assert json.loads(second.stdout)["outcome"] == "unchanged"
        assert json.loads(first.stdout)["admin"]["id"] == \
            json.loads(second.stdout)["admin"]["id"]
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
    created = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities",
                   draft_body(organization_id, "Robot Builders"), partner)
    assert created.status_code == 201, created.text
    opportunity = created.json()
    assert "<script" not in opportunity["description_html"]
    assert opportunity["schedule"]["occurrences"] == 6
    path = f"/v1/cities/e2e-alpha/opportunities/{opportunity['id']}"

    direct = call(platform, "POST", f"{path}/publish", account=partner)
    assert direct.status_code == 409, direct.text
    submitted = call(platform, "POST", f"{path}/submit", account=partner)
    assert submitted.json()["status"] == "submitted"
    self_approved = call(platform, "POST", f"{path}/approve", account=partner)
    assert self_approved.status_code == 403
    approved = call(platform, "POST", f"{path}/approve", {"reason": "Fine"}, admin)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "published"
    assert approved.json()["version"] == 3

    found = wait_for(lambda: opportunity["id"] in search_ids(
        platform, "e2e-alpha", q="Robot Builders"))
    assert found, "the published opportunity never reached search"

    withdrawn = call(platform, "POST", f"{path}/withdraw", {"reason": "Cancelled"},
                     partner)
    assert withdrawn.json()["status"] == "withdrawn"
    gone = wait_for(lambda: opportunity["id"] not in search_ids(
        platform, "e2e-alpha", q="Robot Builders"))
    assert gone, "the withdrawn opportunity is still in search"
    assert call(platform, "GET", path).json()["version"] == 4


def test_returned_opportunity_goes_back_to_draft(platform, cities):
    admin = cities["e2e-beta"]
    organization_id, partner = approved_partner(platform, "e2e-beta", admin)
    opportunity = call(platform, "POST", "/v1/cities/e2e-beta/opportunities",
                       draft_body(organization_id, "Returned Club"), partner).json()
    path = f"/v1/cities/e2e-beta/opportunities/{opportunity['id']}"
    call(platform, "POST", f"{path}/submit", account=partner)

    without_reason = call(platform, "POST", f"{path}/return", account=admin)
    returned = call(platform, "POST", f"{path}/return", {"reason": "Add a room"}, admin)

    assert without_reason.status_code == 400
    assert "reason" in without_reason.json()["errors"]
    assert returned.json()["status"] == "draft"
    assert returned.json()["review_notes"] == ["Add a room"]
    listed = call(platform, "GET", "/v1/cities/e2e-beta/catalog/opportunities",
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
    anchor = call(platform, "GET", "/v1/cities/e2e-alpha/organizations",
                  kind="anchor").json()["results"][0]["id"]
    response = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities",
                    {**draft_body(anchor, "Invalid"), **changes}, admin)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    node = response.json()["errors"]
    for key in path:
        assert key in node, response.json()
        node = node[key]


def test_other_city_never_sees_or_changes(platform, cities):
    alpha, beta = cities["e2e-alpha"], cities["e2e-beta"]
    anchor = call(platform, "GET", "/v1/cities/e2e-alpha/organizations",
                  kind="anchor").json()["results"][0]["id"]
    opportunity = call(platform, "POST", "/v1/cities/e2e-alpha/opportunities",
                       draft_body(anchor, "Alpha Only"), alpha).json()
    identifier = opportunity["id"]

    assert call(platform, "GET", f"/v1/cities/e2e-beta/opportunities/{identifier}") \
        .status_code == 404
    assert call(platform, "PATCH", f"/v1/cities/e2e-beta/opportunities/{identifier}",
                {"title": "Taken"}, beta).status_code == 404
    assert call(platform, "POST",
                f"/v1/cities/e2e-beta/opportunities/{identifier}/withdraw",
                account=beta).status_code == 404
    assert call(platform, "GET", f"/v1/cities/e2e-beta/organizations/{anchor}") \
        .status_code == 404
    assert call(platform, "POST", "/v1/cities/e2e-beta/opportunities",
                draft_body(anchor, "Cross"), alpha).status_code == 403
    listed = call(platform, "GET", "/v1/cities/e2e-beta/catalog/opportunities",
                  limit=1000).json()
    assert identifier not in {item["id"] for item in listed["results"]}
    unchanged = call(platform, "GET", f"/v1/cities/e2e-alpha/opportunities/{identifier}")
    assert unchanged.json()["title"] == "Alpha Only"
    assert unchanged.json()["version"] == 1


def test_archive_exports_and_spares_others(platform, namespace, cities, tmp_path):
    slug = "e2e-gamma"
    admin = onboard(platform, slug)["admin"]["id"]
    organization_id, partner = approved_partner(platform, slug, admin)
    call(platform, "POST", f"/v1/cities/{slug}/opportunities",
         draft_body(organization_id, "Gamma Club"), partner)
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
    assert call(platform, "POST", f"/v1/cities/{slug}/opportunities",
                draft_body(organization_id, "Late"), partner).status_code == 410
    assert call(platform, "POST", "/v1/cities",
                fictional_city(slug)).status_code == 410
    listed = [city["slug"] for city in call(platform, "GET", "/v1/cities")
              .json()["cities"]]
    assert slug not in listed
    assert call(platform, "GET", "/v1/cities/e2e-beta").status_code == 200
    assert call(platform, "GET", "/v1/cities/e2e-beta/interests").status_code == 200
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

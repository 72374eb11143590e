"""A partner's profile update through the gateway, on the real servers.

``PATCH /v1/cities/{city}/organizations/{organization_id}``: the org admin and
the city admin change the profile, search shows the new name and sites, each
invalid field is named in a 400 problem, and other callers get 401 or 403.
"""

import uuid

import pytest
import requests

from tests.e2e.test_catalog_tenancy import staff_member, wait_for

pytestmark = pytest.mark.e2e

CITY = "chicago"
LIBRARY = {"name": "Harold Washington Library Center", "address": "400 S State St",
           "lat": 41.8763, "lon": -87.6281}
BRANCH = {"name": "Chinatown Branch", "address": "2100 S Wentworth Ave",
          "lat": 41.8537, "lon": -87.6321}


def call(platform, method, path, who=None, body=None, headers=None, **params):
    """Send a request as ``who`` (anything ``Accounts.headers`` takes)."""
    accounts = platform["accounts"]
    return requests.request(method, f"{accounts.url}{path}", json=body, params=params,
                            headers={**accounts.headers(who), **(headers or {})},
                            timeout=30)


def profile_path(organization_id) -> str:
    return f"/v1/cities/{CITY}/organizations/{organization_id}"


def site_names(platform, word) -> dict[str, set]:
    """Return the site names of each organisation whose sites match ``word``."""
    response = call(platform, "GET", f"/v1/cities/{CITY}/sites", q=word,
                    page_size=50)
    if response.status_code != 200:
        return {}
    found: dict[str, set] = {}
    for site in response.json()["results"]:
        found.setdefault(site["organization"], set()).add(site["name"])
    return found


@pytest.fixture(scope="module")
def partner(platform):
    organization_id, lead = platform["accounts"].partner(CITY, "museum")
    return {"id": organization_id, "lead": lead}


def test_org_admin_updates_profile(platform, partner):
    word = f"Zephyr{uuid.uuid4().hex[:6]}"
    before = call(platform, "GET", profile_path(partner["id"])).json()
    response = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"], {
        "name": f"{word} Robotics", "website": "https://zephyr.example.org",
        "description": "Robotics clubs for ages 10 to 14.",
        "locations": [LIBRARY, BRANCH]})
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == f"{word} Robotics"
    assert updated["website"] == "https://zephyr.example.org"
    assert updated["description"] == "Robotics clubs for ages 10 to 14."
    assert [site["address"] for site in updated["locations"]] == [
        LIBRARY["address"], BRANCH["address"]]
    assert updated["version"] == before["version"] + 1
    assert updated["kind"] == "museum"
    assert call(platform, "GET", profile_path(partner["id"])).json() == updated

    expected = {f"{word} Robotics": {LIBRARY["name"], BRANCH["name"]}}
    assert wait_for(lambda: site_names(platform, word) == expected), \
        site_names(platform, word)

    # Dropping a location removes its site from search.
    fewer = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                 {"locations": [BRANCH]})
    assert fewer.status_code == 200, fewer.text
    expected = {f"{word} Robotics": {BRANCH["name"]}}
    assert wait_for(lambda: site_names(platform, word) == expected), \
        site_names(platform, word)


def test_city_admin_changes_kind(platform, partner):
    response = call(platform, "PATCH", profile_path(partner["id"]), f"admin:{CITY}",
                    {"kind": "library"})
    assert response.status_code == 200, response.text
    assert response.json()["kind"] == "library"


@pytest.mark.parametrize("body, path, words", [
    ({"kind": "school"}, ["kind"], "administrators"),
    ({"anchor": True}, ["anchor"], "cannot be changed"),
    ({"membership": {"status": "approved"}}, ["membership"], "cannot be changed"),
    ({"website": "ftp://zephyr.example.org"}, ["website"], "http or https"),
    ({"name": ""}, ["name"], ""),
    ({"description": "x" * 2001}, ["description"], "2000"),
    ({"locations": [{**BRANCH, "lat": -87.6321, "lon": 41.8537}]},
     ["locations", "0", "lat"], "swapped"),
    ({"locations": [{**BRANCH, "address": None}]}, ["locations", "0", "address"],
     "street address"),
    ({"locations": [{"name": "Somewhere", "address": "1 Main St"}]},
     ["locations", "0", "lat"], ""),
    ({}, ["body"], "fields to change"),
])
def test_invalid_update_names_field(platform, partner, body, path, words):
    response = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                    body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    node = response.json()["errors"]
    for key in path:
        assert key in node, response.json()
        node = node[key]
    assert words in " ".join(node), node


def test_stale_version_conflicts(platform, partner):
    current = call(platform, "GET", profile_path(partner["id"])).json()["version"]
    stale = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                 {"description": "Stale edit."}, headers={"If-Match": str(current - 1)})
    assert stale.status_code == 409, stale.text
    malformed = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                     {"description": "Bad header."}, headers={"If-Match": "latest"})
    assert malformed.status_code == 400, malformed.text
    assert "If-Match" in malformed.json()["errors"]
    fresh = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                 {"description": "Fresh edit."}, headers={"If-Match": str(current)})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["version"] == current + 1
    assert fresh.headers["ETag"] == f'"{current + 1}"'


def test_etag_round_trips_as_if_match(platform, partner):
    read = call(platform, "GET", profile_path(partner["id"]))
    etag = read.headers["ETag"]
    assert etag == f'"{read.json()["version"]}"'
    edited = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                  {"description": "Edited from its ETag."}, headers={"If-Match": etag})
    assert edited.status_code == 200, edited.text
    again = call(platform, "PATCH", profile_path(partner["id"]), partner["lead"],
                 {"description": "Edited from an old ETag."}, headers={"If-Match": etag})
    assert again.status_code == 409, again.text


def test_others_may_not_update(platform, partner):
    staff = staff_member(platform, CITY, partner["id"], partner["lead"])
    _, rival = platform["accounts"].partner(CITY, "school")
    body = {"description": "Not yours."}
    assert call(platform, "PATCH", profile_path(partner["id"]), None,
                body).status_code == 401
    for who in (staff, rival):
        response = call(platform, "PATCH", profile_path(partner["id"]), who, body)
        assert response.status_code == 403, response.text
    other_city = call(platform, "PATCH",
                      f"/v1/cities/dallas/organizations/{partner['id']}",
                      partner["lead"], body)
    assert other_city.status_code in (403, 404), other_city.text


def test_openapi_documents_update(platform):
    document = call(platform, "GET", "/v1/openapi.json").json()
    operation = document["paths"]["/v1/cities/{city}/organizations/{organization_id}"]
    patch = operation["patch"]
    assert "requestBody" in patch
    for status in ("200", "400", "401", "403", "404", "409", "410"):
        assert status in patch["responses"], status

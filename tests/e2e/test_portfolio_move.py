"""A young person who moves city keeps one portfolio: ``GET /v1/me/portfolio``.

The account creates its own youth profile in Chicago, earns a badge there,
moves to Dallas, creates its profile there with the same account and earns
another badge. The account portfolio shows both, each with its city.
"""

import uuid
from datetime import date

import pytest

pytestmark = pytest.mark.e2e

TEEN_YEAR = date.today().year - 15


def send(platform, who, method, path, body=None):
    return platform["accounts"].request(method, path, who, body, timeout=30)


def own_profile(platform, account, city) -> str:
    response = send(platform, account, "POST", f"/v1/cities/{city}/youth", {
        "display_name": "Sam", "birth_year": TEEN_YEAR, "birth_month": 5})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def award(platform, city, youth_id) -> dict:
    """Award a new city badge class of ``city`` to the youth as its administrator."""
    admin = f"admin:{city}"
    badge_class = send(platform, admin, "POST", f"/v1/cities/{city}/badges/classes", {
        "issuer_id": "city", "name": f"Explorer of {city.title()}",
        "description": "Explored the city's libraries.",
        "criteria": {"narrative": "Visit three libraries."},
        "id": f"bc-move-{uuid.uuid4().hex[:8]}"})
    assert badge_class.status_code == 201, badge_class.text
    awarded = send(platform, admin, "POST", f"/v1/cities/{city}/badges/awards", {
        "badge_class_id": badge_class.json()["id"], "youth_id": youth_id,
        "opportunity_id": "opp-library-trail", "awarded_by": {"name": "Ms Rivera"}, "narrative": "Visited three."})
    assert awarded.status_code == 201, awarded.text
    return awarded.json()


@pytest.fixture(scope="module")
def moved(platform):
    """An account with its own profile and one badge in Chicago, then in Dallas."""
    account = platform["accounts"].sign_up("chicago")
    chicago_youth = own_profile(platform, account, "chicago")
    chicago_badge = award(platform, "chicago", chicago_youth)
    dallas_youth = own_profile(platform, account, "dallas")
    dallas_badge = award(platform, "dallas", dallas_youth)
    return {"account": account,
            "youth": {"chicago": chicago_youth, "dallas": dallas_youth},
            "badges": {"chicago": chicago_badge, "dallas": dallas_badge}}


def test_portfolio_shows_badges_of_both_cities(platform, moved):
    response = send(platform, moved["account"], "GET", "/v1/me/portfolio")
    assert response.status_code == 200, response.text
    body = response.json()
    profiles = {item["city"]: item["youth_id"] for item in body["profiles"]}
    assert profiles == moved["youth"]
    held = {(badge["city"], badge["assertion_id"]) for badge in body["badges"]}
    assert held == {(city, badge["assertion_id"])
                    for city, badge in moved["badges"].items()}
    assert body["skipped"] == []


def test_portfolio_badge_links_to_its_city(platform, moved):
    body = send(platform, moved["account"], "GET", "/v1/me/portfolio").json()
    for badge in body["badges"]:
        assert f"/v1/cities/{badge['city']}/badges/" in badge["issuer"]["url"]
    for profile in body["profiles"]:
        assert profile["record_url"].endswith(
            f"/v1/cities/{profile['city']}/youth/{profile['youth_id']}/record")


def test_portfolio_of_other_account_is_empty(platform, moved):
    stranger = platform["accounts"].sign_up("dallas")
    body = send(platform, stranger, "GET", "/v1/me/portfolio").json()
    assert body == {"profiles": [], "badges": [], "skipped": []}


def test_portfolio_needs_sign_in(platform):
    assert send(platform, None, "GET", "/v1/me/portfolio").status_code == 401

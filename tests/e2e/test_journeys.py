"""Journeys through the gateway on the real servers and the real seeded data.

A guardian account registers children, the city's administrator signs off
completions of imported opportunities (which no partner runs), and partners'
org admins subscribe to webhooks signed in.
"""

import base64
import hashlib
import hmac
import time

import pytest
import requests

from tests.receiver import Receiver

# Harold Washington Library Center, 400 S State St, Chicago.
CHICAGO_LOOP = (41.8763, -87.6281)
# Dallas City Hall, 1500 Marilla St.
DALLAS_CITY_HALL = (32.7763, -96.7969)
CITIES = ["chicago", "dallas", "pittsburgh", "washington-dc"]

pytestmark = pytest.mark.e2e


def get(platform, path, who=None, **params):
    return platform["accounts"].request("GET", path, who, timeout=15, **params)


def post(platform, path, who, body):
    return platform["accounts"].request("POST", path, who, body, timeout=15)


@pytest.fixture(scope="module")
def guardian(platform):
    """A signed-in guardian who registers the children of these journeys."""
    return platform["accounts"].sign_up("chicago")


@pytest.fixture(scope="module")
def stranger(platform):
    """A signed-in account with no youth, partner or administrator role."""
    return platform["accounts"].sign_up("dallas")


@pytest.fixture(scope="module")
def partners(platform):
    """Return a function that takes a city and a partner's name and returns the
    partner's org admin. Each partner is invited and approved on first use."""
    created = {}

    def partner(city, name, kind="university"):
        if (city, name) not in created:
            created[city, name] = platform["accounts"].partner(city, kind, name)[1]
        return created[city, name]

    return partner


def child(name, birth_year, birth_month) -> dict:
    return {"display_name": name, "birth_year": birth_year, "birth_month": birth_month}


def verify_signature(secret: str, headers: dict, body: str) -> bool:
    """Check a Standard Webhooks signature with plain hmac, apart from the sender's code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [item.split(",", 1)[1] for item in headers["webhook-signature"].split()]
    return expected in given


def registrable(platform, city, point):
    """Return a published, nearby opportunity that a 14-year-old may join."""
    results = get(platform, f"/v1/cities/{city}/opportunities", lat=point[0],
                  lon=point[1], radius_km=20, age=14, page_size=50).json()["results"]
    assert results, f"no opportunity for a 14-year-old near {point} in {city}"
    return results[0]


def test_cities_lists_four_seed_cities(platform):
    response = get(platform, "/v1/cities")
    assert response.status_code == 200
    slugs = [city["slug"] for city in response.json()["cities"]]
    # Other test files onboard cities of their own in the same platform.
    assert [slug for slug in slugs if slug in CITIES] == CITIES


def test_import_reports_rejected_rows_with_reasons(platform):
    sources = {item["source"]: item for item in platform["report"]["sources"]}
    assert sources, "the seed imported no source"
    rejected = [row for item in sources.values() for row in item["rejected_rows"]]
    assert rejected, "the real files have faults; some rows must be rejected"
    assert all(row["reason"] for row in rejected)
    codes = {row["reason_code"] for row in rejected}
    assert "test_record" in codes
    assert "outside_city_area" in codes


def test_search_near_point_returns_distances(platform):
    response = get(platform, "/v1/cities/chicago/opportunities", lat=CHICAGO_LOOP[0],
                   lon=CHICAGO_LOOP[1], radius_km=3)
    body = response.json()
    assert response.status_code == 200
    assert body["total"] > 0
    distances = [item["distance"]["km"] for item in body["results"]]
    assert distances == sorted(distances)
    assert all(distance <= 3.0 for distance in distances)
    assert all(item["city"] == "chicago" for item in body["results"])


def test_search_text_and_interest_filter(platform):
    response = get(platform, "/v1/cities/chicago/opportunities", q="library",
                   interest="coding-games")
    body = response.json()
    assert response.status_code == 200
    assert body["total"] > 0
    assert all("coding-games" in item["interests"] for item in body["results"])


def test_search_pages_with_cursor(platform):
    first = get(platform, "/v1/cities/dallas/opportunities", page_size=5).json()
    second = get(platform, "/v1/cities/dallas/opportunities", page_size=5,
                 cursor=first["next_cursor"]).json()
    first_ids = {item["id"] for item in first["results"]}
    second_ids = {item["id"] for item in second["results"]}
    assert len(first_ids) == 5
    assert len(second_ids) == 5
    assert not first_ids & second_ids


def test_search_chicago_never_returns_dallas(platform):
    near_dallas = get(platform, "/v1/cities/chicago/opportunities",
                      lat=DALLAS_CITY_HALL[0], lon=DALLAS_CITY_HALL[1], radius_km=50)
    assert near_dallas.json()["total"] == 0
    dallas = get(platform, "/v1/cities/dallas/opportunities", page_size=50).json()
    assert dallas["total"] > 0
    assert all(item["city"] == "dallas" for item in dallas["results"])
    some_dallas_id = dallas["results"][0]["id"]
    assert get(platform, f"/v1/cities/chicago/opportunities/{some_dallas_id}") \
        .status_code == 404


def test_pittsburgh_has_sites_but_no_programmes(platform):
    programmes = get(platform, "/v1/cities/pittsburgh/opportunities").json()
    sites = get(platform, "/v1/cities/pittsburgh/sites", lat=40.4406, lon=-79.9959,
                radius_km=10).json()
    assert programmes["total"] == 0
    assert sites["total"] > 0
    assert sites["results"][0]["distance"]["km"] <= 10


@pytest.mark.parametrize("params, field", [
    ({"lat": "200", "lon": "0"}, "lat"),
    ({"lat": "41.8", "lon": "-87.6", "radius_km": "500"}, "radius_km"),
    ({"lat": "41.8"}, "lon"),
    ({"sort": "price"}, "sort"),
    ({"cursor": "not-a-cursor"}, "cursor"),
    ({"page_size": "1000"}, "page_size"),
    ({"lat": "north", "lon": "0"}, "lat"),
    ({"free": "maybe"}, "free"),
])
def test_search_invalid_parameter_names_field(platform, params, field):
    response = get(platform, "/v1/cities/chicago/opportunities", **params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_unknown_city_is_404(platform):
    response = get(platform, "/v1/cities/atlantis/opportunities")
    assert response.status_code == 404
    assert "atlantis" in response.json()["detail"]


def test_registration_invalid_body_names_field(platform, guardian):
    response = post(platform, "/v1/cities/chicago/registrations", guardian,
                    {"opportunity_id": "x", "relationship": "guardian",
                     "youth": child("A", 1850, 13)})
    assert response.status_code == 400
    errors = response.json()["errors"]["youth"]
    assert "birth_month" in errors


def test_registration_needs_sign_in(platform):
    opportunity = registrable(platform, "chicago", CHICAGO_LOOP)
    response = post(platform, "/v1/cities/chicago/registrations", None,
                    {"opportunity_id": opportunity["id"], "relationship": "guardian",
                     "youth": child("Al", 2012, 3)})
    assert response.status_code == 401


@pytest.mark.parametrize("city, point", [("chicago", CHICAGO_LOOP),
                                         ("dallas", DALLAS_CITY_HALL)])
def test_chain_delivers_signed_badge_webhook(platform, guardian, partners, stranger,
                                             city, point):
    other = "dallas" if city == "chicago" else "chicago"
    own, foreign = Receiver(), Receiver()
    try:
        mine = post(platform, f"/v1/cities/{city}/webhooks",
                    partners(city, f"{city}-college"),
                    {"url": own.url, "event_types": ["badge.issued"]}).json()
        post(platform, f"/v1/cities/{other}/webhooks",
             partners(other, f"{other}-college"),
             {"url": foreign.url, "event_types": ["badge.issued"]})
        opportunity = registrable(platform, city, point)
        registration = post(platform, f"/v1/cities/{city}/registrations", guardian, {
            "opportunity_id": opportunity["id"], "relationship": "guardian",
            "youth": child("Sam", 2012, 1),
        })
        assert registration.status_code == 201, registration.text
        registration = registration.json()
        assert registration["status"] == "confirmed"

        # Imported opportunities belong to no partner, so the city's
        # administrator signs off their completions.
        completion = f"/v1/cities/{city}/registrations/{registration['id']}/completion"
        by_guardian = post(platform, completion, guardian, {})
        assert by_guardian.status_code in (403, 404), by_guardian.text
        completed = post(platform, completion, f"admin:{city}", {})
        assert completed.status_code == 200, completed.text

        received = own.wait_for(lambda items: len(items) >= 1)
        assert len(received) == 1
        event = received[0]
        assert event["type"] == "org.citiesoflearning.badge.issued"
        assert event["data"]["city"] == city
        assert event["data"]["opportunity_id"] == opportunity["id"]
        request = own.requests[0]
        assert verify_signature(mine["secret"], request["headers"], request["body"])
        badges_path = f"/v1/cities/{city}/youth/{registration['youth_id']}/badges"
        badges = get(platform, badges_path, guardian).json()["badges"]
        assert [badge["opportunity_id"] for badge in badges] == [opportunity["id"]]
        assert get(platform, badges_path, stranger).status_code == 404
        assert get(platform, badges_path).status_code == 401
        assert all(item["data"]["city"] == other for item in foreign.events())
    finally:
        own.close()
        foreign.close()


def test_register_twice_returns_first_registration(platform, guardian, stranger):
    opportunity = registrable(platform, "chicago", CHICAGO_LOOP)
    first = post(platform, "/v1/cities/chicago/registrations", guardian, {
        "opportunity_id": opportunity["id"], "relationship": "guardian",
        "youth": child("Ana", 2012, 5)}).json()
    again = post(platform, "/v1/cities/chicago/registrations", guardian, {
        "opportunity_id": opportunity["id"], "youth_id": first["youth_id"]})
    assert again.status_code == 200
    assert again.json()["id"] == first["id"]
    # Another account's youth id is not found, not merely forbidden.
    by_stranger = post(platform, "/v1/cities/chicago/registrations", stranger, {
        "opportunity_id": opportunity["id"], "youth_id": first["youth_id"]})
    assert by_stranger.status_code == 404


def test_completion_twice_issues_one_badge(platform, guardian, partners):
    receiver = Receiver()
    try:
        post(platform, "/v1/cities/dallas/webhooks",
             partners("dallas", "dallas-employer", "employer"),
             {"url": receiver.url, "event_types": ["badge.issued"]})
        opportunity = registrable(platform, "dallas", DALLAS_CITY_HALL)
        registration = post(platform, "/v1/cities/dallas/registrations", guardian, {
            "opportunity_id": opportunity["id"], "relationship": "guardian",
            "youth": child("Lee", 2012, 2),
        }).json()
        path = f"/v1/cities/dallas/registrations/{registration['id']}/completion"
        assert post(platform, path, "admin:dallas", {}).status_code == 200
        assert post(platform, path, "admin:dallas", {}).status_code == 200
        receiver.wait_for(lambda items: any(
            item["data"]["youth_id"] == registration["youth_id"] for item in items))
        badges = get(platform, f"/v1/cities/dallas/youth/{registration['youth_id']}"
                               "/badges", guardian).json()["badges"]
        assert len(badges) == 1
    finally:
        receiver.close()


def test_webhook_retried_until_endpoint_recovers(platform, guardian, partners):
    receiver = Receiver(failures=2)
    flaky = partners("chicago", "flaky-partner")
    try:
        subscription = post(platform, "/v1/cities/chicago/webhooks", flaky,
                            {"url": receiver.url,
                             "event_types": ["badge.issued"]}).json()
        opportunity = registrable(platform, "chicago", CHICAGO_LOOP)
        registration = post(platform, "/v1/cities/chicago/registrations", guardian, {
            "opportunity_id": opportunity["id"], "relationship": "guardian",
            "youth": child("Kim", 2011, 9),
        }).json()
        post(platform, f"/v1/cities/chicago/registrations/{registration['id']}"
                       "/completion", "admin:chicago", {})
        receiver.wait_for(lambda items: len(items) >= 3, timeout=60)
        assert len(receiver.requests) == 3
        ids = {request["headers"]["webhook-id"] for request in receiver.requests}
        assert len(ids) == 1
        # The delivery is marked delivered after the endpoint's response
        # arrives, so the receiver can see the request first.
        deadline = time.monotonic() + 30
        while True:
            deliveries = get(platform, f"/v1/cities/chicago/webhooks/{subscription['id']}"
                                       "/deliveries", flaky).json()["deliveries"]
            if deliveries and deliveries[0]["status"] != "pending" \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert [item["status"] for item in deliveries] == ["delivered"]
    finally:
        receiver.close()


def test_webhook_subscription_rejects_private_address(platform, partners):
    response = post(platform, "/v1/cities/chicago/webhooks",
                    partners("chicago", "chicago-college"),
                    {"url": "http://169.254.169.254/latest",
                     "event_types": ["badge.issued"]})
    assert response.status_code == 400
    assert "url" in response.json()["errors"]


def test_services_expose_metrics(platform):
    for name, port in platform["metrics"].items():
        body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert "col_entrypoint_calls_total" in body, name

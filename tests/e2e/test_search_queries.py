"""Search queries through the gateway on the real seeded data: filters, facets,
sorting, pagination, related opportunities, autocomplete, 400s and the 503."""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests
from nameko.standalone.events import event_dispatcher

from cities_common import events
from tests.stack import rabbitmqctl, vhost_uri

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DALLAS_CITY_HALL = {"lat": 32.7763, "lon": -96.7969}
CHICAGO_LOOP = {"lat": 41.8763, "lon": -87.6281}
NORTH_DALLAS = {"lat": 32.98, "lon": -96.80}
WAIT_SECONDS = 120


def get(platform, path, **params):
    return requests.get(f"{platform['url']}{path}", params=params, timeout=15)


def search(platform, city, **params):
    response = get(platform, f"/v1/cities/{city}/opportunities", **params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body):
    return {item["id"] for item in body["results"]}


def wait_until(condition, timeout=WAIT_SECONDS, message="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout} s waiting for {message}")


def walk_pages(platform, city, **params):
    """Follow next_cursor to the end; return every page's results and the total."""
    results, cursor, total = [], None, None
    for _ in range(500):
        page = search(platform, city, **params, **({"cursor": cursor} if cursor else {}))
        total = page["total"] if total is None else total
        results.extend(page["results"])
        cursor = page["next_cursor"]
        if cursor is None:
            return results, total
    pytest.fail("more than 500 pages")


@pytest.fixture(scope="module")
def quokkas(namespace, platform):
    """Publish three opportunities as the catalog's events; return their ids by name.

    They carry the fields the seed data lacks: skills, languages, accessibility,
    registration windows and recurring sessions.
    """
    token = f"Quokka{uuid.uuid4().hex[:6]}"
    today = date.today()
    base = {"city": "dallas", "status": "published", "version": 1,
            "description": "Quokkas teach soldering.", "interests": ["designing-making"],
            "provider": {"name": "Quokka Works"}, "format": "in_person",
            "locations": [{"name": "North Dallas Branch", **NORTH_DALLAS}],
            "min_age": 12, "max_age": 15}
    documents = {
        "open": {**base, "id": f"opp-{token}-open", "title": f"{token} Soldering Club",
                 "skills": ["soldering"], "languages": ["es-MX"],
                 "accessibility_notes": "Wheelchair accessible entrance on Elm St.",
                 "sessions": [{"start": "2031-07-07T10:00", "end": "2031-07-07T12:00",
                               "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4"}],
                 "start_date": "2031-07-07", "end_date": "2031-07-28",
                 "registration": {"opens": f"{today - timedelta(days=10)}T09:00",
                                  "closes": f"{today + timedelta(days=10)}T17:00"},
                 "cost": {"free": True}},
        "closed": {**base, "id": f"opp-{token}-closed", "title": f"{token} Welding Club",
                   "skills": ["welding"], "languages": ["en"],
                   "accessibility": ["step-free"],
                   "start_date": "2031-08-04", "end_date": "2031-08-08",
                   # Closed three days ago, so whatever the city's date is now.
                   "registration": {"opens": f"{today - timedelta(days=30)}T09:00",
                                    "closes": f"{today - timedelta(days=3)}T17:00"},
                   "cost": {"free": False, "amount": 40.0}},
        "online": {**base, "id": f"opp-{token}-online", "title": f"{token} Online Club",
                   "format": "online", "locations": [], "languages": ["en"],
                   "cost": {"free": True}},
    }
    dispatch = event_dispatcher({"AMQP_URI": namespace.amqp_uri})
    for document in documents.values():
        envelope = events.make_event(events.OPPORTUNITY_PUBLISHED, "dallas",
                                     {"opportunity": document, "version": 1})
        dispatch("catalog", events.OPPORTUNITY_PUBLISHED, envelope)
    wait_until(lambda: search(platform, "dallas", q=token)["total"] == 3,
               message=f"the three {token} opportunities to be searchable")
    return {"token": token, **{name: doc["id"] for name, doc in documents.items()}}


def test_filter_language_matches_primary_subtag(platform, quokkas):
    token = quokkas["token"]
    assert ids(search(platform, "dallas", q=token, language="es")) == {quokkas["open"]}
    assert ids(search(platform, "dallas", q=token, language="es-MX")) == \
        {quokkas["open"]}
    assert ids(search(platform, "dallas", q=token, language="en")) == \
        {quokkas["closed"], quokkas["online"]}


def test_filter_skills_and_accessibility(platform, quokkas):
    token = quokkas["token"]
    assert ids(search(platform, "dallas", q=token, skills="soldering")) == \
        {quokkas["open"]}
    assert ids(search(platform, "dallas", q=token,
                      accessibility="wheelchair-accessible")) == {quokkas["open"]}
    assert ids(search(platform, "dallas", q=token, accessibility="step-free")) == \
        {quokkas["closed"]}


def test_filter_registration_open_now(platform, quokkas):
    body = search(platform, "dallas", q=quokkas["token"], registration_open="true")
    assert ids(body) == {quokkas["open"], quokkas["online"]}


def test_filter_date_window_overlaps_sessions(platform, quokkas):
    token = quokkas["token"]
    # Between the first and last of four weekly sessions.
    body = search(platform, "dallas", q=token, date_from="2031-07-15",
                  date_to="2031-07-16")
    assert ids(body) == {quokkas["open"]}
    body = search(platform, "dallas", q=token, date_from="2031-07-20",
                  date_to="2031-08-05")
    assert ids(body) == {quokkas["open"], quokkas["closed"]}


def test_filter_cost_facet_and_free(platform, quokkas):
    token = quokkas["token"]
    body = search(platform, "dallas", q=token)
    assert {item["value"]: item["count"] for item in body["facets"]["cost"]} == \
        {"free": 2, "paid": 1}
    assert ids(search(platform, "dallas", q=token, cost="paid")) == {quokkas["closed"]}
    assert ids(search(platform, "dallas", q=token, free="true")) == \
        {quokkas["open"], quokkas["online"]}


def test_online_found_regardless_of_distance(platform, quokkas):
    token = quokkas["token"]
    near = search(platform, "dallas", q=token, radius_km=1, **NORTH_DALLAS)
    assert ids(near) == {quokkas["open"], quokkas["closed"]}
    both = search(platform, "dallas", q=token, radius_km=1, include_online="true",
                  sort="distance", **NORTH_DALLAS)
    assert ids(both) == {quokkas["open"], quokkas["closed"], quokkas["online"]}
    assert both["results"][-1]["id"] == quokkas["online"]
    assert both["results"][-1]["distance"] is None
    assert both["results"][0]["distance"]["km"] < 0.01
    assert both["results"][0]["distance"]["miles"] < 0.01


def test_distance_in_km_and_miles(platform):
    body = search(platform, "chicago", radius_km=3, **CHICAGO_LOOP)
    assert body["total"] > 0
    assert body["sort"] == "distance"
    for item in body["results"]:
        assert item["distance"]["km"] <= 3.0
        assert item["distance"]["miles"] == pytest.approx(
            item["distance"]["km"] / 1.609344, abs=0.002)


def test_text_search_highlights(platform):
    body = search(platform, "dallas", q="robotics")
    assert body["total"] > 0
    assert body["sort"] == "relevance"
    highlighted = [item["highlights"] for item in body["results"] if item["highlights"]]
    assert highlighted
    fragments = [text for item in highlighted for texts in item.values() for text in texts]
    assert all("<em>" in text for text in fragments)


def test_blended_sort_within_radius(platform):
    body = search(platform, "dallas", q="library", radius_km=10, **DALLAS_CITY_HALL)
    assert body["sort"] == "blended"
    assert body["total"] > 0
    assert all(item["distance"]["km"] <= 10 for item in body["results"])


def test_start_date_sort_ascending(platform):
    results, total = walk_pages(platform, "dallas", sort="start_date", page_size=50,
                                interests="zoology", facets="false")
    assert len(results) == total
    dates = [item["start_date"] for item in results if item["start_date"]]
    assert dates == sorted(dates)
    undated = [item["start_date"] is None for item in results]
    assert undated == sorted(undated)


def test_deep_pagination_covers_every_result(platform):
    results, total = walk_pages(platform, "dallas", interests="storytelling",
                                page_size=50, facets="false")
    assert total > 1000
    assert len(results) == total
    assert len({item["id"] for item in results}) == total


def test_date_window_and_age_overlap(platform):
    body = search(platform, "dallas", date_from="2018-06-01", date_to="2018-06-30",
                  min_age=16, max_age=18, page_size=50)
    assert body["total"] > 0
    for item in body["results"]:
        assert item["start_date"] <= "2018-06-30"
        assert item["end_date"] is None or item["end_date"] >= "2018-06-01"
        assert item["min_age"] is None or item["min_age"] <= 18
        assert item["max_age"] is None or item["max_age"] >= 16


def test_facets_count_current_query(platform):
    body = search(platform, "chicago", q="art")
    facets = body["facets"]
    assert set(facets) == {"interests", "format", "provider", "cost"}
    assert sum(item["count"] for item in facets["format"]) == body["total"]
    assert sum(item["count"] for item in facets["cost"]) == body["total"]
    top = facets["interests"][0]
    assert search(platform, "chicago", q="art", interests=top["value"])["total"] == \
        top["count"]
    provider = facets["provider"][0]
    assert search(platform, "chicago", q="art", provider=provider["value"])["total"] == \
        provider["count"]


def test_facet_selection_keeps_other_values(platform):
    body = search(platform, "chicago", q="art")
    first, second = body["facets"]["interests"][:2]
    selected = search(platform, "chicago", q="art", interests=first["value"])
    counts = {item["value"]: item["count"] for item in selected["facets"]["interests"]}
    assert counts[second["value"]] == second["count"]
    assert all(first["value"] in item["interests"] for item in selected["results"])


def test_related_shares_interest_or_text(platform):
    body = search(platform, "chicago", q="science", page_size=10, **CHICAGO_LOOP,
                  radius_km=20)
    source = next(item for item in body["results"] if item["interests"])
    response = get(platform, f"/v1/cities/chicago/opportunities/{source['id']}/related",
                   page_size=10)
    assert response.status_code == 200
    related = response.json()["results"]
    assert related
    assert source["id"] not in {item["id"] for item in related}
    assert any(set(item["interests"]) & set(source["interests"]) for item in related)
    assert all(item["city"] == "chicago" for item in related)
    located = [item for item in related if item["distance"]]
    assert located
    assert all({"km", "miles"} <= set(item["distance"]) for item in located)


def test_related_unknown_opportunity_is_404(platform):
    response = get(platform, "/v1/cities/chicago/opportunities/opp-missing/related")
    assert response.status_code == 404
    assert "opp-missing" in response.json()["detail"]


def test_autocomplete_titles_and_interests(platform):
    body = get(platform, "/v1/cities/dallas/autocomplete", prefix="rob").json()
    assert body["titles"]
    for item in body["titles"]:
        words = re.findall(r"\w+", item["title"].lower())
        assert any(word.startswith("rob") for word in words), item
    assert len({item["title"].lower() for item in body["titles"]}) == len(body["titles"])
    assert get(platform, "/v1/cities/dallas/autocomplete",
               prefix="zoo").json()["interests"] == ["zoology"]
    assert "exploring-earth-science" in get(
        platform, "/v1/cities/dallas/autocomplete", prefix="scien").json()["interests"]


def test_autocomplete_stays_in_city(platform):
    dallas = get(platform, "/v1/cities/dallas/autocomplete", prefix="lego", size=10)
    chicago = get(platform, "/v1/cities/chicago/autocomplete", prefix="lego", size=10)
    dallas_ids = {item["id"] for item in dallas.json()["titles"]}
    chicago_ids = {item["id"] for item in chicago.json()["titles"]}
    assert dallas_ids
    assert not dallas_ids & chicago_ids


@pytest.mark.parametrize("path, params, field", [
    ("opportunities", {"lat": "91", "lon": "0"}, "lat"),
    ("opportunities", {"lat": "nan", "lon": "0"}, "lat"),
    ("opportunities", {"lat": "41.8", "lon": "-187"}, "lon"),
    ("opportunities", {"lat": "41.8", "lon": "-87.6", "radius_km": "100.5"},
     "radius_km"),
    ("opportunities", {"sort": "popularity"}, "sort"),
    ("opportunities", {"q": "art", "sort": "distance"}, "sort"),
    ("opportunities", {"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ("opportunities", {"cursor": "eyJzb3J0IjoiZGlzdGFuY2UiLCJhZnRlciI6WzEsIngiXX0"},
     "cursor"),
    ("opportunities", {"page_size": "51"}, "page_size"),
    ("opportunities", {"date_from": "2026-02-30"}, "date_from"),
    ("opportunities", {"registration_open": "soon"}, "registration_open"),
    ("opportunities", {"language": "english!"}, "language"),
    ("autocomplete", {}, "prefix"),
    ("autocomplete", {"prefix": "rob", "size": "11"}, "size"),
    ("opportunities/opp-x/related", {"page_size": "21"}, "page_size"),
])
def test_search_bad_input_names_parameter(platform, path, params, field):
    response = get(platform, f"/v1/cities/dallas/{path}", **params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["errors"]


def test_cursor_with_wrong_value_types_is_400(platform):
    # Unsigned, and with a text where the distance sort has a number.
    import base64

    cursor = base64.urlsafe_b64encode(
        b'{"sort":"distance","after":["far","opp-1"]}').decode().rstrip("=")
    response = get(platform, "/v1/cities/dallas/opportunities", cursor=cursor,
                   **DALLAS_CITY_HALL)
    assert response.status_code == 400
    assert "cursor" in response.json()["errors"]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def search_without_elasticsearch(namespace, platform, tmp_path):
    """Start a gateway and a search service whose ES_URL is a closed port.

    They share the namespace's databases, so the cities are known, but use their
    own RabbitMQ vhost, so the platform's search service never replies to them.
    """
    vhost = f"{namespace.name}_noes"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    port = closed_port()
    env = {**os.environ, **namespace.config(), "PYTHONPATH": str(ROOT),
           "AMQP_URI": vhost_uri(namespace.settings.amqp_uri, vhost),
           "ES_URL": f"http://127.0.0.1:{closed_port()}",
           "GATEWAY_ADDRESS": f"127.0.0.1:{port}"}
    processes = []
    try:
        for path in ("services.search.service:SearchService",
                     "gateway.service:GatewayService"):
            log = open(tmp_path / f"{path.split('.')[0]}.log", "wb")
            processes.append(subprocess.Popen(
                [sys.executable, "-m", "nameko", "run", "--config",
                 str(ROOT / "deploy" / "nameko.yml"), path],
                cwd=ROOT, env={**env, "METRICS_PORT": str(closed_port())},
                stdout=log, stderr=subprocess.STDOUT))
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        rabbitmqctl("delete_vhost", vhost)


def test_elasticsearch_down_is_503(search_without_elasticsearch):
    url = search_without_elasticsearch

    def reached_search():
        try:
            response = requests.get(f"{url}/v1/cities/dallas/opportunities",
                                    params={"q": "art"}, timeout=15)
        except requests.ConnectionError:
            return None  # the gateway is still starting
        # Until the search service connects, the gateway returns 503 itself.
        # A tuple, because a 503 response object is false.
        return (response,) if "search index" in response.text else None

    response, = wait_until(reached_search, message="the search service to reply")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    assert "unreachable" in response.json()["detail"]
    assert "Traceback" not in response.text
    for path, params in (("autocomplete", {"prefix": "rob"}),
                         ("opportunities/opp-1/related", {}), ("index", {})):
        other = requests.get(f"{url}/v1/cities/dallas/{path}", params=params, timeout=15)
        assert other.status_code == 503, (path, other.text)
        assert other.headers["Retry-After"]
    invalid = requests.get(f"{url}/v1/cities/dallas/opportunities",
                           params={"sort": "price"}, timeout=15)
    assert invalid.status_code == 400

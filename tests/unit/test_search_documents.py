import pytest

from services.search.documents import haversine_km, opportunity_document, with_distance
from services.search.schemas import SearchRequestSchema, decode_cursor, encode_cursor
from services.search.storage import SearchStore


def opportunity(**changes):
    document = {"id": "opp-1", "city": "chicago", "status": "published", "version": 3,
                "title": "Robot Club", "description": "Build robots",
                "provider": {"name": "Chicago Public Library"},
                "interests": ["coding-games"], "tags": [], "format": "in_person",
                "locations": [{"name": "Harold Washington", "address": "400 S State St",
                               "lat": 41.8763, "lon": -87.6281}],
                "min_age": 10, "max_age": 14, "start_date": "2026-06-01",
                "end_date": "2026-06-30", "cost": {"free": True, "label": "Free"}}
    return {**document, **changes}


def test_haversine_km_known_distance():
    # Chicago Loop to Dallas City Hall is about 1,290 km by great circle.
    assert haversine_km(41.8763, -87.6281, 32.7763, -96.7969) == pytest.approx(1290, abs=10)


def test_opportunity_document_ranges():
    document = opportunity_document(opportunity())
    assert document["ages"] == {"gte": 10, "lte": 14}
    assert document["dates"] == {"gte": "2026-06-01", "lte": "2026-06-30"}
    assert document["locations"] == [{"lat": 41.8763, "lon": -87.6281}]


def test_opportunity_document_open_age_range():
    document = opportunity_document(opportunity(min_age=None, max_age=None))
    assert document["ages"] is None


def test_with_distance_reports_km_and_miles():
    result = with_distance({}, opportunity()["locations"], 41.8863, -87.6281)
    assert result["distance"]["km"] == pytest.approx(1.112, abs=0.01)
    assert result["distance"]["miles"] == pytest.approx(0.691, abs=0.01)


def test_with_distance_without_point_is_none():
    assert with_distance({}, opportunity()["locations"], None, None)["distance"] is None


def test_cursor_round_trip():
    assert decode_cursor(encode_cursor([1.5, "opp-1"])) == [1.5, "opp-1"]


@pytest.mark.parametrize("query, field", [
    ({"lat": 91, "lon": 0}, "lat"),
    ({"lat": 0, "lon": 181}, "lon"),
    ({"lat": 41.8}, "lon"),
    ({"lat": 41.8, "lon": -87.6, "radius_km": 101}, "radius_km"),
    ({"lat": 41.8, "lon": -87.6, "radius_km": 0}, "radius_km"),
    ({"radius_km": 5}, "radius_km"),
    ({"sort": "distance"}, "sort"),
    ({"sort": "price"}, "sort"),
    ({"page_size": 51}, "page_size"),
    ({"cursor": "%%%"}, "cursor"),
    ({"format": "telepathy"}, "format"),
    ({"age": -1}, "age"),
])
def test_search_request_rejects(query, field):
    errors = SearchRequestSchema().validate(query)
    assert field in errors


def test_query_filters_published_and_geo():
    request = SearchRequestSchema().load({"lat": 41.8, "lon": -87.6, "radius_km": 2,
                                          "interests": ["media"], "free": True})
    query = SearchStore._query(request)
    filters = query["bool"]["filter"]
    assert {"term": {"status": "published"}} in filters
    assert {"terms": {"interests": ["media"]}} in filters
    assert {"term": {"free": True}} in filters
    assert any("geo_distance" in item for item in filters)


def test_sort_defaults_to_distance_near_point():
    request = SearchRequestSchema().load({"lat": 41.8, "lon": -87.6})
    assert "_geo_distance" in SearchStore._sort(request)[0]


def test_sort_defaults_to_relevance_with_text():
    request = SearchRequestSchema().load({"lat": 41.8, "lon": -87.6, "q": "robots"})
    assert SearchStore._sort(request)[0] == {"_score": "desc"}

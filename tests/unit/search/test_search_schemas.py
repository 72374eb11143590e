"""Validation of search requests: every error names the parameter at fault."""

import base64
import json
from datetime import date

import pytest

from services.search.schemas import (
    AutocompleteRequestSchema, RelatedRequestSchema, SearchRequestSchema,
    decode_cursor, encode_cursor,
)


def load(**query):
    return SearchRequestSchema().load(query)


@pytest.mark.parametrize("query, field", [
    ({"lat": 91, "lon": 0}, "lat"),
    ({"lat": 0, "lon": 181}, "lon"),
    ({"lat": "north", "lon": 0}, "lat"),
    ({"lat": 41.8}, "lon"),
    ({"lon": -87.6}, "lat"),
    ({"lat": 41.8, "lon": -87.6, "radius_km": 101}, "radius_km"),
    ({"lat": 41.8, "lon": -87.6, "radius_km": 0}, "radius_km"),
    ({"radius_km": 5}, "radius_km"),
    ({"sort": "distance"}, "sort"),
    ({"sort": "blended"}, "sort"),
    ({"sort": "price"}, "sort"),
    ({"page_size": 51}, "page_size"),
    ({"page_size": 0}, "page_size"),
    ({"cursor": "%%%"}, "cursor"),
    ({"cursor": encode_cursor("relevance", [1.0])}, "cursor"),
    ({"format": ["telepathy"]}, "format"),
    ({"cost": ["cheap"]}, "cost"),
    ({"language": ["english!"]}, "language"),
    ({"age": -1}, "age"),
    ({"age": 12, "min_age": 10}, "age"),
    ({"min_age": 14, "max_age": 10}, "max_age"),
    ({"date_from": "2026-13-01"}, "date_from"),
    ({"date_from": "2026-07-01", "date_to": "2026-06-01"}, "date_to"),
    ({"interests": ["x" * 61]}, "interests"),
    ({"colour": "red"}, "colour"),
])
def test_search_request_rejects(query, field):
    errors = SearchRequestSchema().validate(query)
    assert field in errors


def test_search_request_defaults():
    request = load()
    assert request["sort"] == "relevance"
    assert request["page_size"] == 20
    assert request["facets"] is True
    assert request["registration_open"] is False
    assert request["radius_km"] is None


def test_search_request_point_defaults_radius():
    request = load(lat=41.8, lon=-87.6)
    assert request["radius_km"] == 10.0
    assert request["sort"] == "distance"


def test_search_request_text_near_point_blends():
    assert load(lat=41.8, lon=-87.6, q="robots")["sort"] == "blended"


def test_search_request_text_alone_by_relevance():
    assert load(q="robots")["sort"] == "relevance"


def test_search_request_loads_dates():
    request = load(date_from="2026-06-01", date_to="2026-06-30")
    assert request["date_from"] == date(2026, 6, 1)
    assert request["date_to"] == date(2026, 6, 30)


def test_cursor_round_trip():
    cursor = encode_cursor("distance", [1.5, "opp-1"])
    assert decode_cursor(cursor) == {"sort": "distance", "after": [1.5, "opp-1"],
                                     "pit": None}


def test_cursor_round_trip_with_point_in_time():
    cursor = encode_cursor("relevance", [2.0, "opp-1", 552], "cGl0LWlk")
    assert decode_cursor(cursor + ".bWFj") == {
        "sort": "relevance", "after": [2.0, "opp-1", 552], "pit": "cGl0LWlk"}


@pytest.mark.parametrize("after, pit", [
    ([2.0, "opp-1"], "cGl0LWlk"),          # a point in time adds _shard_doc
    ([2.0, "opp-1", 552], None),           # _shard_doc without a point in time
    ([2.0, "opp-1", "552"], "cGl0LWlk"),   # _shard_doc is an integer
    ([2.0, "opp-1", 552], "not a pit id"),
])
def test_cursor_rejects_inconsistent_point_in_time(after, pit):
    payload = {"sort": "relevance", "after": after}
    if pit:
        payload["pit"] = pit
    cursor = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    with pytest.raises(ValueError):
        decode_cursor(cursor)


def test_cursor_keeps_infinity_string():
    # Elasticsearch returns "Infinity" as the distance of a result without location.
    cursor = encode_cursor("distance", ["Infinity", "opp-9"])
    assert decode_cursor(cursor)["after"] == ["Infinity", "opp-9"]


@pytest.mark.parametrize("payload", [
    '{"sort": "relevance", "after": [1.0, 2]}',
    '{"sort": "relevance", "after": [true, "opp-1"]}',
    '{"sort": "price", "after": [1.0, "opp-1"]}',
    '[1.0, "opp-1"]',
])
def test_cursor_rejects_malformed(payload):
    cursor = base64.urlsafe_b64encode(payload.encode()).decode()
    with pytest.raises(ValueError):
        decode_cursor(cursor)


def test_search_request_cursor_sets_search_after():
    cursor = encode_cursor("relevance", [2.5, "opp-3"])
    assert load(cursor=cursor)["search_after"] == [2.5, "opp-3"]


def test_search_request_cursor_of_other_sort():
    cursor = encode_cursor("distance", [2.5, "opp-3"])
    errors = SearchRequestSchema().validate({"cursor": cursor, "q": "robots"})
    assert "sort=distance" in errors["cursor"][0]


@pytest.mark.parametrize("query, field", [
    ({}, "prefix"),
    ({"prefix": ""}, "prefix"),
    ({"prefix": "   "}, "prefix"),
    ({"prefix": "r" * 51}, "prefix"),
    ({"prefix": "rob", "size": 11}, "size"),
])
def test_autocomplete_request_rejects(query, field):
    assert field in AutocompleteRequestSchema().validate(query)


def test_related_request_caps_page_size():
    assert "page_size" in RelatedRequestSchema().validate({"page_size": 21})
    assert RelatedRequestSchema().load({})["page_size"] == 5

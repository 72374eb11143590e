"""Mapping of catalog opportunities to indexed documents, and distances."""

import pytest

from services.search.documents import (
    haversine_km, interest_inputs, interests_matching, language_codes,
    opportunity_document, title_inputs, with_distance, word_suffixes,
)
from services.search.mappings import OPPORTUNITY_MAPPING


def opportunity(**changes):
    document = {"id": "opp-1", "city": "chicago", "status": "published", "version": 3,
                "title": "Robot Club", "description": "Build robots",
                "provider": {"name": "Chicago Public Library"},
                "interests": ["coding-games"], "tags": [], "format": "in_person",
                "locations": [{"name": "Harold Washington", "address": "400 S State St",
                               "lat": 41.8763, "lon": -87.6281}],
                "min_age": 10, "max_age": 14, "start_date": "2026-06-01",
                "end_date": "2026-06-30", "cost": {"free": True, "label": "Free"},
                "review_notes": ["duplicate of opp-0?"]}
    return {**document, **changes}


def test_haversine_km_known_distance():
    # Chicago Loop to Dallas City Hall is about 1,290 km by great circle.
    assert haversine_km(41.8763, -87.6281, 32.7763, -96.7969) == pytest.approx(1290, abs=10)


def test_document_fields_all_in_mapping():
    document = opportunity_document(opportunity())
    assert set(document) <= set(OPPORTUNITY_MAPPING["properties"])


def test_document_ranges_and_locations():
    document = opportunity_document(opportunity())
    assert document["ages"] == {"gte": 10, "lte": 14}
    assert document["sessions"] == [{"gte": "2026-06-01", "lte": "2026-06-30"}]
    assert document["start_date"] == "2026-06-01"
    assert document["locations"] == [{"lat": 41.8763, "lon": -87.6281}]
    assert document["location_names"] == "Harold Washington"


@pytest.mark.parametrize("low, high, expected", [
    (None, None, None),
    (12, None, {"gte": 12}),
    (None, 9, {"lte": 9}),
    (0, 0, {"gte": 0, "lte": 0}),
])
def test_document_age_range_bounds(low, high, expected):
    document = opportunity_document(opportunity(min_age=low, max_age=high))
    assert document["ages"] == expected


def test_document_without_dates_has_no_sessions():
    document = opportunity_document(opportunity(start_date=None, end_date=None))
    assert document["sessions"] is None
    assert document["start_date"] is None
    assert document["registration"] == {}


def test_document_recurring_session_spans_to_end_date():
    sessions = [{"start": "2026-07-06T10:00", "end": "2026-07-06T12:00",
                 "rrule": "FREQ=WEEKLY;BYDAY=MO;COUNT=4"},
                {"start": "2026-09-01T15:00", "end": "2026-09-01T16:00", "rrule": None}]
    document = opportunity_document(opportunity(sessions=sessions,
                                                start_date="2026-07-06",
                                                end_date="2026-09-01"))
    assert document["sessions"] == [{"gte": "2026-07-06", "lte": "2026-09-01"},
                                    {"gte": "2026-09-01", "lte": "2026-09-01"}]
    assert document["start_date"] == "2026-07-06"


def test_document_registration_window():
    window = {"opens": "2026-05-01T09:00", "closes": "2026-05-20T17:00"}
    document = opportunity_document(opportunity(registration=window))
    assert document["registration"] == {"gte": "2026-05-01", "lte": "2026-05-20"}


def test_document_registration_closes_with_end():
    document = opportunity_document(opportunity(registration={"opens": "2026-05-01T09:00",
                                                              "closes": None}))
    assert document["registration"] == {"gte": "2026-05-01", "lte": "2026-06-30"}


@pytest.mark.parametrize("cost, band, free", [
    ({"free": True}, "free", True),
    ({"free": False, "label": "Under $50"}, "paid", False),
    ({"free": None, "amount": 25.0}, "paid", False),
    ({"free": None, "label": None}, "unknown", None),
    ({}, "unknown", None),
])
def test_document_cost_band(cost, band, free):
    document = opportunity_document(opportunity(cost=cost))
    assert document["cost"] == band
    assert document["free"] is free


def test_language_codes_add_primary_subtag():
    assert language_codes(["es-MX", "en", "es"]) == ["es-mx", "es", "en"]


def test_document_keeps_skills_and_accessibility():
    document = opportunity_document(opportunity(
        skills=["soldering"], languages=["es-MX"], accessibility=["step-free"],
        accessibility_notes="Wheelchair accessible entrance"))
    assert document["skills"] == ["soldering"]
    assert document["languages"] == ["es-mx", "es"]
    assert document["accessibility"] == ["step-free"]
    assert document["accessibility_notes"] == "Wheelchair accessible entrance"


def test_document_result_drops_review_notes():
    document = opportunity_document(opportunity())
    assert "review_notes" not in document["document"]
    assert document["document"]["title"] == "Robot Club"


@pytest.mark.parametrize("status", ["withdrawn", "closed", "draft"])
def test_unpublished_document_is_tombstone(status):
    document = opportunity_document(opportunity(status=status, version=7))
    assert document == {"id": "opp-1", "city": "chicago", "status": status,
                        "version": 7}


def test_word_suffixes_start_at_words():
    assert word_suffixes('"Urban" Teen Magazine') == [
        'Urban" Teen Magazine', "Teen Magazine", "Magazine"]


def test_word_suffixes_strip_reserved_characters():
    assert word_suffixes("Robot\u001fClub") == ["Robot Club", "Club"]


def test_title_inputs_weight_whole_title():
    assert title_inputs("Robot Club") == [{"input": ["Robot Club"], "weight": 2},
                                          {"input": ["Club"], "weight": 1}]


def test_title_inputs_of_punctuation_only():
    assert title_inputs("???") == []


def test_interest_inputs_include_word_tails():
    assert interest_inputs(["exploring-earth-science", "media"]) == [
        "exploring-earth-science", "earth-science", "science", "media"]


def test_interests_matching_maps_tail_to_slug():
    interests = ["exploring-earth-science", "media"]
    assert interests_matching("earth-science", interests) == ["exploring-earth-science"]
    assert interests_matching("media", interests) == ["media"]
    assert interests_matching("arth-science", interests) == []


def test_with_distance_reports_km_and_miles():
    result = with_distance({}, opportunity()["locations"], 41.8863, -87.6281)
    assert result["distance"]["km"] == pytest.approx(1.112, abs=0.01)
    assert result["distance"]["miles"] == pytest.approx(0.691, abs=0.01)


def test_with_distance_picks_nearest_location():
    locations = [{"lat": 41.0, "lon": -87.0}, {"lat": 41.8763, "lon": -87.6281}]
    result = with_distance({}, locations, 41.8763, -87.6281)
    assert result["distance"]["location"] == locations[1]
    assert result["distance"]["km"] == 0


def test_with_distance_without_point_is_none():
    assert with_distance({}, opportunity()["locations"], None, None)["distance"] is None


def test_with_distance_online_is_none():
    assert with_distance({}, [], 41.8, -87.6)["distance"] is None

"""Validation of opportunities, organisations and onboarding requests."""

import pytest
from marshmallow import ValidationError

from services.catalog.onboarding import OnboardingSchema
from services.catalog.schemas import (
    DraftSchema, ImportedOpportunitySchema, OpportunitySchema,
)
from tests.unit.catalog.fixtures import seed_city

CHICAGO = seed_city("chicago")
VOCABULARY = ["coding-games", "media", "sports-wellness"]
# Harold Washington Library Center, 400 S State St, Chicago.
LIBRARY = {"name": "Harold Washington Library Center", "address": "400 S State St",
           "lat": 41.8763, "lon": -87.6281}


def opportunity(**changes) -> dict:
    document = {"title": "Robot Club", "description": "<p>Build robots.</p>",
                "provider": {"name": "Chicago Public Library"}, "format": "in_person",
                "interests": ["coding-games"], "locations": [LIBRARY]}
    return {**document, **changes}


def errors_of(document: dict, schema=None) -> dict:
    schema = schema or OpportunitySchema(CHICAGO, VOCABULARY)
    with pytest.raises(ValidationError) as caught:
        schema.load(document)
    return caught.value.messages


def session(start="2026-07-06T10:00", end="2026-07-06T12:00", rrule=None) -> dict:
    return {"start": start, "end": end, "rrule": rrule}


@pytest.mark.parametrize("changes, path", [
    ({"locations": [{**LIBRARY, "lat": 95.0}]}, ("locations", 0, "lat")),
    ({"locations": [{**LIBRARY, "lat": -87.6281, "lon": 41.8763}]},
     ("locations", 0, "lat")),
    ({"locations": [{**LIBRARY, "lat": 32.7763, "lon": -96.7969}]},
     ("locations", 0, "lat")),
    ({"locations": [{**LIBRARY, "lat": 0.0, "lon": 0.0}]}, ("locations", 0, "lat")),
    ({"locations": [{**LIBRARY, "address": None}]}, ("locations", 0, "address")),
    ({"format": "online"}, ("locations",)),
    ({"sessions": [session(end="2026-07-06T09:00")]}, ("sessions", 0, "end")),
    ({"sessions": [session(start="2026-03-08T02:30", end="2026-03-08T04:00")]},
     ("sessions", 0, "start")),
    ({"sessions": [session(rrule="FREQ=WEEKLY;BYDAY=MO")]}, ("sessions", 0, "rrule")),
    ({"sessions": [session(rrule="FREQ=SOMETIMES;COUNT=3")]}, ("sessions", 0, "rrule")),
    ({"sessions": [session(rrule="FREQ=DAILY;UNTIL=20260801T000000Z")]},
     ("sessions", 0, "rrule")),
    ({"sessions": [session(rrule="FREQ=DAILY;COUNT=400")]}, ("sessions", 0, "rrule")),
    ({"sessions": [session(start="2026-07-06T10:00+02:00")]},
     ("sessions", 0, "start")),
    ({"interests": ["knitting"]}, ("interests", 0)),
    ({"min_age": 15, "max_age": 12}, ("max_age",)),
    ({"min_grade": 9, "max_grade": 6}, ("max_grade",)),
    ({"min_grade": -2}, ("min_grade",)),
    ({"start_date": "2026-07-01", "end_date": "2026-06-01"}, ("end_date",)),
    ({"capacity": -1}, ("capacity",)),
    ({"title": ""}, ("title",)),
    ({"title": "x" * 201}, ("title",)),
    ({"description": "x" * 10_001}, ("description",)),
    ({"description": "<p>" + "x" * 20_001 + "</p>"}, ("description",)),
    ({"tags": ["x" * 61]}, ("tags", 0)),
    ({"tags": [f"tag {n}" for n in range(31)]}, ("tags",)),
    ({"accessibility_notes": "x" * 2001}, ("accessibility_notes",)),
    ({"cost": {"free": True, "amount": 25}}, ("cost", "amount")),
    ({"cost": {"amount": -5}}, ("cost", "amount")),
    ({"cost": {"amount": 5, "currency": "dollars"}}, ("cost", "currency")),
    ({"registration": {"opens": "2026-06-01T09:00", "closes": "2026-05-01T09:00"}},
     ("registration", "closes")),
    ({"sessions": [session()], "registration": {"closes": "2026-08-01T09:00"}},
     ("registration", "closes")),
    ({"languages": ["English"]}, ("languages", 0)),
    ({"contact": {"email": "not-an-address"}}, ("contact", "email")),
    ({"badge": {"name": "Maker", "image_url": "javascript:alert(1)"}},
     ("badge", "image_url")),
    ({"format": "carrier pigeon"}, ("format",)),
    ({"registration_url": "mailto:someone@example.org"}, ("registration_url",)),
])
def test_opportunity_rejects_field(changes, path):
    errors = errors_of(opportunity(**changes))
    node = errors
    for key in path:
        assert key in node, f"expected an error at {path}, got {errors}"
        node = node[key]


def test_opportunity_swapped_coordinates_message():
    errors = errors_of(opportunity(locations=[{**LIBRARY, "lat": -87.6281,
                                               "lon": 41.8763}]))
    assert "swapped" in errors["locations"][0]["lat"][0]


def test_opportunity_reports_every_bad_field():
    errors = errors_of(opportunity(capacity=-1, min_age=15, max_age=12,
                                   interests=["knitting"]))
    assert set(errors) == {"capacity", "max_age", "interests"}


def test_opportunity_sanitises_description():
    document = OpportunitySchema(CHICAGO, VOCABULARY).load(opportunity(description=(
        '<p onclick="steal()">Build <b>robots</b> &amp; games</p>'
        '<script>alert(1)</script><a href="javascript:alert(2)">here</a>'
        '<a href="https://www.chipublib.org/">library</a><img src=x onerror=y>')))
    html = document["description_html"]
    assert "<script" not in html
    assert "onclick" not in html
    assert "javascript:" not in html
    assert "<img" not in html
    assert '<a href="https://www.chipublib.org/" rel="noopener noreferrer nofollow">' \
        in html
    assert document["description"] == "Build robots & games\nherelibrary"


def test_opportunity_description_never_raw():
    document = OpportunitySchema(CHICAGO, VOCABULARY).load(
        opportunity(description="<iframe src='https://evil.example'></iframe>Hi"))
    assert document["description_html"] == "Hi"
    assert "iframe" not in str(document)


def test_imported_description_text_escaped():
    document = ImportedOpportunitySchema(CHICAGO, VOCABULARY).load({
        **opportunity(description="Ages < 12 & parents\n\nSecond <b>line</b>"),
        "source": "s", "source_id": "1", "city": "chicago", "status": "published"})
    assert document["description_html"] == (
        "<p>Ages &lt; 12 &amp; parents</p><p>Second &lt;b&gt;line&lt;/b&gt;</p>")
    assert document["description"] == "Ages < 12 & parents\n\nSecond <b>line</b>"


def test_sessions_derive_schedule_across_dst():
    document = OpportunitySchema(CHICAGO, VOCABULARY).load(opportunity(sessions=[
        session("2026-10-26T16:00", "2026-10-26T17:30", "FREQ=WEEKLY;BYDAY=MO;COUNT=3"),
    ]))
    assert document["schedule"] == {
        "time_zone": "America/Chicago",
        "first_start": "2026-10-26T16:00:00-05:00",
        "last_end": "2026-11-09T17:30:00-06:00",
        "occurrences": 3,
    }
    assert document["start_date"] == "2026-10-26"
    assert document["end_date"] == "2026-11-09"
    assert document["start_time"] == "16:00"
    assert document["end_time"] == "17:30"
    assert document["sessions"][0]["rrule"] == "FREQ=WEEKLY;BYDAY=MO;COUNT=3"


def test_tags_stripped_and_deduplicated():
    document = OpportunitySchema(CHICAGO, VOCABULARY).load(
        opportunity(tags=[" Free Food ", "free food", "STEM"]))
    assert document["tags"] == ["Free Food", "STEM"]


def test_draft_takes_no_provider():
    errors = errors_of({**opportunity(), "organization_id": "org-1"},
                       DraftSchema(CHICAGO, VOCABULARY))
    assert errors == {"provider": ["Unknown field."]}


def test_imported_record_of_other_city_rejected():
    errors = errors_of({**opportunity(), "source": "s", "source_id": "1",
                        "city": "dallas"}, ImportedOpportunitySchema(CHICAGO, VOCABULARY))
    assert errors == {"city": ["must be 'chicago', the city of this call"]}


def test_imported_published_in_person_needs_location():
    errors = errors_of({**opportunity(locations=[]), "source": "s", "source_id": "1",
                        "city": "chicago", "status": "published"},
                       ImportedOpportunitySchema(CHICAGO, VOCABULARY))
    assert "locations" in errors


@pytest.mark.parametrize("changes, field", [
    ({"time_zone": "America/Springfield"}, "time_zone"),
    ({"default_locale": "es", "locales": ["en"]}, "default_locale"),
    ({"locales": ["fr"]}, "locales"),
    ({"bbox": {"min_lat": 42.0, "min_lon": -87.9, "max_lat": 41.6, "max_lon": -87.5}},
     "bbox"),
    ({"centre": {"lat": 40.0, "lon": -87.7}}, "centre"),
    ({"branding": {"display_name": "X", "primary_colour": "blue"}}, "branding"),
    ({"slug": "Chicago!"}, "slug"),
    ({"admin": {"email": "nobody", "name": "A"}}, "admin"),
])
def test_onboarding_rejects_field(changes, field):
    with pytest.raises(ValidationError) as caught:
        OnboardingSchema().load({**CHICAGO, **changes})
    assert field in caught.value.messages


def test_onboarding_centre_defaults_to_middle_of_box():
    city = {key: value for key, value in CHICAGO.items() if key != "centre"}
    city["bbox"] = {"min_lat": 41.6, "min_lon": -87.9, "max_lat": 42.0, "max_lon": -87.5}
    loaded = OnboardingSchema().load(city)
    assert loaded["centre"] == pytest.approx({"lat": 41.8, "lon": -87.7})

"""The catalog's import entrypoint and the event each status change dispatches."""

import pytest

from cities_common import events
from cities_common.errors import InvalidInput
from services.catalog.lifecycle import opportunity_event
from services.catalog.storage import record_id
from tests.unit.catalog.fixtures import (  # noqa: F401 (fixtures)
    catalog_db, catalog_for, chicago, published,
)


def imported(**changes) -> dict:
    document = {"source": "test-source", "source_id": "1", "city": "chicago",
                "title": "Robot Club", "provider": {"name": "Chicago Public Library"},
                "format": "in_person", "status": "published",
                "description": "Build robots & games",
                "locations": [{"lat": 41.8763, "lon": -87.6281}]}
    return {**document, **changes}


@pytest.mark.parametrize("previous, status, expected", [
    (None, "published", events.OPPORTUNITY_PUBLISHED),
    ("submitted", "published", events.OPPORTUNITY_PUBLISHED),
    ("closed", "published", events.OPPORTUNITY_PUBLISHED),
    ("published", "published", events.OPPORTUNITY_UPDATED),
    ("published", "withdrawn", events.OPPORTUNITY_WITHDRAWN),
    ("published", "closed", events.OPPORTUNITY_WITHDRAWN),
    (None, "withdrawn", events.OPPORTUNITY_WITHDRAWN),
    ("closed", "closed", events.OPPORTUNITY_UPDATED),
    (None, "draft", events.OPPORTUNITY_UPDATED),
    ("draft", "submitted", events.OPPORTUNITY_UPDATED),
    ("submitted", "draft", events.OPPORTUNITY_UPDATED),
])
def test_opportunity_event_by_status(previous, status, expected):
    assert opportunity_event(previous, status) == expected


def test_record_id_is_stable_and_city_scoped():
    first = record_id("opportunities", "chicago", "s", "1")
    assert first == record_id("opportunities", "chicago", "s", "1")
    assert first != record_id("opportunities", "dallas", "s", "1")


def test_import_records_publishes_new_opportunity(chicago, published):
    result = chicago.import_records("opportunities", [imported()])

    assert result["created"] == 1
    event = published.events[-1]
    assert event["event_type"] == events.OPPORTUNITY_PUBLISHED
    assert event["data"]["version"] == 1
    assert event["data"]["opportunity"]["description"] == "Build robots & games"
    assert event["data"]["opportunity"]["description_html"] == \
        "<p>Build robots &amp; games</p>"


def test_import_records_unchanged_sends_nothing(chicago, published):
    chicago.import_records("opportunities", [imported()])
    sent = len(published.events)

    result = chicago.import_records("opportunities", [imported()])

    assert result["unchanged"] == 1
    assert len(published.events) == sent


def test_import_records_update_bumps_version(chicago, published):
    chicago.import_records("opportunities", [imported()])
    result = chicago.import_records("opportunities", [imported(title="Robot Club II")])

    assert result["updated"] == 1
    assert published.events[-1]["event_type"] == events.OPPORTUNITY_UPDATED
    assert published.events[-1]["data"]["version"] == 2


def test_import_records_dry_run_writes_nothing(chicago, catalog_db, published):
    sent = len(published.events)
    result = chicago.import_records("opportunities", [imported()], dry_run=True)
    assert result["created"] == 1
    assert result["dry_run"] is True
    assert catalog_db.count("opportunities", "chicago") == 0
    assert len(published.events) == sent

    chicago.import_records("opportunities", [imported()])
    changed = chicago.import_records("opportunities", [imported(title="New")],
                                     dry_run=True)
    assert changed["updated"] == 1
    assert catalog_db.list("opportunities", "chicago")[0]["title"] == "Robot Club"


def test_import_records_rejects_other_city_record(chicago, catalog_db):
    result = chicago.import_records("opportunities", [imported(city="dallas")])

    assert result["rejected"][0]["errors"] == {
        "city": ["must be 'chicago', the city of this call"]}
    assert catalog_db.count("opportunities", "chicago") == 0


def test_import_records_rejects_unknown_interest(chicago):
    result = chicago.import_records("opportunities", [imported(interests=["knitting"])])
    assert "interests" in result["rejected"][0]["errors"]


def test_import_records_rejects_empty_batch(chicago):
    with pytest.raises(InvalidInput) as caught:
        chicago.import_records("opportunities", [])
    assert "records" in caught.value.errors


def test_import_organizations_listed(chicago, catalog_db):
    chicago.import_records("organizations", [{
        "source": "branches", "source_id": "chicago-public-library", "city": "chicago",
        "name": "Chicago Public Library", "kind": "library",
        "locations": [{"lat": 41.8763, "lon": -87.6281, "site_type": "library"}]}])
    listed = chicago.list_organizations(membership="listed")
    assert [item["name"] for item in listed] == ["Chicago Public Library"]
    assert chicago.list_organizations(membership="approved")[0]["anchor"] is True

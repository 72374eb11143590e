from unittest.mock import call

import pytest
from nameko.testing.services import worker_factory

from cities_common import events
from cities_common.errors import InvalidInput, NotFound
from services.catalog.events import opportunity_event
from services.catalog.schemas import OpportunitySchema
from services.catalog.service import CatalogService
from services.catalog.storage import CREATED, UNCHANGED, UPDATED, record_id


def opportunity(**changes):
    document = {"source": "test-source", "source_id": "1", "city": "chicago",
                "title": "Robot Club", "provider": {"name": "Chicago Public Library"},
                "format": "in_person", "status": "published",
                "locations": [{"lat": 41.8763, "lon": -87.6281}]}
    return {**document, **changes}


@pytest.mark.parametrize("previous, status, expected", [
    (None, "published", events.OPPORTUNITY_PUBLISHED),
    ("submitted", "published", events.OPPORTUNITY_PUBLISHED),
    ("published", "published", events.OPPORTUNITY_UPDATED),
    ("published", "withdrawn", events.OPPORTUNITY_WITHDRAWN),
    ("published", "closed", events.OPPORTUNITY_WITHDRAWN),
    (None, "withdrawn", None),
    ("draft", "submitted", None),
])
def test_opportunity_event_by_status(previous, status, expected):
    assert opportunity_event(previous, status) == expected


@pytest.mark.parametrize("changes, field", [
    ({"title": ""}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"format": "carrier pigeon"}, "format"),
    ({"min_age": 15, "max_age": 12}, "max_age"),
    ({"start_date": "2026-07-01", "end_date": "2026-06-01"}, "end_date"),
    ({"capacity": -1}, "capacity"),
    ({"locations": [{"lat": 95, "lon": 0}]}, "locations"),
    ({"locations": [{"lat": 41.8, "lon": -187.6}]}, "locations"),
    ({"locations": []}, "locations"),
    ({"start_time": "25:00"}, "start_time"),
    ({"registration_url": "mailto:someone@example.org"}, "registration_url"),
    ({"status": "secret"}, "status"),
])
def test_opportunity_schema_rejects(changes, field):
    errors = OpportunitySchema().validate(opportunity(**changes))
    assert field in errors


def test_record_id_is_stable_and_city_scoped():
    first = record_id("opportunities", "chicago", "s", "1")
    assert first == record_id("opportunities", "chicago", "s", "1")
    assert first != record_id("opportunities", "dallas", "s", "1")


def test_import_records_publishes_new_opportunity():
    service = worker_factory(CatalogService)
    service.tenant.city = "chicago"
    stored = {**opportunity(), "id": "opp-1", "version": 1}
    service.store.upsert_many.return_value = [(CREATED, stored, None)]

    result = service.import_records("opportunities", [opportunity()])

    assert result["created"] == 1
    assert service.publish.call_args == call(
        events.OPPORTUNITY_PUBLISHED, "chicago", {"opportunity": stored, "version": 1})


def test_import_records_unchanged_sends_nothing():
    service = worker_factory(CatalogService)
    service.tenant.city = "chicago"
    stored = {**opportunity(), "id": "opp-1", "version": 1}
    service.store.upsert_many.return_value = [(UNCHANGED, stored, stored)]

    result = service.import_records("opportunities", [opportunity()])

    assert result["unchanged"] == 1
    assert not service.publish.called


def test_import_records_update_sends_updated():
    service = worker_factory(CatalogService)
    service.tenant.city = "chicago"
    previous = {**opportunity(), "id": "opp-1", "version": 1}
    stored = {**previous, "title": "Robot Club II", "version": 2}
    service.store.upsert_many.return_value = [(UPDATED, stored, previous)]

    service.import_records("opportunities", [opportunity(title="Robot Club II")])

    assert service.publish.call_args.args[0] == events.OPPORTUNITY_UPDATED


def test_import_records_rejects_other_city_record():
    service = worker_factory(CatalogService)
    service.tenant.city = "chicago"

    result = service.import_records("opportunities", [opportunity(city="dallas")])

    assert result["rejected"][0]["errors"] == {
        "city": ["must be 'chicago', the city of this call"]}
    assert not service.store.upsert_many.called


def test_import_records_rejects_empty_batch():
    service = worker_factory(CatalogService)
    service.tenant.city = "chicago"
    with pytest.raises(InvalidInput) as caught:
        service.import_records("opportunities", [])
    assert "records" in caught.value.errors


def test_get_opportunity_missing_is_not_found():
    service = worker_factory(CatalogService)
    service.tenant.city = "chicago"
    service.store.get.return_value = None
    with pytest.raises(NotFound):
        service.get_opportunity("opp-404")

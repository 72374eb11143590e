from datetime import date

import pytest
from nameko.testing.services import worker_factory

from cities_common import events
from cities_common.errors import Conflict, InvalidInput
from services.registration.service import RegistrationService, age_on

OPPORTUNITY = {"id": "opp-1", "status": "published", "capacity": 1, "min_age": 10,
               "max_age": 14, "title": "Robot Club",
               "provider": {"name": "Chicago Public Library"}}
YOUTH = {"display_name": "Sam", "birth_year": 2013, "birth_month": 1}


def service_with(opportunity=OPPORTUNITY, seated=True):
    service = worker_factory(RegistrationService)
    service.tenant.city = "chicago"
    service.catalog_rpc.get_opportunity.return_value = opportunity
    service.store.create_youth.return_value = {"id": "yth-1", **YOUTH}
    service.store.add_registration.return_value = (
        {"id": "reg-1", "status": "pending"}, True)
    service.store.claim_seat.return_value = seated
    service.store.set_status.side_effect = lambda city, rid, status, **kw: {
        "id": rid, "status": status, "youth_id": "yth-1", "opportunity_id": "opp-1"}
    return service


@pytest.mark.parametrize("today, birth, expected", [
    (date(2026, 12, 4), (2013, 1), 13),
    (date(2026, 12, 4), (2013, 12), 13),
    (date(2026, 11, 4), (2013, 12), 12),
])
def test_age_on_counts_whole_years(today, birth, expected):
    assert age_on(today, *birth) == expected


def test_register_confirms_when_seat_free():
    service = service_with()
    result = service.register({"opportunity_id": "opp-1", "youth": YOUTH})
    assert result["status"] == "confirmed"
    assert service.publish.call_args.args[0] == events.YOUTH_REGISTERED


def test_register_waitlists_when_full():
    service = service_with(seated=False)
    result = service.register({"opportunity_id": "opp-1", "youth": YOUTH})
    assert result["status"] == "waitlisted"


def test_register_rejects_too_old():
    service = service_with({**OPPORTUNITY, "max_age": 8})
    with pytest.raises(Conflict, match="ages up to 8"):
        service.register({"opportunity_id": "opp-1", "youth": YOUTH})


def test_register_rejects_unpublished():
    service = service_with({**OPPORTUNITY, "status": "withdrawn"})
    with pytest.raises(Conflict, match="withdrawn"):
        service.register({"opportunity_id": "opp-1", "youth": YOUTH})


def test_register_needs_youth_or_id():
    service = service_with()
    with pytest.raises(InvalidInput) as caught:
        service.register({"opportunity_id": "opp-1"})
    assert "youth" in caught.value.errors


def test_register_existing_returns_it():
    service = service_with()
    service.store.add_registration.return_value = (
        {"id": "reg-1", "status": "confirmed"}, False)
    result = service.register({"opportunity_id": "opp-1", "youth": YOUTH})
    assert result == {"id": "reg-1", "status": "confirmed", "created": False}
    assert not service.publish.called


def test_complete_announces_once():
    service = service_with()
    service.store.get_registration.return_value = {
        "id": "reg-1", "status": "completed", "completion_announced": True}
    service.complete("reg-1")
    assert not service.publish.called


def test_complete_rejects_waitlisted():
    service = service_with()
    service.store.get_registration.return_value = {"id": "reg-1",
                                                   "status": "waitlisted"}
    with pytest.raises(Conflict):
        service.complete("reg-1")

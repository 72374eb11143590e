"""Registration follows the catalog: a raised capacity promotes the waitlist, and a
withdrawn opportunity cancels its registrations."""

from cities_common import events
from tests.unit.test_registration_service import Platform, opportunity


def catalog_event(platform, event_type, **changes):
    platform.service.inbox.seen.return_value = False
    platform.service.tenant.registry.require.side_effect = lambda city, **_: city
    document = {**platform.catalog["opp-1"], **changes}
    platform.catalog["opp-1"] = document
    return events.make_event(event_type, "chicago", {
        "opportunity": {"city": "chicago", "version": 2, **document}, "version": 2})


def test_raised_capacity_promotes_waitlist_in_order():
    platform = Platform(opportunity(capacity=1))
    first, second, third = [platform.register() for _ in range(3)]
    assert [second["status"], third["status"]] == ["waitlisted", "waitlisted"]
    platform.service.handle_opportunity_updated(
        catalog_event(platform, events.OPPORTUNITY_UPDATED, capacity=2))
    promoted = platform.sent(events.WAITLIST_PROMOTED)
    assert [item["data"]["registration_id"] for item in promoted] == [second["id"]]
    assert platform.service.get_registration(third["id"])["waitlist_position"] == 1
    assert platform.store.places.counts("chicago", "opp-1")["seats_taken"] == 2


def test_late_update_keeps_current_capacity():
    platform = Platform(opportunity(capacity=1))
    [platform.register() for _ in range(3)]
    # An older update that raised the capacity to 3 arrives after the catalog
    # already lowered it back to 1: the catalog's current capacity decides.
    event = catalog_event(platform, events.OPPORTUNITY_UPDATED, capacity=3)
    platform.catalog["opp-1"]["capacity"] = 1
    platform.service.handle_opportunity_updated(event)
    assert platform.sent(events.WAITLIST_PROMOTED) == []


def test_withdrawal_cancels_without_promoting():
    platform = Platform(opportunity(capacity=1))
    registrations = [platform.register() for _ in range(3)]
    platform.service.handle_opportunity_withdrawn(
        catalog_event(platform, events.OPPORTUNITY_WITHDRAWN, status="withdrawn"))
    cancelled = platform.sent(events.REGISTRATION_CANCELLED)
    assert [item["data"]["registration_id"] for item in cancelled] == \
        [item["id"] for item in registrations]
    assert {item["data"]["reason"] for item in cancelled} == {"opportunity_withdrawn"}
    assert platform.sent(events.WAITLIST_PROMOTED) == []
    assert platform.store.places.counts("chicago", "opp-1") == {
        "seats_taken": 0, "waiting": 0, "last_sequence": 3}
    assert platform.service.sweep_announcements() == 0

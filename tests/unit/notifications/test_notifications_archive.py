"""Archiving a city in the notifications service: endpoints, queue, e-mail, events."""

import pytest

from cities_common import events
from cities_common.errors import CityArchived
from services.notifications.engine import cancelled_details
from services.notifications.mail import MailStore
from tests.unit.notifications.test_notifications_service import (  # noqa: F401
    badge_event, create, make_service, offline_dns, registered_event,
)

ARCHIVED_AT = "2026-12-04T15:00:00+00:00"


def archived_event(city="chicago"):
    return events.make_event(events.CITY_ARCHIVED, city, {
        "slug": city, "name": city.title(), "archived_at": ARCHIVED_AT,
        "counts": {"opportunities": 3}})


@pytest.fixture
def two_cities(store, database):
    """Both cities with an endpoint, a queued delivery, an attempt and an e-mail."""
    services = {city: make_service(store, database, city)
                for city in ("chicago", "dallas")}
    for city, service in services.items():
        create(service, types=["badge.issued", "registration.*"])
        service.handle_badge_issued(badge_event(city, event_id=f"badge-{city}"))
        service.handle_youth_registered(registered_event(
            contact_email="family@example.org") | {"city": city,
                                                  "event_id": f"reg-{city}"})
        store.attempts.insert_one({"city": city, "delivery_id": f"d-{city}"})
    return services


def test_archive_disables_only_its_endpoints(store, two_cities):
    two_cities["chicago"].handle_city_archived(archived_event())
    chicago = store.subscriptions.find_one({"city": "chicago"})
    dallas = store.subscriptions.find_one({"city": "dallas"})
    assert chicago["status"] == "disabled"
    assert chicago["disabled_reason"] == "city_archived"
    assert dallas["status"] == "active"


def test_archive_cancels_queued_deliveries(store, two_cities):
    assert store.queue.count_documents({"city": "chicago"}) == 2
    two_cities["chicago"].handle_city_archived(archived_event())
    assert store.queue.count_documents({"city": "chicago"}) == 0
    assert store.queue.count_documents({"city": "dallas"}) == 2
    cancelled = list(store.deliveries.find({"city": "chicago"}))
    assert len(cancelled) == 2
    assert {item["status"] for item in cancelled} == {"cancelled"}
    assert {item["reason"] for item in cancelled} == {"city_archived"}
    assert store.deliveries.count_documents({"city": "dallas"}) == 0


def test_archive_keeps_attempts_log(store, two_cities):
    two_cities["chicago"].handle_city_archived(archived_event())
    assert store.attempts.count_documents({"city": "chicago"}) == 1


def test_archive_cancels_unsent_mail(database, two_cities):
    mail = MailStore(database)
    assert mail.outbox.count_documents({"city": "chicago"}) == 1
    two_cities["chicago"].handle_city_archived(archived_event())
    assert mail.outbox.count_documents({"city": "chicago"}) == 0
    assert mail.outbox.count_documents({"city": "dallas"}) == 1
    logged = mail.log.find_one({"city": "chicago"})
    assert logged["status"] == "cancelled"
    assert logged["error"] == "city_archived"
    assert logged["attempts"] == 0


def test_archive_twice_is_harmless(store, two_cities):
    two_cities["chicago"].handle_city_archived(archived_event())
    two_cities["chicago"].handle_city_archived(archived_event())
    assert store.deliveries.count_documents({"city": "chicago"}) == 2


def test_archived_city_event_is_dropped(store, two_cities):
    two_cities["chicago"].handle_city_archived(archived_event())
    assert two_cities["chicago"].handle_badge_issued(badge_event("chicago")) is None
    assert store.queue.count_documents({"city": "chicago"}) == 0
    two_cities["dallas"].handle_badge_issued(badge_event("dallas"))
    assert store.queue.count_documents({"city": "dallas"}) == 3


def test_archived_city_rpc_raises(two_cities):
    two_cities["chicago"].handle_city_archived(archived_event())
    with pytest.raises(CityArchived):
        two_cities["chicago"].list_subscriptions("college")
    assert len(two_cities["dallas"].list_subscriptions("college")) == 1


def test_cancelled_details_name_archive():
    delivery = {"attempts": 2}
    archived = cancelled_details(delivery, {"disabled_reason": "city_archived"})
    assert archived["reason"] == "city_archived"
    assert archived["attempts"] == 2
    assert "reason" not in cancelled_details(delivery, {"disabled_reason": "partner"})
    assert "reason" not in cancelled_details(delivery, None)

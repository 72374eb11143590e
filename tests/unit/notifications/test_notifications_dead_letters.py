"""Operators' dead-letter RPCs: pages across cities, and requeueing one delivery."""

from datetime import timedelta

import pytest

from cities_common.errors import Conflict, InvalidInput, NotFound
from services.notifications.storage import message_id, utcnow
from tests.unit.notifications.test_notifications_service import (  # noqa: F401
    create, make_service, offline_dns,
)


def dead_letters(store, service, city="chicago", count=3, partner="college"):
    """Dead-letter ``count`` events for a new endpoint; return the subscription."""
    subscription = store.get_subscription(city, None, create(service, partner)["id"])
    now = utcnow()
    for number in range(count):
        event_id = f"{city}-e{number}"
        store.record_event(city, event_id, "badge.issued", now.isoformat(), "{}")
        store.enqueue(subscription, event_id, "badge.issued", "{}", now)
    queued = store.queued_for(subscription["_id"])
    for number, delivery in enumerate(sorted(queued, key=lambda item: item["_id"])):
        store.finish([(delivery, "dead", {"attempts": 5, "last_status_code": 500,
                                          "last_error": "HTTP 500"})],
                     now + timedelta(seconds=number))
    return subscription


def test_dead_letter_page_newest_first(store, database):
    service = make_service(store, database)
    dead_letters(store, service)
    page = service.dead_letter_page({})
    times = [item["dead_at"] for item in page["dead_letters"]]
    assert len(times) == 3
    assert times == sorted(times, reverse=True)
    assert page["next_after"] is None
    assert all("body" not in item for item in page["dead_letters"])


def test_dead_letter_pages_follow_next_after(store, database):
    service = make_service(store, database)
    dead_letters(store, service, count=5)
    seen, after = [], None
    while True:
        page = service.dead_letter_page({"limit": 2, **({"after": after} if after
                                                        else {})})
        seen += [item["id"] for item in page["dead_letters"]]
        after = page["next_after"]
        if after is None:
            break
    assert len(seen) == 5
    assert len(set(seen)) == 5


def test_dead_letter_page_filters_city(store, database):
    dead_letters(store, make_service(store, database))
    dead_letters(store, make_service(store, database, "dallas"), city="dallas",
                 count=2)
    service = make_service(store, database)
    page = service.dead_letter_page({"city": "dallas"})
    assert {item["city"] for item in page["dead_letters"]} == {"dallas"}
    assert len(page["dead_letters"]) == 2
    assert len(service.dead_letter_page({})["dead_letters"]) == 5


@pytest.mark.parametrize("query, field", [
    ({"city": "Not A City"}, "city"),
    ({"limit": 0}, "limit"),
    ({"limit": "many"}, "limit"),
    ({"partner": "UPPER"}, "partner"),
    ({"after": "msg_unknown"}, "after"),
    ({"colour": "red"}, "colour"),
])
def test_dead_letter_page_rejects_bad_query(store, database, query, field):
    with pytest.raises(InvalidInput) as caught:
        make_service(store, database).dead_letter_page(query)
    assert field in caught.value.errors


def test_requeue_dead_letter_queues_it_again(store, database):
    service = make_service(store, database)
    subscription = dead_letters(store, service, count=1)
    identifier = message_id(subscription["_id"], "chicago-e0")
    answer = service.requeue_dead_letter(identifier)
    assert answer["outcome"] == "queued"
    assert answer["city"] == "chicago"
    assert store.dead_letters.count_documents({}) == 0
    [queued] = store.queued_for(subscription["_id"])
    assert queued["webhook_id"] == identifier
    assert queued["attempts"] == 0


def test_requeue_needs_active_endpoint(store, database):
    service = make_service(store, database)
    subscription = dead_letters(store, service, count=1)
    service.update_subscription("college", subscription["_id"], {"status": "disabled"})
    with pytest.raises(Conflict) as caught:
        service.requeue_dead_letter(message_id(subscription["_id"], "chicago-e0"))
    assert "enable it" in str(caught.value)
    assert store.dead_letters.count_documents({}) == 1


def test_requeue_unknown_dead_letter_not_found(store, database):
    with pytest.raises(NotFound):
        make_service(store, database).requeue_dead_letter("msg_unknown")


def test_requeue_after_endpoint_deleted_conflicts(store, database):
    service = make_service(store, database)
    subscription = dead_letters(store, service, count=1)
    service.delete_subscription("college", subscription["_id"])
    with pytest.raises(Conflict):
        service.requeue_dead_letter(message_id(subscription["_id"], "chicago-e0"))

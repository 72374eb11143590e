"""The service's entrypoints on mongomock stores: fan-out, tenancy, management, replay."""

from functools import partial
from types import SimpleNamespace

import pytest
from nameko.testing.services import worker_factory

from cities_common import events
from cities_common.errors import Conflict, InvalidInput, NotFound
from cities_common.handlers import EventInbox
from cities_common.tenancy import TenantScope
from services.notifications.mail import MailStore
from services.notifications.mail_templates import render
from services.notifications.service import NotificationsService
from services.notifications.settings import WebhookSettings
from services.notifications.storage import message_id
from services.notifications.urls import check_webhook_url

PUBLIC_DNS = {"a.example": ["93.184.215.14"], "b.example": ["93.184.215.15"]}


class Inbox:
    def __init__(self, database):
        self.collection = database["inbox"]

    seen = EventInbox.seen
    mark = EventInbox.mark


@pytest.fixture(autouse=True)
def offline_dns(monkeypatch):
    """Resolve the test partners' names without DNS."""
    monkeypatch.setattr("services.notifications.service.check_webhook_url", partial(
        check_webhook_url, resolver=lambda host, port: PUBLIC_DNS[host]))


def make_service(store, database, city="chicago"):
    deliveries = SimpleNamespace(
        mail_store=MailStore(database), webhook_settings=WebhookSettings(),
        container=SimpleNamespace(config={"PUBLIC_BASE_URL": "https://col.example"}))
    return worker_factory(NotificationsService, store=store,
                          tenant=TenantScope(store.cities, city),
                          inbox=Inbox(database), deliveries=deliveries)


def badge_event(city="chicago", event_id=None, youth_id="yth-1"):
    return events.make_event(events.BADGE_ISSUED, city, {
        "assertion_id": "a1", "youth_id": youth_id, "badge_class_id": "bc1",
        "opportunity_id": "opp-1", "completion_id": "cmp-1",
        "issued_on": "2026-12-04T15:00:00+00:00", "assertion": {}}, event_id=event_id)


def registered_event(status="confirmed", **extra):
    return events.make_event(events.YOUTH_REGISTERED, "chicago", {
        "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
        "status": status, **extra})


def create(service, partner="college", types=("badge.issued",), url=None):
    return service.create_subscription(partner, {
        "url": url or "https://a.example/hook", "event_types": list(types)})


def test_create_returns_secret_once(store, database):
    service = make_service(store, database)
    created = create(service)
    assert created["secret"].startswith("whsec_")
    assert created["partner"] == "college"
    assert created["status"] == "active"
    fetched = service.get_subscription("college", created["id"])
    assert "secret" not in fetched
    assert "secrets" not in fetched


@pytest.mark.parametrize("request_body, field", [
    ({"url": "https://a.example/h", "event_types": ["badge.exploded"]}, "event_types"),
    ({"url": "https://a.example/h", "event_types": []}, "event_types"),
    ({"url": "http://10.0.0.1/h", "event_types": ["badge.issued"]}, "url"),
    ({"url": "https://a.example/h", "event_types": ["badge.issued"],
      "contact_email": "not-an-address"}, "contact_email"),
    ({"url": "https://a.example/h", "event_types": ["badge.issued"],
      "language": "fr"}, "language"),
])
def test_create_rejects_invalid_field(store, database, request_body, field):
    service = make_service(store, database)
    with pytest.raises(InvalidInput) as caught:
        service.create_subscription("college", request_body)
    assert field in caught.value.errors


def test_create_rejects_mismatched_partner(store, database):
    service = make_service(store, database)
    with pytest.raises(InvalidInput) as caught:
        service.create_subscription("college", {
            "partner": "other", "url": "https://a.example/h",
            "event_types": ["badge.issued"]})
    assert "partner" in caught.value.errors


def test_create_takes_partner_from_body_without_caller(store, database):
    service = make_service(store, database)
    created = service.create_subscription(None, {
        "partner": "college", "url": "https://a.example/h",
        "event_types": ["badge.issued"]})
    assert created["partner"] == "college"


def test_partner_sees_only_own_subscriptions(store, database):
    service = make_service(store, database)
    mine = create(service, partner="college")
    create(service, partner="employer")
    assert [item["id"] for item in service.list_subscriptions("college")] == [mine["id"]]
    with pytest.raises(NotFound):
        service.get_subscription("employer", mine["id"])


def test_other_city_cannot_see_subscription(store, database):
    mine = create(make_service(store, database, "chicago"))
    dallas = make_service(store, database, "dallas")
    with pytest.raises(NotFound):
        dallas.get_subscription("college", mine["id"])
    assert dallas.list_subscriptions("college") == []


def test_fan_out_stays_in_event_city(store, database):
    chicago = make_service(store, database, "chicago")
    dallas = make_service(store, database, "dallas")
    mine = create(chicago)
    theirs = create(dallas, url="https://b.example/hook")
    chicago.handle_badge_issued(badge_event("chicago"))
    queued = list(store.queue.find())
    assert [item["subscription_id"] for item in queued] == [mine["id"]]
    assert theirs["id"] not in {item["subscription_id"] for item in queued}


def test_fan_out_honours_filters_and_wildcard(store, database):
    service = make_service(store, database)
    badges = create(service, types=["badge.issued"])
    registrations = create(service, types=["registration.*"],
                           url="https://b.example/hook")
    service.handle_youth_registered(registered_event("waitlisted"))
    queued = list(store.queue.find())
    assert [item["subscription_id"] for item in queued] == [registrations["id"]]
    assert queued[0]["type"] == "registration.waitlisted"
    assert badges["id"] not in {item["subscription_id"] for item in queued}


def test_handle_event_twice_queues_once(store, database):
    service = make_service(store, database)
    create(service)
    event = badge_event()
    service.handle_badge_issued(event)
    service.handle_badge_issued(event)
    assert store.queue.count_documents({}) == 1


def test_disabled_subscription_gets_nothing(store, database):
    service = make_service(store, database)
    created = create(service)
    service.update_subscription("college", created["id"], {"status": "disabled"})
    service.handle_badge_issued(badge_event())
    assert store.queue.count_documents({}) == 0
    assert store.events.count_documents({}) == 1


def test_badge_revoked_and_opportunity_events_fan_out(store, database):
    service = make_service(store, database)
    create(service, types=["badge.*", "opportunity.published"])
    service.handle_badge_revoked(events.make_event(events.BADGE_REVOKED, "chicago", {
        "assertion_id": "a1", "youth_id": "y", "badge_class_id": "b",
        "revoked_on": "2026-12-05T00:00:00+00:00", "reason": "issued in error"}))
    service.handle_opportunity_published(events.make_event(
        events.OPPORTUNITY_PUBLISHED, "chicago", {
            "opportunity": {"id": "opp-1", "city": "chicago", "title": "Robotics",
                            "status": "published", "version": 1}, "version": 1}))
    assert sorted(item["type"] for item in store.queue.find()) == [
        "badge.revoked", "opportunity.published"]


def test_update_changes_filters_and_reenables(store, database):
    service = make_service(store, database)
    created = create(service)
    store.subscriptions.update_one({"_id": created["id"]}, {"$set": {
        "status": "disabled", "disabled_reason": "failing"}})
    updated = service.update_subscription("college", created["id"], {
        "status": "active", "event_types": ["badge.*"]})
    assert updated["status"] == "active"
    assert updated["disabled_reason"] is None
    assert updated["event_types"] == ["badge.*"]


def test_update_rejects_empty_change(store, database):
    service = make_service(store, database)
    created = create(service)
    with pytest.raises(InvalidInput):
        service.update_subscription("college", created["id"], {})


def test_delete_drops_queued_deliveries(store, database):
    service = make_service(store, database)
    created = create(service)
    service.handle_badge_issued(badge_event())
    result = service.delete_subscription("college", created["id"])
    assert result["dropped_deliveries"] == 1
    assert store.queue.count_documents({}) == 0
    with pytest.raises(NotFound):
        service.get_subscription("college", created["id"])


def test_rotate_keeps_old_secret_for_overlap(store, database):
    service = make_service(store, database)
    created = create(service)
    rotated = service.rotate_secret("college", created["id"], {"overlap_seconds": 600})
    assert rotated["secret"] != created["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    stored = store.subscriptions.find_one({"_id": created["id"]})
    assert [item["secret"] for item in stored["secrets"]] == [
        rotated["secret"], created["secret"]]


def test_rotate_without_overlap_drops_old_secret(store, database):
    service = make_service(store, database)
    created = create(service)
    rotated = service.rotate_secret("college", created["id"], {"overlap_seconds": 0})
    stored = store.subscriptions.find_one({"_id": created["id"]})
    assert [item["secret"] for item in stored["secrets"]] == [rotated["secret"]]
    assert rotated["previous_secret_expires_at"] is None


def test_replay_one_event_requeues_same_webhook_id(store, database):
    service = make_service(store, database)
    created = create(service)
    event = badge_event(event_id="badge-issued-a1")
    service.handle_badge_issued(event)
    store.queue.delete_many({})
    result = service.replay("college", created["id"], {"event_id": "badge-issued-a1"})
    assert result["queued"] == 1
    assert store.queue.find_one()["webhook_id"] == message_id(created["id"],
                                                              "badge-issued-a1")


def test_replay_range_selects_matching_events(store, database):
    service = make_service(store, database)
    created = create(service)
    create(service, partner="other", types=["registration.*"],
           url="https://b.example/hook")
    for number in range(3):
        service.handle_badge_issued(badge_event(event_id=f"b{number}"))
    service.handle_youth_registered(registered_event())
    store.queue.delete_many({})
    result = service.replay("college", created["id"],
                            {"since": "2020-01-01T00:00:00+00:00"})
    assert result["queued"] == 3
    assert sorted(result["event_ids"]) == ["b0", "b1", "b2"]


@pytest.mark.parametrize("request_body", [
    {}, {"event_id": "x", "since": "2026-01-01T00:00:00+00:00"},
    {"since": "2026-01-02T00:00:00+00:00", "until": "2026-01-01T00:00:00+00:00"},
    {"since": "2026-01-01T00:00:00+00:00", "until": "2026-02-01T00:00:00+00:00"},
    {"since": "2026-01-01T00:00:00"},
])
def test_replay_rejects_invalid_request(store, database, request_body):
    service = make_service(store, database)
    created = create(service)
    with pytest.raises(InvalidInput):
        service.replay("college", created["id"], request_body)


def test_replay_unknown_event_is_not_found(store, database):
    service = make_service(store, database)
    created = create(service)
    with pytest.raises(NotFound):
        service.replay("college", created["id"], {"event_id": "missing"})


def test_replay_disabled_endpoint_conflicts(store, database):
    service = make_service(store, database)
    created = create(service)
    service.update_subscription("college", created["id"], {"status": "disabled"})
    with pytest.raises(Conflict):
        service.replay("college", created["id"], {"event_id": "x"})


def test_registration_email_needs_contact(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event())
    assert mail.outbox.count_documents({}) == 0
    service.handle_youth_registered(registered_event(
        contact_email="family@example.org", preferred_language="es",
    ) | {"event_id": "second"})
    message = mail.outbox.find_one()
    assert message["kind"] == "registration_confirmed"
    assert message["language"] == "es"


def test_badge_email_uses_remembered_contact(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event(contact_email="f@example.org"))
    service.handle_badge_issued(badge_event())
    kinds = sorted(item["kind"] for item in mail.outbox.find())
    assert kinds == ["badge_earned", "registration_confirmed"]


def erased_event(youth_id="yth-1", guardian_ids=("gdn-1",)):
    return events.make_event(events.YOUTH_ERASED, "chicago", {
        "erasure_id": "ers-1", "youth_id": youth_id,
        "requested_at": "2026-12-05T00:00:00+00:00",
        "guardian_ids": list(guardian_ids)}, event_id="erased-ers-1")


def test_youth_erased_forgets_contact_and_mail(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    address = "f@example.org"
    service.handle_youth_registered(registered_event(contact_email=address))
    service.handle_badge_issued(badge_event())
    mail.queue("chicago", "guardian_consent_request", "consent-1", "g@example.org",
               "en", {}, youth_id="yth-1", guardian_id="gdn-1")
    # A row queued before messages carried the youth id, and an account e-mail
    # and a sibling's confirmation to the same address, which must stay.
    mail.queue("chicago", "registration_confirmed", "legacy-1", address, "en", {})
    mail.queue("chicago", "account_verification", "account-1", address, "en", {})
    mail.queue("chicago", "registration_confirmed", "sibling-1", address, "en", {},
               youth_id="yth-2")
    mail.log.insert_one({"_id": "registration_confirmed:sent-1", "city": "chicago",
                         "kind": "registration_confirmed", "status": "sent"})

    service.handle_youth_erased(erased_event())

    assert mail.contact("chicago", "yth-1") is None
    assert sorted(item["_id"] for item in mail.outbox.find()) == [
        "account_verification:account-1", "registration_confirmed:sibling-1"]
    assert mail.log.count_documents({}) == 1
    (event_type, city, data), options = service.publish.call_args
    assert event_type == events.YOUTH_ERASURE_ACKNOWLEDGED
    assert city == "chicago"
    assert data["service"] == "notifications"
    assert data["erasure_id"] == "ers-1"
    assert data["summary"] == {"contacts_forgotten": 1, "queued_messages_deleted": 4}
    assert options == {"event_id": "erasure-acknowledged-ers-1-notifications"}
    events.make_event(event_type, city, data)


def test_erased_youth_contact_not_stored_again(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_erased(erased_event(guardian_ids=()))
    service.handle_youth_registered(registered_event(contact_email="f@example.org"))
    assert mail.contact("chicago", "yth-1") is None
    assert mail.outbox.count_documents({}) == 0
    assert service.youth_mail_status("yth-1") == {
        "city": "chicago", "youth_id": "yth-1", "erased": True,
        "contact_stored": False, "queued_messages": 0}
    (_, _, data), _ = service.publish.call_args
    assert data["summary"] == {"contacts_forgotten": 0, "queued_messages_deleted": 0}


def test_erasure_cancellation_keeps_contact_until_youth_erased(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event(contact_email="f@example.org"))
    service.handle_registration_cancelled(events.make_event(
        events.REGISTRATION_CANCELLED, "chicago", {
            "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
            "previous_status": "confirmed", "reason": "erasure",
            "cancelled_at": "2026-12-05T00:00:00+00:00"}))
    assert mail.contact("chicago", "yth-1") is not None
    service.handle_youth_erased(erased_event())
    assert mail.contact("chicago", "yth-1") is None


def cancelled_event(reason, event_id=None):
    return events.make_event(events.REGISTRATION_CANCELLED, "chicago", {
        "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
        "previous_status": "confirmed", "reason": reason,
        "cancelled_at": "2026-12-05T00:00:00+00:00"}, event_id=event_id)


def test_family_email_names_the_youth(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event(
        contact_email="family@example.org", preferred_language="es",
        youth_display_name="Ana"))
    message = mail.outbox.find_one()
    assert message["variables"]["participant"] == "Participante: Ana\n"
    subject, body = render(message["kind"], "es", {**message["variables"],
                                                   "unsubscribe_url": "u"})
    assert "Ana" not in subject
    assert "Participante: Ana\n" in body


def test_family_email_gives_date_and_place(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_opportunity_published(events.make_event(
        events.OPPORTUNITY_PUBLISHED, "chicago", {"version": 1, "opportunity": {
            "id": "opp-1", "city": "chicago", "title": "Robot Club",
            "status": "published", "version": 1, "format": "in_person",
            "schedule": {"first_start": "2027-01-09T10:00:00-06:00"},
            "locations": [{"name": "Harold Washington Library Center",
                           "address": "400 S State St", "lat": 41.88,
                           "lon": -87.63}]}}))
    service.handle_youth_registered(registered_event(contact_email="f@example.org"))
    message = mail.outbox.find_one()
    _, body = render(message["kind"], "en", {**message["variables"],
                                             "unsubscribe_url": "u"})
    assert "When: 2027-01-09 10:00\n" in body
    assert "Where: Harold Washington Library Center, 400 S State St\n" in body


def test_waitlisted_registration_gets_waitlist_email(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event(
        "waitlisted", contact_email="family@example.org"))
    message = mail.outbox.find_one()
    assert message["kind"] == "registration_waitlisted"
    assert message["variables"]["registration_id"] == "reg-1"


@pytest.mark.parametrize("reason, words", [
    ("youth_request", "register again"),
    ("staff", "organisation that runs"),
    ("consent_withdrawn", "withdrew consent"),
    ("opportunity_withdrawn", "withdrew the programme"),
])
def test_cancellation_email_gives_reason(store, database, reason, words):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event(contact_email="f@example.org"))
    mail.outbox.delete_many({})
    service.handle_registration_cancelled(cancelled_event(reason))
    message = mail.outbox.find_one()
    assert message["kind"] == "registration_cancelled"
    assert message["address"] == "f@example.org"
    assert words in message["variables"]["reason"]


def test_erasure_cancellation_sends_no_email(store, database):
    service = make_service(store, database)
    mail = MailStore(database)
    service.handle_youth_registered(registered_event(contact_email="f@example.org"))
    mail.outbox.delete_many({})
    service.handle_registration_cancelled(cancelled_event("erasure"))
    assert mail.outbox.count_documents({}) == 0


def test_erasure_retried_reports_first_counts(database):
    mail = MailStore(database)
    mail.remember_contact("chicago", "yth-1", "f@example.org", "en")
    first = mail.erase_youth("chicago", "yth-1", [])
    again = mail.erase_youth("chicago", "yth-1", [])
    assert first == {"contacts_forgotten": 1, "queued_messages_deleted": 0}
    assert again == first

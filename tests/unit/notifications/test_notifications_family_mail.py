"""E-mail to guardians and youth: the consent request and the waitlist promotion."""

import logging

import pytest

from cities_common import events
from services.notifications.consent_mail import local_time
from services.notifications.mail import MailStore, Postman
from services.notifications.mail_templates import LANGUAGES, TRANSACTIONAL, render
from services.notifications.settings import MailSettings
from tests.mailbox import SmtpMailbox
from tests.unit.notifications.test_notifications_service import (
    make_service, registered_event,
)

GUARDIAN = "rosa@example.org"
YOUTH = "sam@example.org"
TOKEN = "t" * 43
CONSENT_URL = f"https://col.example/guardian-consent/chicago#token={TOKEN}"
CONSENT_VARIABLES = {"guardian_name": "Rosa", "youth_display_name": "Ana",
                     "consent_url": CONSENT_URL, "code": TOKEN,
                     "expires_at": "2026-12-07 09:00 America/Chicago",
                     "city_name": "Chicago", "unsubscribe_url": None}
PROMOTED_VARIABLES = {"opportunity_title": "Robot Club", "registration_id": "reg-1",
                      "city_name": "Chicago", "unsubscribe_url": "https://u.example/t"}


def consent_event(language="es", event_id=None):
    return events.make_event(events.GUARDIAN_CONSENT_REQUESTED, "chicago", {
        "consent_request_id": "csr-1", "youth_id": "yth-1", "youth_display_name": "Ana",
        "guardian_id": "gdn-1", "guardian_name": "Rosa", "guardian_email": GUARDIAN,
        "language": language, "consent_url": CONSENT_URL,
        "expires_at": "2026-12-07T15:00:00+00:00"}, event_id=event_id)


def promoted_event(**contact):
    return events.make_event(events.WAITLIST_PROMOTED, "chicago", {
        "registration_id": "reg-1", "youth_id": "yth-1", "opportunity_id": "opp-1",
        "sequence": 3, "promoted_at": "2026-12-04T15:00:00+00:00", **contact})


@pytest.fixture
def mail(database):
    store = MailStore(database)
    store.ensure_indexes()
    return store


@pytest.mark.parametrize("language", LANGUAGES)
def test_consent_template_has_link_and_code(language):
    subject, body = render("guardian_consent_request", language, CONSENT_VARIABLES)
    assert "$" not in subject + body
    assert "Ana" not in subject
    assert CONSENT_URL in body
    assert f"\n\n{TOKEN}\n\n" in body
    assert "2026-12-07 09:00 America/Chicago" in body
    assert "None" not in body


def test_consent_template_is_transactional():
    assert "guardian_consent_request" in TRANSACTIONAL


def test_consent_template_spanish():
    subject, body = render("guardian_consent_request", "es", CONSENT_VARIABLES)
    assert subject.startswith("Necesitamos tu consentimiento")
    assert body.startswith("Hola Rosa:")


@pytest.mark.parametrize("language", LANGUAGES)
def test_promotion_template_has_unsubscribe_link(language):
    subject, body = render("waitlist_promoted", language, PROMOTED_VARIABLES)
    assert "Robot Club" in subject
    assert "$" not in subject + body
    assert "reg-1" in body
    assert "https://u.example/t" in body
    assert "waitlist_promoted" not in TRANSACTIONAL


@pytest.mark.parametrize("time_zone, expected", [
    ("America/Chicago", "2026-12-07 09:00 America/Chicago"),
    (None, "2026-12-07 15:00 UTC"),
    ("Not/AZone", "2026-12-07 15:00 UTC"),
])
def test_local_time_uses_city_zone(time_zone, expected):
    assert local_time("2026-12-07T15:00:00+00:00", time_zone) == expected


def test_consent_event_queues_guardian_mail(store, database, caplog):
    caplog.set_level(logging.DEBUG)
    service = make_service(store, database)
    service.handle_guardian_consent_requested(consent_event())
    [queued] = list(database["mail_outbox"].find())
    assert queued["kind"] == "guardian_consent_request"
    assert queued["address"] == GUARDIAN
    assert queued["language"] == "es"
    assert queued["variables"]["code"] == TOKEN
    assert queued["variables"]["consent_url"] == CONSENT_URL
    assert queued["variables"]["expires_at"] == "2026-12-07 09:00 America/Chicago"
    assert GUARDIAN not in caplog.text
    assert TOKEN not in caplog.text
    assert "Rosa" not in caplog.text


def test_consent_event_queues_once(store, database):
    service = make_service(store, database)
    event = consent_event()
    service.handle_guardian_consent_requested(event)
    service.handle_guardian_consent_requested(event)
    assert database["mail_outbox"].count_documents({}) == 1


def test_consent_mail_reaches_unsubscribed_guardian(store, database, mail, tmp_path):
    mail.unsubscribe("chicago", mail.unsubscribe_token("chicago", GUARDIAN))
    service = make_service(store, database)
    service.handle_guardian_consent_requested(consent_event(language="en"))
    smtp = SmtpMailbox(tmp_path / "maildir")
    try:
        settings = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port)
        postman = Postman(mail, settings, "https://col.example")
        assert postman.send_due() == 1
        [received] = smtp.wait_for(lambda messages: len(messages) == 1)
    finally:
        smtp.close()
    assert received["To"] == GUARDIAN
    assert received["List-Unsubscribe"] is None
    assert received["Content-Language"] == "en"
    assert CONSENT_URL in received.get_content()


def test_promotion_mails_contact_from_event(store, database):
    service = make_service(store, database)
    service.handle_opportunity_published(events.make_event(
        events.OPPORTUNITY_PUBLISHED, "chicago", {"version": 1, "opportunity": {
            "id": "opp-1", "city": "chicago", "title": "Robot Club",
            "status": "published", "version": 1}}))
    service.handle_waitlist_promoted(promoted_event(contact_email=YOUTH,
                                                    preferred_language="es"))
    [queued] = list(database["mail_outbox"].find())
    assert queued["kind"] == "waitlist_promoted"
    assert queued["address"] == YOUTH
    assert queued["language"] == "es"
    assert queued["variables"]["opportunity_title"] == "Robot Club"


def test_promotion_mails_contact_from_registration(store, database):
    service = make_service(store, database)
    service.handle_youth_registered(registered_event(
        status="waitlisted", contact_email=GUARDIAN, preferred_language="es"))
    service.handle_waitlist_promoted(promoted_event())
    [queued] = list(database["mail_outbox"].find({"kind": "waitlist_promoted"}))
    assert queued["address"] == GUARDIAN
    assert queued["language"] == "es"
    assert queued["variables"]["opportunity_title"] == "tu programa"


def test_promotion_without_contact_sends_nothing(store, database):
    service = make_service(store, database)
    service.handle_waitlist_promoted(promoted_event())
    assert database["mail_outbox"].count_documents({}) == 0


def test_promotion_mail_respects_unsubscribe(store, database, mail):
    mail.unsubscribe("chicago", mail.unsubscribe_token("chicago", YOUTH))
    service = make_service(store, database)
    service.handle_waitlist_promoted(promoted_event(contact_email=YOUTH))
    assert database["mail_outbox"].count_documents({}) == 0

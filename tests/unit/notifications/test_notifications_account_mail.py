"""E-mail with account links: templates, the outbox and the identity events."""

import logging

import pytest

from cities_common import events
from services.notifications.account_mail import LINKS
from services.notifications.mail import MailStore, Postman, build_message
from services.notifications.mail_templates import LANGUAGES, TRANSACTIONAL, render
from services.notifications.settings import MailSettings
from tests.mailbox import SmtpMailbox
from tests.unit.notifications.test_notifications_service import make_service

ADDRESS = "ada@example.org"
TOKEN = "tok_" + "x" * 40


def token_event(event_type=events.ACCOUNT_VERIFICATION_REQUESTED, locale="en"):
    return events.make_event(event_type, "chicago", {
        "city": "chicago", "account_id": "acct-1", "email": ADDRESS, "token": TOKEN,
        "locale": locale})


@pytest.fixture
def mail(database):
    store = MailStore(database)
    store.ensure_indexes()
    return store


@pytest.mark.parametrize("kind", sorted(kind for kind, _ in LINKS.values()))
@pytest.mark.parametrize("language", LANGUAGES)
def test_account_templates_render_without_unsubscribe(kind, language):
    assert kind in TRANSACTIONAL
    subject, body = render(kind, language, {"link": "https://col.example/x#token=t",
                                            "city_name": "Chicago",
                                            "unsubscribe_url": None})
    assert subject
    assert "$" not in subject + body
    assert "https://col.example/x#token=t" in body
    assert "None" not in body


@pytest.mark.parametrize("event_type, path", [
    (events.ACCOUNT_VERIFICATION_REQUESTED, "/verify-email#token="),
    (events.ACCOUNT_SETUP_REQUESTED, "/set-password#token="),
    (events.ACCOUNT_PASSWORD_RESET_REQUESTED, "/set-password#token="),
])
def test_token_event_queues_link_in_fragment(store, database, event_type, path):
    service = make_service(store, database)
    handler = {events.ACCOUNT_VERIFICATION_REQUESTED:
               service.handle_account_verification_requested,
               events.ACCOUNT_SETUP_REQUESTED: service.handle_account_setup_requested,
               events.ACCOUNT_PASSWORD_RESET_REQUESTED:
               service.handle_account_password_reset_requested}
    handler[event_type](token_event(event_type, locale="es"))
    [queued] = list(database["mail_outbox"].find())
    assert queued["address"] == ADDRESS
    assert queued["language"] == "es"
    assert queued["variables"]["link"] == f"https://col.example{path}{TOKEN}"


def test_token_event_queues_once(store, database):
    service = make_service(store, database)
    event = token_event()
    service.handle_account_verification_requested(event)
    service._account_link(event)
    assert database["mail_outbox"].count_documents({}) == 1


def test_account_mail_ignores_unsubscribe(mail):
    mail.unsubscribe("chicago", mail.unsubscribe_token("chicago", ADDRESS))
    assert mail.queue("chicago", "account_setup", "e1", ADDRESS, "en",
                      {"link": "l", "city_name": "Chicago"}) is True
    assert mail.queue("chicago", "badge_earned", "e2", ADDRESS, "en",
                      {"badge_name": "b", "badge_url": "u",
                       "city_name": "Chicago"}) is False


def test_unsubscribing_keeps_queued_account_mail(mail):
    mail.queue("chicago", "account_verification", "e1", ADDRESS, "en",
               {"link": "l", "city_name": "Chicago"})
    mail.unsubscribe("chicago", mail.unsubscribe_token("chicago", ADDRESS))
    assert mail.outbox.count_documents({}) == 1


def test_account_mail_has_no_unsubscribe_headers():
    message = {"_id": "account_setup:e1", "kind": "account_setup", "language": "en",
               "address": ADDRESS, "variables": {"link": "l", "city_name": "Chicago"}}
    email = build_message(MailSettings(), message, None)
    assert email["List-Unsubscribe"] is None
    assert email["To"] == ADDRESS


def test_postman_sends_account_mail_to_unsubscribed_address(mail, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    smtp = SmtpMailbox(tmp_path / "maildir")
    try:
        mail.unsubscribe("chicago", mail.unsubscribe_token("chicago", ADDRESS))
        link = f"https://col.example/verify-email#token={TOKEN}"
        mail.queue("chicago", "account_verification", "e1", ADDRESS, "en",
                   {"link": link, "city_name": "Chicago"})
        settings = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port)
        postman = Postman(mail, settings, "https://col.example")
        assert postman.send_due() == 1
        [received] = smtp.wait_for(lambda messages: len(messages) == 1)
    finally:
        smtp.close()
    assert received["Subject"] == "Confirm your e-mail address for Cities of Learning"
    assert link in received.get_content()
    assert "unsubscribe" not in received.get_content()
    assert TOKEN not in caplog.text
    assert ADDRESS not in caplog.text
    assert mail.log.find_one()["status"] == "sent"

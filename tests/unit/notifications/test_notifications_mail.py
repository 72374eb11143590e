"""E-mail templates, the outbox and SMTP delivery to a loopback aiosmtpd server."""

import logging

import pytest

from services.notifications.mail import MailStore, Postman, build_message
from services.notifications.mail_templates import KINDS, LANGUAGES, TEMPLATES, render
from services.notifications.settings import MailSettings
from tests.mailbox import SmtpMailbox

ADDRESS = "family@example.org"
VARIABLES = {
    "registration_confirmed": {"opportunity_title": "Robotics", "registration_id": "r1",
                               "city_name": "Chicago"},
    "registration_waitlisted": {"opportunity_title": "Robotics", "registration_id": "r1",
                                "city_name": "Chicago"},
    "registration_cancelled": {"opportunity_title": "Robotics", "registration_id": "r1",
                               "city_name": "Chicago",
                               "reason": "The organisation withdrew the programme."},
    "badge_earned": {"badge_name": "Robotics", "badge_url": "https://b.example/1",
                     "city_name": "Chicago"},
    "endpoint_disabled": {"partner": "college", "subscription_id": "sub_1",
                          "endpoint_url": "https://a.example/h",
                          "endpoint_host": "a.example", "city": "chicago",
                          "city_name": "Chicago",
                          "failing_since": "2026-12-01T00:00+00:00"},
}


@pytest.fixture
def smtp(tmp_path):
    server = SmtpMailbox(tmp_path / "maildir")
    yield server
    server.close()


@pytest.fixture
def mail(database):
    store = MailStore(database)
    store.ensure_indexes()
    return store


def postman(mail, smtp):
    settings = MailSettings(smtp_host="127.0.0.1", smtp_port=smtp.port)
    return Postman(mail, settings, "https://col.example")


def test_every_kind_has_every_language():
    assert {(kind, language) for kind in KINDS for language in LANGUAGES} == set(
        TEMPLATES)


@pytest.mark.parametrize("kind", sorted(VARIABLES))
@pytest.mark.parametrize("language", LANGUAGES)
def test_templates_render_with_unsubscribe_link(kind, language):
    subject, body = render(kind, language, {**VARIABLES[kind],
                                            "unsubscribe_url": "https://u.example/t"})
    assert subject
    assert "$" not in subject + body
    assert "https://u.example/t" in body


def test_spanish_template_is_spanish():
    subject, _ = render("badge_earned", "es", {**VARIABLES["badge_earned"],
                                               "unsubscribe_url": "u"})
    assert subject.startswith("Ganaste una insignia")


def test_unknown_language_falls_back_to_english():
    subject, _ = render("badge_earned", "fr", {**VARIABLES["badge_earned"],
                                               "unsubscribe_url": "u"})
    assert subject.startswith("You earned a badge")


def test_build_message_has_one_click_unsubscribe():
    message = {"_id": "badge_earned:e1", "kind": "badge_earned", "language": "en",
               "address": ADDRESS, "variables": VARIABLES["badge_earned"]}
    email = build_message(MailSettings(), message, "https://u.example/t")
    assert email["To"] == ADDRESS
    assert email["List-Unsubscribe"] == "<https://u.example/t>"
    assert email["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert email["Content-Language"] == "en"


def test_postman_sends_over_smtp(mail, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    mail.queue("chicago", "badge_earned", "e1", ADDRESS, "es",
               VARIABLES["badge_earned"])
    assert postman(mail, smtp).send_due() == 1
    received = smtp.wait_for(lambda messages: len(messages) == 1)
    assert len(received) == 1
    assert received[0]["Subject"] == "Ganaste una insignia: Robotics"
    assert received[0]["To"] == ADDRESS
    assert "/v1/cities/chicago/unsubscribe/" in received[0].get_content()
    assert mail.outbox.count_documents({}) == 0
    logged = mail.log.find_one()
    assert logged["status"] == "sent"
    assert "address" not in logged
    assert ADDRESS not in caplog.text


def test_unsubscribe_stops_later_messages(mail, smtp):
    token = mail.unsubscribe_token("chicago", ADDRESS)
    assert mail.unsubscribe("chicago", token) is not None
    queued = mail.queue("chicago", "badge_earned", "e2", ADDRESS, "en",
                        VARIABLES["badge_earned"])
    assert queued is False
    assert postman(mail, smtp).send_due() == 0


def test_unsubscribe_drops_queued_message(mail, smtp):
    mail.queue("chicago", "badge_earned", "e3", ADDRESS.upper(), "en",
               VARIABLES["badge_earned"])
    token = mail.unsubscribe_token("chicago", ADDRESS)
    mail.unsubscribe("chicago", token)
    assert mail.outbox.count_documents({}) == 0


def test_unsubscribe_is_per_city(mail):
    token = mail.unsubscribe_token("chicago", ADDRESS)
    assert mail.unsubscribe("dallas", token) is None
    mail.unsubscribe("chicago", token)
    assert mail.is_unsubscribed("chicago", ADDRESS)
    assert not mail.is_unsubscribed("dallas", ADDRESS)


def test_queue_same_reference_once(mail):
    assert mail.queue("chicago", "badge_earned", "e4", ADDRESS, "en", {})
    assert not mail.queue("chicago", "badge_earned", "e4", ADDRESS, "en", {})


def test_postman_retries_when_server_down(mail, smtp):
    smtp.close()
    mail.queue("chicago", "badge_earned", "e5", ADDRESS, "en", VARIABLES["badge_earned"])
    assert postman(mail, smtp).send_due() == 1
    message = mail.outbox.find_one()
    assert message["attempts"] == 1
    assert "SMTP connection failed" in message["last_error"]


def test_subject_line_breaks_become_spaces():
    subject, _ = render("registration_confirmed", "en", {
        "opportunity_title": "Inj\r\nBcc: someone@example.org\r\nX-Evil: 1",
        "registration_id": "reg-1", "city_name": "Chicago",
        "unsubscribe_url": "https://col.example/u"})
    assert "\r" not in subject
    assert "\n" not in subject
    assert subject == "Your place in Inj Bcc: someone@example.org X-Evil: 1 is confirmed"

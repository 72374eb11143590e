"""E-mail to guardians and youth, read from the platform's test mailbox.

A guardian account creates a child's profile, is rejected at registration for
missing consent, requests consent, follows the link in the consent e-mail and
grants it, registers the child and receives the confirmation, in the guardian's
language. In Spanish the guardian answers on the gateway's consent page; in
English through the JSON route, as a web front end would. A waitlisted youth
whose profile has its own contact address hears that it waits, again when a
place opens, and once more when the registration is cancelled.
"""

import re
import uuid

import pytest
import requests

from tests.e2e.accounts import text_of
from tests.e2e.test_registration import (
    CHILD_YEAR, TEEN_YEAR, import_opportunities,
)

pytestmark = pytest.mark.e2e

CITY = "chicago"
LINK = re.compile(r"(http\S+/guardian-consent/chicago)#token=([A-Za-z0-9_\-]+)")
SUBJECTS = {
    "en": {"consent": "Your consent is needed", "confirmed": "Your place in "},
    "es": {"consent": "Necesitamos tu consentimiento", "confirmed": "Tu lugar en "},
}


def call(platform, method, path, who=None, body=None):
    return platform["accounts"].request(method, path, who, body)


def mail_to(platform, address: str, subject_start: str, count: int = 1) -> list:
    """Return ``count`` or more messages to ``address`` whose subject starts so."""
    def matching(messages):
        return [message for message in messages if message["To"] == address
                and message["Subject"].startswith(subject_start)]
    found = matching(platform["mailbox"].wait_for(
        lambda messages: len(matching(messages)) >= count, timeout=45))
    assert len(found) >= count, f"no {subject_start!r} e-mail arrived"
    return found


@pytest.fixture(scope="module")
def opportunities(platform, namespace):
    return import_opportunities(namespace, CITY, {
        "consent_en": {}, "consent_es": {}, "waitlist": {"capacity": 1}})


@pytest.mark.parametrize("language", ["es", "en"])
def test_child_registers_after_consent_mail(platform, opportunities, language):
    guardian = platform["accounts"].sign_up(CITY)
    opportunity = opportunities[f"consent_{language}"]
    created = call(platform, "POST", f"/v1/cities/{CITY}/youth", guardian, {
        "relationship": "guardian", "display_name": "Ana", "birth_year": CHILD_YEAR,
        "birth_month": 3, "preferred_language": language,
        "guardians": [{"name": "Rosa", "email": guardian.email,
                       "language": language}]})
    assert created.status_code == 201, created.text
    youth = created.json()
    body = {"opportunity_id": opportunity["id"], "youth_id": youth["id"]}

    # Rejected, with the full path where consent is requested.
    refused = call(platform, "POST", f"/v1/cities/{CITY}/registrations", guardian, body)
    assert refused.status_code == 409, refused.text
    path = f"/v1/cities/{CITY}/youth/{youth['id']}/consent-requests"
    assert refused.json()["reason"] == "guardian_consent_required"
    assert refused.json()["consent_requests_path"] == path
    assert path in refused.json()["detail"]

    requested = call(platform, "POST", path, guardian,
                     {"guardian_id": youth["guardians"][0]["id"]})
    assert requested.status_code == 201, requested.text
    [message] = mail_to(platform, guardian.email, SUBJECTS[language]["consent"])
    assert message["Content-Language"] == language
    assert message["List-Unsubscribe"] is None
    page_url, token = LINK.search(text_of(message)).groups()
    assert token in text_of(message).replace(f"#token={token}", "")

    if language == "es":
        page = requests.get(page_url, timeout=30)
        assert page.status_code == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert 'name="token"' in page.text
        answered = requests.post(page_url, data={"token": token, "decision": "grant"},
                                 timeout=30)
        assert answered.status_code == 200, answered.text
        assert "Gracias" in answered.text
        again = requests.post(page_url, data={"token": token, "decision": "grant"},
                              timeout=30)
        assert again.status_code == 409
    else:
        answered = call(platform, "POST", f"/v1/cities/{CITY}/guardian-consent",
                        guardian, {"token": token, "decision": "grant"})
        assert answered.status_code == 200, answered.text
        assert answered.json()["consent"]["status"] == "granted"

    registered = call(platform, "POST", f"/v1/cities/{CITY}/registrations", guardian,
                      body)
    assert registered.status_code == 201, registered.text
    assert registered.json()["status"] == "confirmed"
    [confirmation] = mail_to(platform, guardian.email,
                             SUBJECTS[language]["confirmed"])
    assert confirmation["Content-Language"] == language
    assert registered.json()["id"] in text_of(confirmation)
    assert f"/v1/cities/{CITY}/unsubscribe/" in text_of(confirmation)


def test_waitlist_promotion_mails_youth(platform, opportunities):
    guardian = platform["accounts"].sign_up(CITY)
    opportunity = opportunities["waitlist"]
    contact = f"youth-{uuid.uuid4().hex[:10]}@example.org"

    def register(youth):
        response = call(platform, "POST", f"/v1/cities/{CITY}/registrations", guardian,
                        {"opportunity_id": opportunity["id"],
                         "relationship": "guardian", "youth": youth})
        assert response.status_code == 201, response.text
        return response.json()

    first = register({"display_name": "Sam", "birth_year": TEEN_YEAR,
                      "birth_month": 1})
    waiting = register({"display_name": "Lee", "birth_year": TEEN_YEAR,
                        "birth_month": 2, "contact_email": contact,
                        "preferred_language": "en"})
    assert first["status"] == "confirmed"
    assert waiting["status"] == "waitlisted"
    [notice] = mail_to(platform, contact, "You are on the waitlist")
    assert waiting["id"] in text_of(notice)
    assert "Participant: Lee\n" in text_of(notice)

    cancelled = call(platform, "POST", f"/v1/cities/{CITY}/registrations/"
                                       f"{first['id']}/cancellation", guardian, {})
    assert cancelled.status_code == 200, cancelled.text
    [message] = mail_to(platform, contact, "A place opened up")
    assert waiting["id"] in text_of(message)
    assert message["Content-Language"] == "en"
    assert message["List-Unsubscribe"] is not None
    confirmations = [item for item in platform["mailbox"].messages()
                     if item["To"] == contact
                     and item["Subject"].startswith("Your place in")]
    assert confirmations == []

    withdrawn = call(platform, "POST", f"/v1/cities/{CITY}/registrations/"
                                       f"{waiting['id']}/cancellation", guardian, {})
    assert withdrawn.status_code == 200, withdrawn.text
    [cancellation] = mail_to(platform, contact, "Registration cancelled")
    assert waiting["id"] in text_of(cancellation)
    assert "You, or your guardian, cancelled it" in text_of(cancellation)

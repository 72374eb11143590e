"""The address registration e-mail goes to, in the events that announce it."""

import pytest
from marshmallow import ValidationError

from cities_common import events
from cities_common.errors import Rejected
from services.registration.contacts import mail_contact
from services.registration.schemas import YouthProfileSchema
from tests.unit.test_registration_service import (
    CHILD, TEEN, Platform, consent_token, opportunity,
)

ROSA = {"id": "gdn-1", "name": "Rosa", "email": "rosa@example.org", "language": "es"}
LUIS = {"id": "gdn-2", "name": "Luis", "email": "luis@example.org", "language": "en"}


@pytest.mark.parametrize("youth, expected", [
    ({"display_name": "Sam", "contact_email": "sam@example.org",
      "preferred_language": "en", "guardians": [ROSA]},
     {"contact_email": "sam@example.org", "preferred_language": "en",
      "youth_display_name": "Sam"}),
    ({"display_name": "Ana", "guardians": [ROSA, LUIS],
      "consent": {"status": "granted", "guardian_id": "gdn-2"}},
     {"contact_email": "luis@example.org", "preferred_language": "en",
      "youth_display_name": "Ana"}),
    ({"display_name": "Ana", "guardians": [ROSA, LUIS], "consent": {"status": "none"}},
     {"contact_email": "rosa@example.org", "preferred_language": "es",
      "youth_display_name": "Ana"}),
    ({"display_name": "Ana", "contact_email": None, "guardians": []}, {}),
])
def test_mail_contact_prefers_youth_then_guardian(youth, expected):
    assert mail_contact(youth) == expected


@pytest.mark.parametrize("value", ["not-an-address", "a" * 250 + "@example.org"])
def test_profile_rejects_bad_contact_email(value):
    with pytest.raises(ValidationError) as caught:
        YouthProfileSchema().load({**TEEN, "contact_email": value})
    assert "contact_email" in caught.value.messages


def test_profile_contact_email_is_optional():
    assert YouthProfileSchema().load(TEEN)["contact_email"] is None


def test_registered_event_carries_youth_address():
    platform = Platform(opportunity())
    platform.register(youth={**TEEN, "contact_email": "sam@example.org",
                             "preferred_language": "es"})
    [event] = platform.sent(events.YOUTH_REGISTERED)
    assert event["data"]["contact_email"] == "sam@example.org"
    assert event["data"]["preferred_language"] == "es"


def test_registered_event_carries_consenting_guardian():
    platform = Platform(opportunity())
    youth = platform.service.create_youth(CHILD)
    with pytest.raises(Rejected) as caught:
        platform.register(youth_id=youth["id"])
    path = f"/v1/cities/chicago/youth/{youth['id']}/consent-requests"
    assert caught.value.details["consent_requests_path"] == path
    token = consent_token(platform, youth)
    platform.service.answer_guardian_consent(token, {"decision": "grant"})
    platform.register(youth_id=youth["id"])
    [event] = platform.sent(events.YOUTH_REGISTERED)
    assert event["data"]["contact_email"] == "rosa@example.org"
    assert event["data"]["preferred_language"] == "es"


def test_registered_event_without_contact_has_none():
    platform = Platform(opportunity())
    platform.register()
    [event] = platform.sent(events.YOUTH_REGISTERED)
    assert event["data"]["contact_email"] is None


def test_promotion_event_carries_contact():
    platform = Platform(opportunity(capacity=1))
    first = platform.register()
    waiting = platform.register(youth={**TEEN, "guardians": [
        {"name": "Luis", "email": "luis@example.org", "language": "en"}]})
    assert waiting["status"] == "waitlisted"
    platform.service.cancel_registration(first["id"])
    [promoted] = platform.sent(events.WAITLIST_PROMOTED)
    assert promoted["data"]["youth_id"] == waiting["youth_id"]
    assert promoted["data"]["contact_email"] == "luis@example.org"
    assert promoted["data"]["preferred_language"] == "en"


def test_promotion_event_without_contact_omits_it():
    platform = Platform(opportunity(capacity=1))
    first = platform.register()
    platform.register()
    platform.service.cancel_registration(first["id"])
    [promoted] = platform.sent(events.WAITLIST_PROMOTED)
    assert "contact_email" not in promoted["data"]

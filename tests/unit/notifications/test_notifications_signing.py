"""Standard Webhooks signatures, secret rotation and the CloudEvents body."""

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from services.notifications.engine import signed_headers, signing_secrets
from services.notifications.signing import (
    cloud_event, new_secret, sign, signature_header,
)

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=timezone.utc)


def subscription(*secrets):
    return {"secrets": [{"secret": secret, "expires_at": expires}
                        for secret, expires in secrets]}


def test_sign_matches_plain_hmac():
    secret = new_secret()
    body = '{"a":1}'
    signature = sign(secret, "msg_1", NOW, body)
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"msg_1.{int(NOW.timestamp())}.{body}".encode(),
                      hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(digest).decode()


def test_new_secret_has_prefix_and_32_bytes():
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32


def test_signature_header_lists_each_secret():
    old, new = new_secret(), new_secret()
    header = signature_header([new, old], "msg_1", NOW, "{}")
    parts = header.split(" ")
    assert len(parts) == 2
    assert parts[0] == sign(new, "msg_1", NOW, "{}")
    assert parts[1] == sign(old, "msg_1", NOW, "{}")


@pytest.mark.parametrize("receiver_has", ["old", "new"])
def test_rotation_overlap_verifies_with_either_secret(receiver_has):
    old, new = new_secret(), new_secret()
    now = datetime.now(timezone.utc)
    rotated = subscription((new, None), (old, now + timedelta(hours=1)))
    body = '{"id":"e1"}'
    headers = signed_headers(rotated, {"_id": "msg_1", "body": body}, now)
    secret = old if receiver_has == "old" else new
    assert Webhook(secret).verify(body, headers) == {"id": "e1"}


def test_rotation_after_overlap_signs_only_new():
    old, new = new_secret(), new_secret()
    now = datetime.now(timezone.utc)
    rotated = subscription((new, None), (old, now - timedelta(seconds=1)))
    assert signing_secrets(rotated, now) == [new]
    headers = signed_headers(rotated, {"_id": "msg_1", "body": "{}"}, now)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify("{}", headers)


def test_signature_rejects_changed_body():
    secret = new_secret()
    now = datetime.now(timezone.utc)
    headers = signed_headers(subscription((secret, None)),
                             {"_id": "msg_1", "body": '{"a":1}'}, now)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify('{"a":2}', headers)


def envelope(event_type="badge_issued", data=None):
    return {"event_id": "e1", "event_type": event_type, "city": "dallas",
            "occurred_at": "2026-12-04T15:00:00+00:00",
            "data": data or {"assertion_id": "a"}}


def test_cloud_event_carries_city_and_type():
    body = json.loads(cloud_event(envelope(), "badges", "badge.issued"))
    assert body["specversion"] == "1.0"
    assert body["id"] == "e1"
    assert body["source"] == "/cities/dallas/badges"
    assert body["data"]["city"] == "dallas"
    assert body["type"] == "org.citiesoflearning.badge.issued"


def test_cloud_event_hides_registration_contact():
    data = {"registration_id": "r", "youth_id": "y", "opportunity_id": "o",
            "status": "confirmed", "contact_email": "parent@example.org",
            "preferred_language": "es", "youth_display_name": "Ana"}
    body = cloud_event(envelope("youth_registered", data), "registration",
                       "registration.confirmed")
    assert "parent@example.org" not in body
    assert "preferred_language" not in json.loads(body)["data"]
    assert "Ana" not in body

"""Role grants, partner API keys, and the events that remove them."""

from datetime import timedelta

import pytest

from cities_common import events
from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, Unauthenticated, UnknownCity,
)
from services.identity import access
from services.identity.tokens import token_hash, utc_now


KEY_REQUEST = {"name": "Badge sync", "scopes": ["webhooks:read", "webhooks:write"]}


@pytest.fixture
def account(identity):
    return identity.verified_account()


def test_grant_is_idempotent(identity, account):
    first = identity.service.grant(account["id"], "chicago", "youth", "yth-1")
    second = identity.service.grant(account["id"], "chicago", "youth", "yth-1")
    assert first == second
    assert identity.store.grants.grants.count_documents({}) == 1


def test_grant_again_fills_catalog_account_id(identity, account):
    identity.service.grant(account["id"], "chicago", "org_admin", "org-1")
    grant = identity.service.grant(account["id"], "chicago", "org_admin", "org-1",
                                   "acc-cat-1")
    assert grant["catalog_account_id"] == "acc-cat-1"


@pytest.mark.parametrize("city, role, scope_id, field", [
    ("chicago", "mayor", "chicago", "role"),
    ("Chicago", "youth", "yth-1", "city"),
    ("*", "youth", "yth-1", "city"),
    ("chicago", "city_admin", "dallas", "scope_id"),
    ("chicago", "youth", "", "scope_id"),
    ("*", "operator", "*", "role"),
])
def test_grant_rejects_invalid_grant(identity, account, city, role, scope_id, field):
    with pytest.raises(InvalidInput) as caught:
        identity.service.grant(account["id"], city, role, scope_id)
    assert field in caught.value.errors


def test_grant_to_unknown_account_is_not_found(identity):
    with pytest.raises(NotFound):
        identity.service.grant("acct-missing", "chicago", "youth", "yth-1")


def test_revoke_grant(identity, account):
    identity.service.grant(account["id"], "chicago", "guardian", "yth-2")
    assert identity.service.revoke_grant(account["id"], "chicago", "guardian",
                                         "yth-2") == {"revoked": True}
    assert identity.service.revoke_grant(account["id"], "chicago", "guardian",
                                         "yth-2") == {"revoked": False}
    assert identity.service.list_grants(account["id"]) == []


def test_grant_by_email_rejects_invalid_email(identity):
    with pytest.raises(InvalidInput) as caught:
        identity.service.grant_by_email("nobody", "chicago", "city_admin", "chicago")
    assert "email" in caught.value.errors


# API keys

def test_create_api_key_returns_key_once(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST,
                                              "acct-admin")
    assert created["key"].startswith(f"col_{created['prefix']}_")
    assert created["scopes"] == ["webhooks:read", "webhooks:write"]
    assert created["name"] == "Badge sync"
    stored = identity.store.api_keys.keys.find_one({"_id": created["id"]})
    assert stored["key_hash"] == token_hash(created["key"])
    assert created["key"] not in str(stored)
    listed = identity.service.list_api_keys("chicago", "org-1")
    assert [item["id"] for item in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert "key_hash" not in listed[0]


@pytest.mark.parametrize("request_, field", [
    ({"scopes": ["webhooks:read"]}, "name"),
    ({"name": "x", "scopes": []}, "scopes"),
    ({"name": "x", "scopes": ["admin:all"]}, "scopes"),
    ({"name": "x"}, "scopes"),
])
def test_create_api_key_rejects_invalid_request(identity, request_, field):
    with pytest.raises(InvalidInput) as caught:
        identity.service.create_api_key("chicago", "org-1", request_)
    assert field in caught.value.errors


def test_create_api_key_requires_known_active_city(identity):
    with pytest.raises(UnknownCity):
        identity.service.create_api_key("springfield", "org-1", KEY_REQUEST)
    identity.store.archive_city("dallas")
    with pytest.raises(CityArchived):
        identity.service.create_api_key("dallas", "org-1", KEY_REQUEST)


def test_create_api_key_limits_active_keys(identity, monkeypatch):
    monkeypatch.setattr(access, "MAX_ACTIVE_KEYS_PER_ORGANIZATION", 2)
    for _ in range(2):
        identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    with pytest.raises(Conflict, match="revoke one first"):
        identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)


def test_authenticate_api_key(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    principal = identity.service.authenticate(created["key"])
    assert principal == {"kind": "api_key", "key_id": created["id"], "city": "chicago",
                         "organization_id": "org-1",
                         "scopes": ["webhooks:read", "webhooks:write"]}


def test_authenticate_records_last_use_once_a_minute(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    identity.service.authenticate(created["key"])
    first = identity.store.api_keys.usage.find_one({"_id": created["id"]})
    identity.service.authenticate(created["key"])
    again = identity.store.api_keys.usage.find_one({"_id": created["id"]})
    assert again["last_used_at"] == first["last_used_at"]
    listed = identity.service.list_api_keys("chicago", "org-1")
    assert listed[0]["last_used_at"] is not None


def test_last_use_is_written_again_after_a_minute(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    keys = identity.store.api_keys
    earlier = utc_now() - timedelta(minutes=2)
    keys.usage.insert_one({"_id": created["id"], "last_used_at": earlier})
    keys._touched.clear()
    identity.service.authenticate(created["key"])
    assert keys.usage.find_one({"_id": created["id"]})["last_used_at"] > earlier


def test_wrong_secret_with_known_prefix_is_rejected(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    forged = f"col_{created['prefix']}_{'A' * 43}"
    with pytest.raises(Unauthenticated, match="unknown"):
        identity.service.authenticate(forged)


def test_revoked_api_key_is_rejected(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    revoked = identity.service.revoke_api_key("chicago", "org-1", created["id"])
    assert revoked["revoked_at"] is not None
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.service.authenticate(created["key"])


def test_revoke_other_organizations_key_not_found(identity):
    created = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    with pytest.raises(NotFound):
        identity.service.revoke_api_key("chicago", "org-2", created["id"])
    with pytest.raises(NotFound):
        identity.service.revoke_api_key("dallas", "org-1", created["id"])


# Events

def envelope(event_type, city, data):
    return events.make_event(event_type, city, data)


def test_youth_erased_removes_youth_and_guardian_grants(identity, account):
    for role in ("youth", "guardian"):
        identity.service.grant(account["id"], "chicago", role, "yth-1")
    identity.service.grant(account["id"], "dallas", "guardian", "yth-1")
    identity.service.grant(account["id"], "chicago", "org_staff", "yth-1")
    identity.service.handle_youth_erased(envelope(events.YOUTH_ERASED, "chicago", {
        "erasure_id": "era-1", "youth_id": "yth-1",
        "requested_at": "2026-12-04T15:00:00+00:00"}))
    remaining = identity.service.list_grants(account["id"])
    assert [(grant["city"], grant["role"]) for grant in remaining] == [
        ("chicago", "org_staff"), ("dallas", "guardian")]
    acknowledged = identity.sent(events.YOUTH_ERASURE_ACKNOWLEDGED)
    assert len(acknowledged) == 1
    assert acknowledged[0]["erasure_id"] == "era-1"
    assert acknowledged[0]["service"] == "identity"
    assert acknowledged[0]["summary"] == {"grants_removed": 2}


def test_city_archived_revokes_keys_and_grants(identity, account):
    key = identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)
    other = identity.service.create_api_key("dallas", "org-1", KEY_REQUEST)
    identity.service.grant(account["id"], "chicago", "city_admin", "chicago")
    identity.service.grant(account["id"], "chicago", "youth", "yth-1")
    identity.service.grant(account["id"], "dallas", "city_admin", "dallas")
    identity.service.handle_city_archived(envelope(events.CITY_ARCHIVED, "chicago", {
        "slug": "chicago", "name": "Chicago",
        "archived_at": "2026-12-04T15:00:00+00:00"}))
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.service.authenticate(key["key"])
    assert identity.service.authenticate(other["key"])["city"] == "dallas"
    # The youth grant stays, so the account's portfolio still lists its badges.
    assert sorted((grant["city"], grant["role"]) for grant in
                  identity.service.list_grants(account["id"])) == [
        ("chicago", "youth"), ("dallas", "city_admin")]
    assert identity.login()["account_id"] == account["id"]
    with pytest.raises(CityArchived):
        identity.service.create_api_key("chicago", "org-1", KEY_REQUEST)


def test_city_onboarded_registers_city(identity):
    city = {"slug": "springfield", "name": "Springfield",
            "time_zone": "America/Chicago", "default_locale": "en", "locales": ["en"],
            "centre": {"lat": 39.78, "lon": -89.65},
            "bbox": {"min_lat": 39.7, "min_lon": -89.75, "max_lat": 39.86,
                     "max_lon": -89.55}}
    identity.service.handle_city_onboarded(envelope(events.CITY_ONBOARDED,
                                                    "springfield", city))
    created = identity.service.create_api_key("springfield", "org-1", KEY_REQUEST)
    assert created["city"] == "springfield"

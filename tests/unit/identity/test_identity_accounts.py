"""Sign-up, e-mail verification, logins, lockout, invitations and operators."""

from datetime import timedelta

import pytest

from cities_common import events
from cities_common.errors import (
    CityArchived, Conflict, Forbidden, InvalidInput, Unauthenticated, UnknownCity,
)
from services.identity.storage import SET_PASSWORD, VERIFY_EMAIL
from services.identity.tokens import token_hash, utc_now
from tests.unit.identity.conftest import PASSWORD



@pytest.mark.parametrize("request_, field", [
    ({"password": PASSWORD}, "email"),
    ({"email": "not-an-address", "password": PASSWORD}, "email"),
    ({"email": "ada@example.org"}, "password"),
    ({"email": "ada@example.org", "password": "short"}, "password"),
    ({"email": "ada@example.org", "password": "x" * 129}, "password"),
    ({"email": "ada@example.org", "password": "111111111111"}, "password"),
    ({"email": "ada@example.org", "password": PASSWORD, "locale": "fr"}, "locale"),
    ({"email": "ada@example.org", "password": PASSWORD, "name": "n" * 101}, "name"),
])
def test_signup_rejects_invalid_field(identity, request_, field):
    with pytest.raises(InvalidInput) as caught:
        identity.service.signup(request_)
    assert field in caught.value.errors


def test_signup_rejects_non_object(identity):
    with pytest.raises(InvalidInput) as caught:
        identity.service.signup(["ada@example.org"])
    assert "_schema" in caught.value.errors


def test_signup_requires_onboarded_city(identity):
    with pytest.raises(UnknownCity):
        identity.worker("springfield").signup({"email": "a@example.org",
                                               "password": PASSWORD})


def test_signup_rejects_archived_city(identity):
    identity.store.archive_city("chicago")
    with pytest.raises(CityArchived):
        identity.signup()


def test_signup_stores_lowercase_email_and_hash(identity):
    assert identity.signup(" Ada@Example.ORG ") == {"status": "verification_sent"}
    account = identity.store.accounts.by_email("ada@example.org")
    assert account["status"] == "pending"
    assert account["email_verified"] is False
    assert account["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in str(account)


def test_signup_dispatches_verification_event(identity):
    identity.signup(locale="es")
    [sent] = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)
    assert sent["city"] == "chicago"
    assert sent["email"] == "ada@example.org"
    assert sent["locale"] == "es"
    stored = identity.store.accounts.tokens.find_one({"account_id": sent["account_id"]})
    assert stored["_id"] == token_hash(sent["token"])
    assert sent["token"] not in str(stored)
    assert stored["expires_at"] - stored["created_at"] == timedelta(hours=24)


def test_signup_locale_defaults_to_city_locale(identity):
    identity.worker("dallas").signup({"email": "b@example.org", "password": PASSWORD})
    assert identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["locale"] == "es"


def test_signup_of_existing_email_sends_nothing(identity):
    identity.verified_account()
    identity.events.clear()
    assert identity.signup("ADA@example.org") == {"status": "verification_sent"}
    assert identity.events == []


def test_signup_replaces_expired_unverified_signup(identity):
    identity.signup(password="first password here")
    identity.store.accounts.tokens.update_many(
        {}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}})
    identity.signup(password="second password here")
    assert len(identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)) == 2
    identity.service.verify_email(
        identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[-1]["token"],
        "second password here")
    assert identity.login(password="second password here")["token_type"] == "Bearer"


def test_verify_email_marks_account_verified(identity):
    account = identity.verified_account()
    assert account["email"] == "ada@example.org"
    assert account["email_verified"] is True
    assert set(account) == {"id", "email", "name", "email_verified", "created_at"}


@pytest.mark.parametrize("token", ["", None, "unknown-token-of-enough-length"])
def test_verify_email_rejects_unknown_token(identity, token):
    with pytest.raises(InvalidInput) as caught:
        identity.service.verify_email(token)
    assert "token" in caught.value.errors


def test_verify_email_token_is_single_use(identity):
    identity.signup()
    token = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    identity.service.verify_email(token, PASSWORD)
    with pytest.raises(InvalidInput) as caught:
        identity.service.verify_email(token, PASSWORD)
    assert "token" in caught.value.errors


def test_verify_email_rejects_expired_token(identity):
    identity.signup()
    token = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    identity.store.accounts.tokens.update_one(
        {"_id": token_hash(token)},
        {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}})
    with pytest.raises(InvalidInput) as caught:
        identity.service.verify_email(token)
    assert "expired" in caught.value.errors["token"][0]


def test_setup_token_does_not_verify_email(identity):
    result = identity.service.grant_by_email("ann@example.org", "chicago", "city_admin",
                                             "chicago")
    with pytest.raises(InvalidInput):
        identity.service.verify_email(result["setup_token"])


# Login

def test_login_returns_token_pair(identity):
    account = identity.verified_account()
    pair = identity.login("ADA@example.org")
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 600
    assert pair["refresh_expires_in"] == 3600
    assert pair["account_id"] == account["id"]
    assert pair["access_token"].count(".") == 2


def test_login_unknown_email_same_message(identity):
    identity.verified_account()
    with pytest.raises(Unauthenticated) as wrong_password:
        identity.login(password="wrong password here")
    with pytest.raises(Unauthenticated) as unknown_email:
        identity.login("nobody@example.org")
    assert str(wrong_password.value) == str(unknown_email.value)


@pytest.mark.parametrize("email, password", [
    (None, PASSWORD), ("ada@example.org", None), ("", ""), (42, ["x"]),
])
def test_login_with_malformed_input_fails_generically(identity, email, password):
    identity.verified_account()
    with pytest.raises(Unauthenticated, match="e-mail or password is wrong"):
        identity.service.login(email, password)


def test_login_before_verification_is_forbidden(identity):
    identity.signup()
    with pytest.raises(Forbidden, match="verify your e-mail first"):
        identity.login()


def test_login_of_invited_account_fails_generically(identity):
    identity.service.grant_by_email("ann@example.org", "chicago", "city_admin",
                                    "chicago")
    with pytest.raises(Unauthenticated):
        identity.login("ann@example.org", "")


def test_login_of_disabled_account_is_forbidden(identity):
    account = identity.verified_account()
    identity.service.disable_account(account["id"])
    with pytest.raises(Forbidden, match="disabled"):
        identity.login()


def test_login_locks_after_ten_failures(identity):
    identity.verified_account()
    for _ in range(9):
        with pytest.raises(Unauthenticated):
            identity.login(password="wrong password here")
    with pytest.raises(Forbidden, match="try again after"):
        identity.login(password="wrong password here")
    with pytest.raises(Forbidden, match="try again after"):
        identity.login()


def test_lockout_holds_only_for_the_failing_client(identity):
    identity.verified_account()
    for _ in range(10):
        with pytest.raises((Unauthenticated, Forbidden)):
            identity.login(password="wrong password here", client="198.51.100.7")
    with pytest.raises(Forbidden, match="network address"):
        identity.login(client="198.51.100.7")
    assert identity.login(client="192.0.2.10")["token_type"] == "Bearer"


def test_old_failures_do_not_count(identity):
    identity.verified_account()
    for _ in range(9):
        with pytest.raises(Unauthenticated):
            identity.login(password="wrong password here")
    identity.store.throttle.failures.update_many(
        {}, {"$set": {"at": utc_now() - timedelta(days=3)}})
    with pytest.raises(Unauthenticated):
        identity.login(password="wrong password here")
    assert identity.login()["token_type"] == "Bearer"


def test_lockout_ends_after_its_time(identity):
    identity.verified_account()
    for _ in range(10):
        with pytest.raises((Unauthenticated, Forbidden)):
            identity.login(password="wrong password here")
    identity.store.throttle.lockouts.update_many(
        {}, {"$set": {"locked_until": utc_now() - timedelta(seconds=1)}})
    assert identity.login()["token_type"] == "Bearer"


def test_successful_login_resets_failure_count(identity):
    identity.verified_account()
    for _ in range(9):
        with pytest.raises(Unauthenticated):
            identity.login(password="wrong password here")
    identity.login()
    with pytest.raises(Unauthenticated):
        identity.login(password="wrong password here")


def test_unknown_email_locks_like_known_one(identity):
    for _ in range(9):
        with pytest.raises(Unauthenticated):
            identity.login("nobody@example.org")
    with pytest.raises(Forbidden, match="try again after"):
        identity.login("nobody@example.org")


# Invitations and operators

def test_grant_by_email_invites_new_person(identity):
    result = identity.service.grant_by_email("Ann@Example.org", "chicago",
                                             "city_admin", "chicago", "acc-cat-1")
    account = identity.store.accounts.get(result["account_id"])
    assert account["status"] == "invited"
    assert account["email"] == "ann@example.org"
    assert account["password_hash"] is None
    [sent] = identity.sent(events.ACCOUNT_SETUP_REQUESTED)
    assert sent["token"] == result["setup_token"]
    assert sent["account_id"] == result["account_id"]
    stored = identity.store.accounts.tokens.find_one({"kind": SET_PASSWORD})
    assert stored["expires_at"] - stored["created_at"] == timedelta(days=7)
    assert identity.service.list_grants(result["account_id"]) == [
        {"city": "chicago", "role": "city_admin", "scope_id": "chicago",
         "catalog_account_id": "acc-cat-1"}]


def test_grant_by_email_active_account_no_setup(identity):
    account = identity.verified_account()
    identity.events.clear()
    result = identity.service.grant_by_email("ada@example.org", "chicago", "org_staff",
                                             "org-1")
    assert result == {"account_id": account["id"], "setup_token": None}
    assert identity.events == []


def test_grant_by_email_takes_over_unverified_signup(identity):
    identity.signup(password="attacker password")
    result = identity.service.grant_by_email("ada@example.org", "chicago",
                                             "city_admin", "chicago")
    assert result["setup_token"]
    verification = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    with pytest.raises(InvalidInput):
        identity.service.verify_email(verification)
    with pytest.raises(Unauthenticated):
        identity.login(password="attacker password")


def test_grant_by_email_again_reissues_setup_token(identity):
    first = identity.service.grant_by_email("ann@example.org", "chicago",
                                            "city_admin", "chicago")
    second = identity.service.grant_by_email("ann@example.org", "chicago",
                                             "city_admin", "chicago")
    assert second["account_id"] == first["account_id"]
    assert second["setup_token"] not in (None, first["setup_token"])


def test_set_password_activates_invited_account(identity):
    result = identity.service.grant_by_email("ann@example.org", "chicago",
                                             "city_admin", "chicago")
    account = identity.service.set_password(result["setup_token"], PASSWORD)
    assert account["email_verified"] is True
    assert identity.login("ann@example.org")["account_id"] == result["account_id"]
    with pytest.raises(InvalidInput) as caught:
        identity.service.set_password(result["setup_token"], PASSWORD)
    assert "token" in caught.value.errors


def test_set_password_validates_password(identity):
    result = identity.service.grant_by_email("ann@example.org", "chicago",
                                             "city_admin", "chicago")
    with pytest.raises(InvalidInput) as caught:
        identity.service.set_password(result["setup_token"], "short")
    assert "password" in caught.value.errors


def test_verification_token_cannot_set_password(identity):
    identity.signup()
    token = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    with pytest.raises(InvalidInput):
        identity.service.set_password(token, "another password here")


def test_create_operator_is_idempotent(identity):
    first = identity.service.create_operator("Op@Example.org", PASSWORD)
    assert first["created"] is True
    assert first["password_set"] is True
    second = identity.service.create_operator("op@example.org", "ignored password x")
    assert second == {"account_id": first["account_id"], "created": False,
                      "password_set": False}
    assert identity.login("op@example.org")["account_id"] == first["account_id"]
    assert identity.service.list_grants(first["account_id"]) == [
        {"city": "*", "role": "operator", "scope_id": "*", "catalog_account_id": None}]


def test_create_operator_reset_password_ends_sessions(identity):
    created = identity.service.create_operator("op@example.org", PASSWORD)
    pair = identity.login("op@example.org")
    reset = identity.service.create_operator("op@example.org", "a new password here",
                                             reset_password=True)
    assert reset["password_set"] is True
    with pytest.raises(Unauthenticated):
        identity.service.authenticate(pair["access_token"])
    assert identity.login("op@example.org", "a new password here")["account_id"] == \
        created["account_id"]


def test_create_operator_rejects_weak_password(identity):
    with pytest.raises(InvalidInput) as caught:
        identity.service.create_operator("op@example.org", "password")
    assert "password" in caught.value.errors


def test_create_operator_rejects_disabled_account(identity):
    account = identity.verified_account()
    identity.service.disable_account(account["id"])
    with pytest.raises(Conflict, match="disabled"):
        identity.service.create_operator("ada@example.org", PASSWORD)


def test_enable_account_allows_login_again(identity):
    account = identity.verified_account()
    identity.service.disable_account(account["id"])
    assert identity.service.enable_account(account["id"])["status"] == "active"
    assert identity.login()["account_id"] == account["id"]


def test_stored_tokens_are_hashes(identity):
    identity.signup()
    token = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    stored = identity.store.accounts.tokens.find_one({"kind": VERIFY_EMAIL})
    assert stored["_id"] == token_hash(token)


def test_verification_needs_the_signup_password(identity):
    identity.signup(password="squatter password 1")
    token = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    for password in (None, "", "the owner's own password"):
        with pytest.raises(InvalidInput) as caught:
            identity.service.verify_email(token, password)
        assert "password" in caught.value.errors
    # A wrong password leaves the link usable.
    assert identity.service.verify_email(token, "squatter password 1")["email_verified"]


def test_owner_signs_up_over_a_squatter(identity):
    identity.signup(password="squatter password 1")
    squatter_link = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    identity.store.accounts.tokens.update_many(
        {}, {"$set": {"created_at": utc_now() - timedelta(minutes=5)}})
    identity.signup(password=PASSWORD)
    links = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)
    assert len(links) == 2
    with pytest.raises(InvalidInput) as caught:
        identity.service.verify_email(squatter_link, "squatter password 1")
    assert "password" in caught.value.errors
    identity.service.verify_email(links[-1]["token"], PASSWORD)
    with pytest.raises(Unauthenticated):
        identity.login(password="squatter password 1")
    assert identity.login()["token_type"] == "Bearer"


def test_repeated_signups_send_one_link_per_interval(identity):
    for _ in range(3):
        identity.signup()
    assert len(identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)) == 1

"""Forgotten passwords: a reset link by e-mail, which reveals nothing about who
has an account and ends a squatter's hold on an unverified sign-up."""

from datetime import timedelta

import pytest

from cities_common import events
from cities_common.errors import CityArchived, InvalidInput, Unauthenticated
from services.identity.storage import SET_PASSWORD
from tests.unit.identity.conftest import PASSWORD

NEW_PASSWORD = "a brand new passphrase"
RESET = events.ACCOUNT_PASSWORD_RESET_REQUESTED


def reset_token(identity) -> str:
    return identity.sent(RESET)[-1]["token"]


def test_reset_sets_password_ends_sessions(identity):
    account = identity.verified_account()
    session = identity.login()
    assert identity.service.request_password_reset("Ada@Example.org") == \
        {"status": "reset_sent"}
    [sent] = identity.sent(RESET)
    assert sent["account_id"] == account["id"]
    assert sent["email"] == "ada@example.org"
    stored = identity.store.accounts.tokens.find_one({"kind": SET_PASSWORD})
    assert stored["expires_at"] - stored["created_at"] == timedelta(hours=1)

    identity.service.set_password(reset_token(identity), NEW_PASSWORD)
    with pytest.raises(Unauthenticated):
        identity.login()
    assert identity.login(password=NEW_PASSWORD)["access_token"]
    with pytest.raises(Unauthenticated):
        identity.service.refresh(session["refresh_token"])


def test_reset_token_works_once(identity):
    identity.verified_account()
    identity.service.request_password_reset("ada@example.org")
    token = reset_token(identity)
    identity.service.set_password(token, NEW_PASSWORD)
    with pytest.raises(InvalidInput) as error:
        identity.service.set_password(token, "yet another passphrase")
    assert "token" in error.value.errors


def test_reset_same_for_unknown_address(identity):
    assert identity.service.request_password_reset("nobody@example.org") == \
        {"status": "reset_sent"}
    assert identity.sent(RESET) == []


def test_reset_skips_disabled_account(identity):
    account = identity.verified_account()
    identity.store.accounts.update(account["id"], {"status": "disabled"})
    assert identity.service.request_password_reset("ada@example.org") == \
        {"status": "reset_sent"}
    assert identity.sent(RESET) == []


def test_repeated_resets_send_one_link(identity):
    identity.verified_account()
    for _ in range(3):
        identity.service.request_password_reset("ada@example.org")
    assert len(identity.sent(RESET)) == 1


def test_reset_takes_over_squatted_signup(identity):
    identity.signup(password="squatter password")
    squatter_link = identity.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[0]["token"]
    identity.service.request_password_reset("ada@example.org")
    account = identity.service.set_password(reset_token(identity), NEW_PASSWORD)
    assert account["email_verified"] is True
    assert identity.store.accounts.get(account["id"])["status"] == "active"
    with pytest.raises(InvalidInput):
        identity.service.verify_email(squatter_link)
    with pytest.raises(Unauthenticated):
        identity.login(password="squatter password")
    assert identity.login(password=NEW_PASSWORD)["access_token"]


def test_reset_uses_account_locale(identity):
    identity.verified_account()
    identity.worker("dallas").request_password_reset("ada@example.org")
    [sent] = identity.sent(RESET)
    assert sent["city"] == "dallas"
    assert sent["locale"] == "en"  # the account's own locale wins over the city's


@pytest.mark.parametrize("email", ["", "not-an-address", None, 42])
def test_reset_rejects_bad_address(identity, email):
    with pytest.raises(InvalidInput) as error:
        identity.service.request_password_reset(email)
    assert "email" in error.value.errors


def test_reset_rejected_in_archived_city(identity):
    identity.verified_account()
    identity.store.archive_city("dallas")
    with pytest.raises(CityArchived):
        identity.worker("dallas").request_password_reset("ada@example.org")
    assert identity.login(password=PASSWORD)["access_token"]

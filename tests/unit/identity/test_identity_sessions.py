"""Refresh rotation, reuse detection, logout and ``authenticate``."""

import pytest

from cities_common.errors import NotFound, Unauthenticated
from services.identity.tokens import token_hash
from tests.unit.identity.conftest import Identity



@pytest.fixture
def pair(identity):
    identity.verified_account()
    return identity.login()


def test_authenticate_returns_account_principal(identity, pair):
    identity.service.grant(pair["account_id"], "chicago", "org_admin", "org-1",
                           "acc-cat-1")
    principal = identity.service.authenticate(pair["access_token"])
    assert principal == {
        "kind": "account", "account_id": pair["account_id"],
        "email": "ada@example.org", "email_verified": True,
        "session_id": pair["session_id"], "operator": False,
        "grants": [{"city": "chicago", "role": "org_admin", "scope_id": "org-1",
                    "catalog_account_id": "acc-cat-1"}]}


def test_authenticate_marks_operator(identity):
    identity.service.create_operator("op@example.org",
                                     "correct horse battery staple")
    pair = identity.login("op@example.org")
    assert identity.service.authenticate(pair["access_token"])["operator"] is True


@pytest.mark.parametrize("credential, message", [
    (None, "no credential"),
    ("", "no credential"),
    ("garbage", "malformed"),
    ("col_nope", "API key is malformed"),
])
def test_authenticate_rejects_bad_credential(identity, credential, message):
    with pytest.raises(Unauthenticated, match=message):
        identity.service.authenticate(credential)


def test_refresh_rotates_the_refresh_token(identity, pair):
    renewed = identity.service.refresh(pair["refresh_token"])
    assert renewed["refresh_token"] != pair["refresh_token"]
    assert renewed["session_id"] == pair["session_id"]
    assert identity.service.authenticate(renewed["access_token"])["session_id"] == \
        pair["session_id"]
    assert identity.service.refresh(renewed["refresh_token"])["token_type"] == "Bearer"


def test_refresh_token_is_stored_hashed(identity, pair):
    stored = identity.store.sessions.refresh_tokens.find_one(
        {"session_id": pair["session_id"]})
    assert stored["_id"] == token_hash(pair["refresh_token"])


def test_reused_refresh_token_revokes_session(identity, pair):
    renewed = identity.service.refresh(pair["refresh_token"])
    with pytest.raises(Unauthenticated, match="already used"):
        identity.service.refresh(pair["refresh_token"])
    with pytest.raises(Unauthenticated):
        identity.service.refresh(renewed["refresh_token"])
    with pytest.raises(Unauthenticated, match="revoked"):
        identity.service.authenticate(renewed["access_token"])


def test_reuse_does_not_touch_other_sessions(identity, pair):
    other = identity.login()
    identity.service.refresh(pair["refresh_token"])
    with pytest.raises(Unauthenticated):
        identity.service.refresh(pair["refresh_token"])
    assert identity.service.authenticate(other["access_token"])["session_id"] == \
        other["session_id"]


@pytest.mark.parametrize("token", [None, "", "unknown-refresh-token"])
def test_refresh_rejects_unknown_token(identity, token):
    with pytest.raises(Unauthenticated, match="unknown"):
        identity.service.refresh(token)


def test_refresh_rejects_expired_token():
    identity = Identity(refresh_seconds=1)
    identity.verified_account()
    pair = identity.login()
    identity.store.sessions.refresh_tokens.update_many(
        {}, {"$set": {"expires_at": identity.store.sessions.sessions.find_one()[
            "created_at"]}})
    with pytest.raises(Unauthenticated, match="expired"):
        identity.service.refresh(pair["refresh_token"])


def test_refresh_rejects_disabled_account(identity, pair):
    identity.store.accounts.update(pair["account_id"], {"status": "disabled"})
    with pytest.raises(Unauthenticated, match="disabled"):
        identity.service.refresh(pair["refresh_token"])


def test_logout_stops_access_and_refresh_tokens(identity, pair):
    assert identity.service.logout(pair["session_id"]) == {"revoked": True}
    with pytest.raises(Unauthenticated, match="logged out"):
        identity.service.authenticate(pair["access_token"])
    with pytest.raises(Unauthenticated):
        identity.service.refresh(pair["refresh_token"])


def test_logout_twice_is_harmless(identity, pair):
    identity.service.logout(pair["session_id"])
    assert identity.service.logout(pair["session_id"]) == {"revoked": True}


def test_logout_unknown_session_is_not_found(identity):
    with pytest.raises(NotFound):
        identity.service.logout("ses-unknown")


def test_logout_all_revokes_every_session(identity, pair):
    other = identity.login()
    result = identity.service.logout_all(pair["account_id"])
    assert result == {"revoked": True, "sessions": 2}
    for session in (pair, other):
        with pytest.raises(Unauthenticated):
            identity.service.authenticate(session["access_token"])


def test_disable_account_revokes_sessions(identity, pair):
    identity.service.disable_account(pair["account_id"])
    with pytest.raises(Unauthenticated):
        identity.service.authenticate(pair["access_token"])


def test_token_for_other_account_session_is_rejected(identity, pair):
    forged = identity.signer.access.issue("acct-someone-else", pair["session_id"])
    with pytest.raises(Unauthenticated, match="unknown session"):
        identity.service.authenticate(forged)


def test_public_keys_verify_issued_tokens(identity, pair):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    jwks = identity.service.public_keys()
    active_kid = identity.signer.keyring.active().kid
    assert [key["kid"] for key in jwks["keys"]] == [active_kid]
    token = jwt.decode(pair["access_token"], KeySet.import_key_set(jwks),
                       algorithms=["EdDSA"])
    assert token.claims["sub"] == pair["account_id"]


def test_rotate_signing_key_keeps_old_tokens_valid(identity, pair):
    rotated = identity.service.rotate_signing_key()
    assert rotated["kid"] == identity.signer.keyring.active().kid
    assert len(identity.service.public_keys()["keys"]) == 2
    assert identity.service.authenticate(pair["access_token"])["account_id"] == \
        pair["account_id"]

"""Access tokens (EdDSA JWTs), signing-key rotation and the format of API keys."""

import time
from datetime import timedelta

import mongomock
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, OKPKey

from cities_common.errors import Unauthenticated
from services.identity import signing, tokens
from services.identity.providers import TokenSettings
from cities_common.keycrypt import ENCRYPTION, KeyConfigurationError
from services.identity.signing import AUDIENCE, AccessTokens, KeyRing
from tests.unit.identity.conftest import KEY_PASSPHRASE as PASSPHRASE

ISSUER = "https://col.example"
# joserfc 1.8 warns that RFC 9864 deprecates the name "EdDSA"; the service keeps it.


@pytest.fixture
def keyring():
    return KeyRing(mongomock.MongoClient()["col_identity"]["signing_keys"], 600,
                   PASSPHRASE)


@pytest.fixture
def access(keyring):
    return AccessTokens(keyring, ISSUER, 600)


def issued_at(access, monkeypatch, seconds_ago: int) -> str:
    """Issue a token as if the clock were ``seconds_ago`` behind."""
    now = time.time()
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: now - seconds_ago)
        return access.issue("acct-1", "ses-1")


def forged(keyring, claims: dict, header: dict | None = None, key=None) -> str:
    signing_key = keyring.active()
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "acct-1", "sid": "ses-1",
               "jti": "j", "iat": now, "exp": now + 60, **claims}
    protected = {"alg": "EdDSA", "kid": signing_key.kid, "typ": "at+jwt",
                 **(header or {})}
    return jwt.encode(protected, payload, key or signing_key.key, algorithms=["EdDSA"])


def test_access_token_carries_required_claims(access, keyring):
    claims = access.verify(access.issue("acct-1", "ses-1"))
    assert claims["iss"] == ISSUER
    assert claims["aud"] == AUDIENCE
    assert claims["sub"] == "acct-1"
    assert claims["sid"] == "ses-1"
    assert claims["exp"] - claims["iat"] == 600
    assert len(claims["jti"]) == 32


def test_access_token_header_names_key_and_type(access, keyring):
    token = access.issue("acct-1", "ses-1")
    header = jwt.decode(token, keyring.active().key, algorithms=["EdDSA"]).header
    assert header == {"typ": "at+jwt", "alg": "EdDSA", "kid": keyring.active().kid}


def test_expired_access_token_is_rejected(access, monkeypatch):
    token = issued_at(access, monkeypatch, 600 + signing.LEEWAY_SECONDS + 1)
    with pytest.raises(Unauthenticated, match="expired"):
        access.verify(token)


def test_short_lived_token_expires(keyring):
    short = AccessTokens(keyring, ISSUER, 1)
    token = short.issue("acct-1", "ses-1")
    assert short.verify(token)["sub"] == "acct-1"
    with pytest.raises(Unauthenticated, match="expired"):
        later = time.time() + 2 + signing.LEEWAY_SECONDS
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(time, "time", lambda: later)
            short.verify(token)


@pytest.mark.parametrize("claims, message", [
    ({"iss": "https://evil.example"}, "iss"),
    ({"aud": "someone-else"}, "aud"),
    ({"sub": None}, "sub"),
    ({"iat": int(time.time()) + 3600}, "iat"),
])
def test_token_with_wrong_claim_is_rejected(keyring, access, claims, message):
    with pytest.raises(Unauthenticated, match=message):
        access.verify(forged(keyring, claims))


def test_token_of_other_type_is_rejected(keyring, access):
    with pytest.raises(Unauthenticated, match="token type"):
        access.verify(forged(keyring, {}, {"typ": "JWT"}))


def test_token_signed_by_other_key_is_rejected(keyring, access):
    stranger = OKPKey.generate_key("Ed25519", private=True)
    with pytest.raises(Unauthenticated, match="signature is invalid"):
        access.verify(forged(keyring, {}, key=stranger))


def test_token_naming_unknown_key_is_rejected(keyring, access):
    with pytest.raises(Unauthenticated, match="unknown key"):
        access.verify(forged(keyring, {}, {"kid": "idn-99-unknown"}))


@pytest.mark.parametrize("token", [
    "not a token", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
])
def test_malformed_token_is_rejected(access, token):
    with pytest.raises(Unauthenticated, match="malformed"):
        access.verify(token)


def test_token_with_other_algorithm_is_rejected(keyring, access):
    token = jwt.encode({"alg": "HS256", "typ": "at+jwt", "kid": keyring.active().kid},
                       {"sub": "acct-1"}, OctKey.import_key("k" * 32),
                       algorithms=["HS256"])
    with pytest.raises(Unauthenticated, match="malformed"):
        access.verify(token)


def test_first_key_is_generated_once(keyring):
    first = keyring.active()
    again = KeyRing(keyring.collection, 600, PASSPHRASE).active()
    assert first.generation == 1
    assert again.kid == first.kid


def test_rotated_key_signs_and_old_key_still_verifies(keyring, access):
    old_token = access.issue("acct-1", "ses-1")
    old_kid = keyring.active().kid
    new_key = keyring.rotate()
    assert new_key.generation == 2
    assert keyring.active().kid == new_key.kid
    assert access.verify(old_token)["sub"] == "acct-1"
    assert {key.kid for key in keyring.verification_keys()} == {old_kid, new_key.kid}


def test_superseded_key_retires_after_token_lifetime(keyring):
    keyring.active()
    new_kid = keyring.rotate().kid
    keyring.collection.update_one(
        {"_id": 2}, {"$set": {"created_at": tokens.utc_now() - timedelta(seconds=601)}})
    keyring._reload()
    assert [key.kid for key in keyring.verification_keys()] == [new_kid]


def test_other_process_rotation_is_found_by_kid(keyring):
    other = KeyRing(keyring.collection, 600, PASSPHRASE)
    other_access = AccessTokens(other, ISSUER, 600)
    keyring.active()
    other.rotate()
    token = other_access.issue("acct-1", "ses-1")
    assert AccessTokens(keyring, ISSUER, 600).verify(token)["sub"] == "acct-1"


def test_public_jwk_has_no_private_part(keyring):
    jwk = keyring.active().public_jwk()
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    assert jwk["alg"] == "EdDSA"
    assert "d" not in jwk


# Opaque tokens and API keys

def test_api_key_has_documented_format():
    key, prefix = tokens.new_api_key()
    head, key_prefix, secret = key.split("_", 2)
    assert head == "col"
    assert key_prefix == prefix
    assert len(prefix) == 8
    assert set(prefix) <= set("abcdefghijklmnopqrstuvwxyz0123456789")
    assert len(secret) == 43


def test_api_key_prefix_is_parsed_back():
    key, prefix = tokens.new_api_key()
    assert tokens.api_key_prefix(key) == prefix


@pytest.mark.parametrize("key", [
    "col_", "col_abc_secret", "xyz_abcdefgh_" + "s" * 43, "col_ABCDEFGH_" + "s" * 43,
    "col_abcdefgh_short",
])
def test_malformed_api_key_has_no_prefix(key):
    assert tokens.api_key_prefix(key) is None


def test_token_hash_is_sha256_hex():
    assert tokens.token_hash("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


def test_same_hash_compares_key_with_stored_hash():
    key, _ = tokens.new_api_key()
    assert tokens.same_hash(key, tokens.token_hash(key))
    assert not tokens.same_hash(key + "x", tokens.token_hash(key))


# Settings

def test_token_settings_read_config():
    settings = TokenSettings.from_config({"ACCESS_TOKEN_SECONDS": "120",
                                          "REFRESH_TOKEN_SECONDS": 3600})
    assert settings.access_seconds == 120
    assert settings.refresh_seconds == 3600


def test_token_settings_empty_values_keep_defaults():
    settings = TokenSettings.from_config({"ACCESS_TOKEN_SECONDS": "",
                                          "REFRESH_TOKEN_SECONDS": None})
    assert settings.access_seconds == 600
    assert settings.refresh_seconds == 30 * 24 * 3600


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5"])
def test_token_settings_reject_invalid_seconds(value):
    with pytest.raises(ValueError, match="ACCESS_TOKEN_SECONDS"):
        TokenSettings.from_config({"ACCESS_TOKEN_SECONDS": value})


def test_signing_keys_encrypted_at_rest(keyring):
    keyring.active()
    document = keyring.collection.find_one({"_id": 1})
    assert document["encryption"] == ENCRYPTION
    assert document["private_pem"].startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")


def test_plain_key_encrypted_on_load(keyring):
    key = OKPKey.generate_key("Ed25519", private=True)
    keyring.collection.insert_one({"_id": 1, "kid": "idn-1-plain",
                                   "private_pem": key.as_pem(private=True).decode(),
                                   "created_at": tokens.utc_now()})
    assert keyring.active().key.thumbprint() == key.thumbprint()
    document = keyring.collection.find_one({"_id": 1})
    assert document["encryption"] == ENCRYPTION
    assert KeyRing(keyring.collection, 600, PASSPHRASE).active().kid == "idn-1-plain"


def test_wrong_passphrase_names_setting(keyring):
    keyring.active()
    with pytest.raises(KeyConfigurationError, match="IDENTITY_KEY_PASSPHRASE"):
        KeyRing(keyring.collection, 600, "another passphrase, long enough").active()


@pytest.mark.parametrize("passphrase", [None, "", "short"])
def test_missing_or_short_passphrase_refused(passphrase):
    with pytest.raises(KeyConfigurationError, match="IDENTITY_KEY_PASSPHRASE"):
        KeyRing(mongomock.MongoClient()["col_identity"]["signing_keys"], 600, passphrase)

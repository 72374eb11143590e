"""Signing key rotation and revocation on the real servers.

The tests run in a city of their own, so rotating and revoking its keys changes
no badge of another test. Signatures are checked with ``cryptography`` from the
published JWKS and key documents, sharing no code with the issuer, and through
the platform's ``POST /badges/verify``.
"""

import base64
import json
import time
import uuid

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

from tests.e2e.accounts import seed_city

pytestmark = pytest.mark.e2e


def b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def parts(token: str) -> tuple[dict, dict, bytes, bytes]:
    header, payload, signature = token.split(".")
    return (
        json.loads(b64url(header)),
        json.loads(b64url(payload)),
        b64url(signature),
        f"{header}.{payload}".encode(),
    )


def request(platform, method, path, who=None, body=None):
    return platform["accounts"].request(method, path, who, body, timeout=30)


def jwks(platform, city) -> dict:
    response = request(platform, "GET", f"/v1/cities/{city}/badges/keys")
    assert response.status_code == 200, response.text
    return {key["kid"]: key for key in response.json()["keys"]}


def eddsa_valid(platform, city, token: str) -> bool:
    """Check a VC-JWT with the Ed25519 key that the city's JWKS lists under its kid."""
    header, _, signature, signing_input = parts(token)
    published = jwks(platform, city)
    if header["alg"] != "EdDSA" or header["kid"] not in published:
        return False
    key = ed25519.Ed25519PublicKey.from_public_bytes(b64url(published[header["kid"]]["x"]))
    try:
        key.verify(signature, signing_input)
    except InvalidSignature:
        return False
    return True


def rs256_valid(platform, token: str) -> bool:
    """Check an OB 2.0 JWS with the PEM of the CryptographicKey its creator names."""
    header, payload, signature, signing_input = parts(token)
    creator = payload["verification"]["creator"]
    document = request(platform, "GET", creator.removeprefix(platform["url"])).json()
    key = serialization.load_pem_public_key(document["publicKeyPem"].encode())
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return header["alg"] == "RS256" and "revoked" not in document


def verify(platform, city, token: str) -> dict:
    response = request(platform, "POST", f"/v1/cities/{city}/badges/verify",
                       body={"token": token})
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(check, timeout=45.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture(scope="module")
def keys_city(platform):
    """A city of its own with one awarded badge; its slug, admin and assertion."""
    slug = f"e2e-keys-{uuid.uuid4().hex[:6]}"
    admin = platform["accounts"].city_admin(
        slug, {**seed_city("chicago"), "slug": slug, "name": "Key rotation city"})
    base = f"/v1/cities/{slug}/badges"

    def create_class():
        # The badges service learns of the city from an event, so it may
        # return 404 for a moment after onboarding.
        response = request(platform, "POST", base + "/classes", admin, {
            "issuer_id": "city", "name": "Key Keeper",
            "description": "Kept a key safe.",
            "criteria": {"narrative": "Keep a key safe for a week."}})
        return response if response.status_code == 201 else None

    class_id = wait_for(create_class).json()["id"]
    award = request(platform, "POST", base + "/awards", admin, {
        "badge_class_id": class_id, "youth_id": "yth-keys-1",
        "opportunity_id": "opp-key-keeping",
        "awarded_by": {"name": "Ms Rivera"}, "narrative": "Kept it safe."})
    assert award.status_code == 201, award.text
    return {"slug": slug, "admin": admin, "assertion_id": award.json()["assertion_id"],
            "base": base}


def tokens(platform, keys_city) -> tuple[str, str]:
    """Return the badge's OB 3.0 VC-JWT and its OB 2.0 signed JWS as served now."""
    path = f"{keys_city['base']}/assertions/{keys_city['assertion_id']}"
    credential = request(platform, "GET", path + "/credential")
    signed = request(platform, "GET", path + "/signed")
    assert credential.status_code == 200, credential.text
    assert signed.status_code == 200, signed.text
    return credential.text.strip(), signed.text.strip()


def signing_keys(platform, keys_city) -> list[dict]:
    response = request(platform, "GET", keys_city["base"] + "/signing-keys", "operator")
    assert response.status_code == 200, response.text
    return response.json()["keys"]


def test_rotation_needs_operator(platform, keys_city):
    path = keys_city["base"] + "/signing-keys/rotation"
    assert request(platform, "POST", path, keys_city["admin"], {}).status_code == 403
    assert request(platform, "POST", path).status_code == 401


def test_rotation_keeps_earlier_badges_valid(platform, keys_city):
    city = keys_city["slug"]
    credential, signed = tokens(platform, keys_city)
    before = {key["algorithm"]: key for key in signing_keys(platform, keys_city)
              if key["status"] == "active"}

    response = request(platform, "POST", keys_city["base"] + "/signing-keys/rotation",
                       "operator", {})
    assert response.status_code == 200, response.text
    after = {key["key_id"]: key for key in response.json()["keys"]}
    for algorithm, key in before.items():
        assert after[key["key_id"]]["status"] == "retired"
    assert all("private_pem" not in key for key in after.values())

    new_credential, new_signed = tokens(platform, keys_city)
    assert parts(new_credential)[0]["kid"] != parts(credential)[0]["kid"]
    assert parts(new_signed)[1]["verification"]["creator"] != \
        parts(signed)[1]["verification"]["creator"]
    for token in (credential, new_credential):
        assert eddsa_valid(platform, city, token)
        assert verify(platform, city, token)["valid"]
    for token in (signed, new_signed):
        assert rs256_valid(platform, token)
        assert verify(platform, city, token)["valid"]


def test_revoked_key_fails_verification(platform, keys_city):
    city = keys_city["slug"]
    credential, signed = tokens(platform, keys_city)
    kid = parts(credential)[0]["kid"]
    key_id = kid.rsplit("/", 1)[1]

    response = request(
        platform, "POST",
        f"{keys_city['base']}/signing-keys/{key_id}/revocation", "operator",
        {"reason": "The key file was copied to a lost laptop"})
    assert response.status_code == 200, response.text
    assert response.json()["revoked"]["status"] == "revoked"

    assert kid not in jwks(platform, city)
    assert not eddsa_valid(platform, city, credential)
    report = verify(platform, city, credential)
    assert report["valid"] is False
    assert report["failed_check"] == "key"
    assert "copied to a lost laptop" in report["reason"]
    # The badge itself is sound: served again, it is signed with the new key.
    fresh, _ = tokens(platform, keys_city)
    assert eddsa_valid(platform, city, fresh)
    assert verify(platform, city, fresh)["valid"]
    # The RS256 key was not revoked, so the OB 2.0 signature still verifies.
    assert verify(platform, city, signed)["valid"]


def test_revoking_unknown_key_not_found(platform, keys_city):
    response = request(
        platform, "POST", f"{keys_city['base']}/signing-keys/rs256-unknown/revocation",
        "operator", {"reason": "Leaked"})
    assert response.status_code == 404, response.text


def test_served_credential_expands_as_jsonld(platform, keys_city):
    """The served VC-JWT payload expands with the vendored contexts, no term dropped."""
    from services.badges import jsonld

    credential, _ = tokens(platform, keys_city)
    expanded = jsonld.expand_vc_jwt_payload(parts(credential)[1])
    assert len(expanded) == 1
    assert "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential" in \
        expanded[0]["@type"]

"""Badges on the real servers, checked by verifiers that share no code with the issuer.

Signatures are checked with ``cryptography`` directly from the published JWKS and
key documents, with openbadgeslib's OB 2.0 and OB 3.0 verifiers, and baked
images are read back with the reference bakery (openbadges-bakery). Every fetch
goes to the test platform's gateway on 127.0.0.1.

A guardian account (``family``) registers the youth and reads their badges and
portfolio. The seeded opportunities belong to no partner organisation, so the
city's administrator (``ADMIN``) signs off their completions and manages the
badges they earn. A partner organisation's admin runs its own issuer and badge
class, and employer and university partners endorse through their own issuers.
"""

import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import openbadges_bakery
import pymongo
import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from kombu import Connection, Queue
from nameko.standalone.events import event_dispatcher, get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from openbadgeslib.ob2 import OB2VerificationError, OB2Verifier
from openbadgeslib.ob3 import OB3VerificationError, OB3Verifier

from cities_common import events

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CHICAGO_LOOP = (41.8763, -87.6281)
CITY = "chicago"
ADMIN = f"admin:{CITY}"


# HTTP helpers --------------------------------------------------------------------


def get(platform, path, who=None, **params):
    """GET as ``who`` (see ``Accounts.headers``); anonymous by default."""
    return platform["accounts"].request("GET", path, who, timeout=20, **params)


def send(platform, who, method, path, body=None):
    return platform["accounts"].request(method, path, who, body, timeout=30)


def badges_path(suffix=""):
    return f"/v1/cities/{CITY}/badges{suffix}"


def loopback_download(platform):
    """Build a ``url -> bytes`` fetcher for openbadgeslib, limited to the gateway."""

    def download(url, *args, **kwargs):
        assert url.startswith(platform["url"] + "/"), url
        response = requests.get(url, timeout=20)
        response.raise_for_status()
        return response.content

    return download


def wait_for(check, timeout=45.0, interval=0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


# Independent signature checks ------------------------------------------------------


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


def jwks(platform, city=CITY) -> dict:
    response = get(platform, f"/v1/cities/{city}/badges/keys")
    assert response.headers["content-type"] == "application/jwk-set+json"
    return {key["kid"]: key for key in response.json()["keys"]}


def ed25519_key(jwk: dict) -> ed25519.Ed25519PublicKey:
    assert (jwk["kty"], jwk["crv"]) == ("OKP", "Ed25519")
    return ed25519.Ed25519PublicKey.from_public_bytes(b64url(jwk["x"]))


def rsa_key(jwk: dict) -> rsa.RSAPublicKey:
    numbers = rsa.RSAPublicNumbers(
        int.from_bytes(b64url(jwk["e"]), "big"), int.from_bytes(b64url(jwk["n"]), "big")
    )
    return numbers.public_key()


def pem(key) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def eddsa_valid(platform, token: str) -> bool:
    """Check a VC-JWT with the Ed25519 key the city's JWKS lists under its kid."""
    header, _, signature, signing_input = parts(token)
    if header["alg"] != "EdDSA" or header["kid"] not in jwks(platform):
        return False
    try:
        ed25519_key(jwks(platform)[header["kid"]]).verify(signature, signing_input)
    except InvalidSignature:
        return False
    return True


def rs256_valid(platform, token: str) -> bool:
    """Check an OB 2.0 JWS with the PEM of the CryptographicKey its creator names."""
    header, payload, signature, signing_input = parts(token)
    creator = payload["verification"]["creator"]
    key_document = get(platform, creator.removeprefix(platform["url"])).json()
    key = serialization.load_pem_public_key(key_document["publicKeyPem"].encode())
    try:
        key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return header["alg"] == "RS256"


def forge(payload: dict, header: dict, sign) -> str:
    def encode(value):
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    signing_input = f"{encode(header)}.{encode(payload)}"
    signature = sign(signing_input.encode())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"


def with_payload(token: str, change) -> str:
    """Change a JWS payload and keep the issuer's signature (a tampered badge)."""
    header, payload, signature = token.split(".")
    document = json.loads(b64url(payload))
    change(document)
    raw = json.dumps(document, separators=(",", ":")).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).decode().rstrip('=')}.{signature}"


# Platform helpers ------------------------------------------------------------------


def registrable(platform, count=1):
    results = get(
        platform,
        f"/v1/cities/{CITY}/opportunities",
        lat=CHICAGO_LOOP[0],
        lon=CHICAGO_LOOP[1],
        radius_km=20,
        age=14,
        page_size=50,
    ).json()["results"]
    assert len(results) >= count, "too few opportunities for a 14-year-old in Chicago"
    return results[:count]


def complete(platform, family, opportunity, youth_id=None, evidence_url=None):
    """Register a youth as ``family`` and sign off the completion as the city admin."""
    body = {"opportunity_id": opportunity["id"]}
    if youth_id:
        body["youth_id"] = youth_id
    else:
        body["relationship"] = "guardian"
        body["youth"] = {"display_name": "Ria", "birth_year": 2012, "birth_month": 3}
    registration = send(
        platform, family, "POST", f"/v1/cities/{CITY}/registrations", body
    )
    assert registration.status_code in (200, 201), registration.text
    registration = registration.json()
    completion_body = {"evidence_url": evidence_url} if evidence_url else {}
    completed = send(
        platform,
        ADMIN,
        "POST",
        f"/v1/cities/{CITY}/registrations/{registration['id']}/completion",
        completion_body,
    )
    assert completed.status_code == 200, completed.text
    return registration


def portfolio(platform, family, youth_id):
    response = get(platform, f"/v1/cities/{CITY}/youth/{youth_id}/portfolio", family)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for_badges(platform, family, youth_id, count=1):
    def badges():
        found = portfolio(platform, family, youth_id)["badges"]
        return found if len(found) >= count else None

    return wait_for(badges)


def relative(platform, url: str) -> str:
    assert url.startswith(platform["url"] + "/"), url
    return url.removeprefix(platform["url"])


def verify_via_gateway(platform, data, content_type):
    response = requests.post(
        f"{platform['url']}{badges_path('/verify')}",
        data=data,
        headers={"Content-Type": content_type},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def family(platform):
    """The guardian account that registers this module's youth."""
    return platform["accounts"].sign_up(CITY)


@pytest.fixture(scope="module")
def partner(platform):
    """A museum partner in Chicago: its organisation id and its org admin."""
    organization_id, lead = platform["accounts"].partner(CITY, "museum")
    return {"organization_id": organization_id, "lead": lead}


@pytest.fixture(scope="module")
def earned(platform, family):
    """One youth's completion badge in Chicago, with its opportunity."""
    opportunity = registrable(platform)[0]
    registration = complete(
        platform,
        family,
        opportunity,
        evidence_url="https://portfolio.example.org/ria/robot",
    )
    badge = wait_for_badges(platform, family, registration["youth_id"])[0]
    return {
        "badge": badge,
        "youth_id": registration["youth_id"],
        "opportunity": opportunity,
        "registration": registration,
    }


@pytest.fixture(scope="module")
def staff_class(platform, partner):
    """A partner issuer and an evidence-required badge class with alignments."""
    issuer = send(
        platform,
        partner["lead"],
        "POST",
        badges_path("/issuers"),
        {
            "name": f"Maker Lab {uuid.uuid4().hex[:6]}",
            "kind": "partner",
            "url": "https://makerlab.example.org",
            "email": "badges@makerlab.example.org",
        },
    )
    assert issuer.status_code == 201, issuer.text
    assert issuer.json()["organization_id"] == partner["organization_id"]
    badge_class = send(
        platform,
        partner["lead"],
        "POST",
        badges_path("/classes"),
        {
            "issuer_id": issuer.json()["id"],
            "name": "Circuit Builder",
            "description": "Designs, builds and explains a working circuit.",
            "criteria": {
                "narrative": "Build a circuit and explain it to a peer.",
                "url": "https://makerlab.example.org/criteria/circuits",
            },
            "alignments": [
                {
                    "target_name": "Electrical circuits",
                    "target_url": "https://www.nextgenscience.org/pe/4-ps3-2",
                    "target_framework": "NGSS",
                    "target_code": "4-PS3-2",
                }
            ],
            "tags": ["stem", "making"],
            "evidence_required": True,
            "valid_days": 730,
        },
    )
    assert badge_class.status_code == 201, badge_class.text
    return {"issuer": issuer.json(), "badge_class": badge_class.json()}


# Standards ---------------------------------------------------------------------------


def test_hosted_assertion_is_ob2_jsonld(platform, earned):
    urls = earned["badge"]["urls"]
    response = get(platform, relative(platform, urls["assertion"]))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ld+json"
    assert response.headers["access-control-allow-origin"] == "*"
    assertion = response.json()
    assert assertion["@context"] == "https://w3id.org/openbadges/v2"
    assert assertion["type"] == "Assertion"
    assert assertion["id"] == urls["assertion"]
    assert assertion["verification"] == {"type": "HostedBadge"}
    assert assertion["recipient"]["identity"].startswith("sha256$")
    evidence_urls = [item.get("id") for item in assertion["evidence"]]
    assert "https://portfolio.example.org/ria/robot" in evidence_urls

    badge_class = get(platform, relative(platform, assertion["badge"])).json()
    assert badge_class["type"] == "BadgeClass"
    assert badge_class["id"] == assertion["badge"]
    issuer = get(platform, relative(platform, badge_class["issuer"])).json()
    assert issuer["type"] == "Issuer"
    assert issuer["id"] == badge_class["issuer"]
    assert len(issuer["publicKey"]) == 2
    image = get(platform, relative(platform, badge_class["image"]))
    assert image.headers["content-type"] == "image/png"


def test_recipient_hash_matches_youth(platform, earned):
    assertion = get(
        platform, relative(platform, earned["badge"]["urls"]["assertion"])
    ).json()
    recipient = assertion["recipient"]
    identity = f"{platform['url']}/v1/cities/{CITY}/youth/{earned['youth_id']}"

    digest = hashlib.sha256((identity + recipient["salt"]).encode()).hexdigest()
    assert recipient["identity"] == f"sha256${digest}"


def test_signed_assertion_verifies_independently(platform, earned):
    response = get(platform, relative(platform, earned["badge"]["urls"]["signed"]))
    assert response.headers["content-type"] == "application/jose"
    token = response.text
    assert rs256_valid(platform, token)
    header, payload, _, _ = parts(token)
    assert header["kid"] == payload["verification"]["creator"]
    rsa_jwks = [key for key in jwks(platform).values() if key["alg"] == "RS256"]
    assert header["kid"].endswith("/" + rsa_jwks[0]["kid"].rsplit("/", 1)[1])
    verified = OB2Verifier(download=loopback_download(platform)).verify(
        token, check_revocation=True
    )
    assert verified.id == earned["badge"]["urls"]["assertion"]


def test_credential_verifies_independently(platform, earned):
    response = get(platform, relative(platform, earned["badge"]["urls"]["credential"]))
    assert response.headers["content-type"] == "application/vc+jwt"
    token = response.text
    assert eddsa_valid(platform, token)
    header, payload, _, _ = parts(token)
    key = ed25519_key(jwks(platform)[header["kid"]])
    credential = OB3Verifier(pubkey_pem=pem(key)).verify(token)
    assert credential.issuer.id == payload["issuer"]["id"]
    assert (
        payload["credentialSubject"]["achievement"]["id"]
        == earned["badge"]["urls"]["badge_class"]
    )
    evidence = [item.get("id") for item in payload["evidence"]]
    assert "https://portfolio.example.org/ria/robot" in evidence


def test_jwk_document_matches_jwks(platform, earned):
    for kid, key in jwks(platform).items():
        response = get(platform, relative(platform, kid))
        assert response.headers["content-type"] == "application/jwk+json"
        assert response.json() == key
        assert "d" not in key


# Tampering -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        (
            "recipient",
            {
                "type": "url",
                "hashed": True,
                "salt": "00",
                "identity": "sha256$" + "0" * 64,
            },
        ),
        ("issuedOn", "2019-01-01T00:00:00+00:00"),
    ],
)
def test_tampered_signed_assertion_rejected(platform, earned, field, value):
    token = get(platform, relative(platform, earned["badge"]["urls"]["signed"])).text
    tampered = with_payload(token, lambda document: document.update({field: value}))
    assert not rs256_valid(platform, tampered)
    report = verify_via_gateway(platform, tampered, "text/plain")
    assert report["valid"] is False
    assert report["failed_check"] == "signature"


@pytest.mark.parametrize(
    "field, value",
    [
        (
            "credentialSubject",
            {
                "type": ["AchievementSubject"],
                "identifier": [
                    {
                        "type": "IdentityObject",
                        "identityHash": "sha256$" + "0" * 64,
                        "identityType": "systemId",
                        "hashed": True,
                        "salt": "00",
                    }
                ],
            },
        ),
        ("validFrom", "2019-01-01T00:00:00+00:00"),
    ],
)
def test_tampered_credential_rejected(platform, earned, field, value):
    token = get(
        platform, relative(platform, earned["badge"]["urls"]["credential"])
    ).text
    tampered = with_payload(token, lambda document: document.update({field: value}))
    assert not eddsa_valid(platform, tampered)
    report = verify_via_gateway(platform, tampered, "application/vc+jwt")
    assert report["valid"] is False
    assert report["failed_check"] == "signature"


@pytest.mark.parametrize(
    "field, value",
    [
        (
            "recipient",
            {
                "type": "url",
                "hashed": True,
                "salt": "00",
                "identity": "sha256$" + "0" * 64,
            },
        ),
        ("issuedOn", "2019-01-01T00:00:00+00:00"),
    ],
)
def test_tampered_hosted_json_rejected(platform, earned, field, value):
    assertion = get(
        platform, relative(platform, earned["badge"]["urls"]["assertion"])
    ).json()
    assertion[field] = value
    report = verify_via_gateway(platform, json.dumps(assertion), "application/json")
    assert report["valid"] is False
    assert report["failed_check"] == "hosted_assertion"
    assert field in report["reason"]


def test_wrong_key_rejected(platform, earned):
    token = get(
        platform, relative(platform, earned["badge"]["urls"]["credential"])
    ).text
    header, payload, _, _ = parts(token)
    impostor = ed25519.Ed25519PrivateKey.generate()
    forged = forge(payload, header, impostor.sign)
    assert not eddsa_valid(platform, forged)
    report = verify_via_gateway(platform, forged, "text/plain")
    assert (report["valid"], report["failed_check"]) == (False, "signature")

    signed = get(platform, relative(platform, earned["badge"]["urls"]["signed"])).text
    header, payload, _, _ = parts(signed)
    rsa_impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = forge(
        payload,
        header,
        lambda data: rsa_impostor.sign(data, padding.PKCS1v15(), hashes.SHA256()),
    )
    assert not rs256_valid(platform, forged)
    report = verify_via_gateway(platform, forged, "text/plain")
    assert (report["valid"], report["failed_check"]) == (False, "signature")


def test_foreign_assertion_not_fetched(platform, earned):
    assertion = get(
        platform, relative(platform, earned["badge"]["urls"]["assertion"])
    ).json()
    assertion["id"] = "http://127.0.0.2:9/assertion"
    report = verify_via_gateway(platform, json.dumps(assertion), "application/json")
    assert report["valid"] is False
    assert "is not under" in report["reason"]


# Baking --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, media_type", [("png", "image/png"), ("svg", "image/svg+xml")]
)
def test_baked_ob2_image_round_trip(platform, earned, kind, media_type):
    signed = get(platform, relative(platform, earned["badge"]["urls"]["signed"])).text
    response = get(
        platform, relative(platform, earned["badge"]["urls"][f"image_{kind}"])
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == media_type
    assert openbadges_bakery.unbake(io.BytesIO(response.content)) == signed
    report = verify_via_gateway(platform, response.content, media_type)
    assert report["valid"] is True, report
    assert report["standard"] == "ob2-signed"


@pytest.mark.parametrize(
    "kind, media_type", [("png", "image/png"), ("svg", "image/svg+xml")]
)
def test_baked_ob3_image_round_trip(platform, earned, kind, media_type):
    credential = get(
        platform, relative(platform, earned["badge"]["urls"]["credential"])
    ).text
    response = get(
        platform,
        relative(platform, earned["badge"]["urls"][f"image_{kind}"]),
        standard="ob3",
    )
    assert response.headers["content-type"] == media_type
    extract = (
        OB3Verifier.extract_token_from_png
        if kind == "png"
        else OB3Verifier.extract_token_from_svg
    )
    assert extract(response.content) == credential
    report = verify_via_gateway(platform, response.content, media_type)
    assert report["valid"] is True, report
    assert report["standard"] == "ob3-vc-jwt"


def test_cli_verifies_baked_image(platform, earned, tmp_path):
    image = get(platform, relative(platform, earned["badge"]["urls"]["image_png"]))
    path = tmp_path / "badge.png"
    path.write_bytes(image.content)
    recipient = f"{platform['url']}/v1/cities/{CITY}/youth/{earned['youth_id']}"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.badges.verify",
            "--base-url",
            platform["url"],
            "--recipient",
            recipient,
            str(path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert "recipient" in [check["check"] for check in report["checks"]]


# Duplicates ------------------------------------------------------------------------


def test_repeated_completion_issues_one_badge(platform, earned, family):
    path = f"/v1/cities/{CITY}/registrations/{earned['registration']['id']}/completion"
    assert send(platform, ADMIN, "POST", path, {}).status_code == 200
    completion_id = f"cmp-{earned['registration']['id']}"
    award = send(
        platform,
        ADMIN,
        "POST",
        badges_path("/awards"),
        {
            "badge_class_id": earned["badge"]["badge_class_id"],
            "youth_id": earned["youth_id"],
            "completion_id": completion_id,
            "awarded_by": {"name": "Ms Rivera"},
        },
    )
    assert award.status_code == 200, award.text
    assert award.json()["assertion_id"] == earned["badge"]["assertion_id"]
    assert len(portfolio(platform, family, earned["youth_id"])["badges"]) == 1


def test_redelivered_completion_event_issues_one_badge(platform, namespace, family):
    opportunity = registrable(platform)[0]
    registration = complete(platform, family, opportunity)
    wait_for_badges(platform, family, registration["youth_id"])
    data = {
        "completion_id": f"cmp-{registration['id']}",
        "registration_id": registration["id"],
        "youth_id": registration["youth_id"],
        "opportunity_id": opportunity["id"],
        "opportunity_title": opportunity["title"],
        "provider_name": opportunity["provider"]["name"],
        "completed_at": "2026-07-01T10:00:00+00:00",
    }
    dispatch = event_dispatcher({"AMQP_URI": namespace.amqp_uri})
    envelopes = [
        events.make_event(events.PROGRAM_COMPLETED, CITY, data) for _ in range(3)
    ]
    for envelope in envelopes:
        dispatch("registration", events.PROGRAM_COMPLETED, envelope)

    inbox = pymongo.MongoClient(namespace.settings.mongo_url)[
        namespace.settings.mongo_database("badges")
    ]["processed_events"]
    keys = [
        f"{envelope['event_id']}:handle_program_completed" for envelope in envelopes
    ]
    wait_for(lambda: inbox.count_documents({"_id": {"$in": keys}}) == len(keys))
    assert len(portfolio(platform, family, registration["youth_id"])["badges"]) == 1


# Revocation ------------------------------------------------------------------------


def test_revoked_badge_fails_verification_with_reason(platform, namespace, family):
    opportunity = registrable(platform)[0]
    registration = complete(platform, family, opportunity)
    badge = wait_for_badges(platform, family, registration["youth_id"])[0]
    urls = badge["urls"]
    signed = get(platform, relative(platform, urls["signed"])).text
    credential = get(platform, relative(platform, urls["credential"])).text
    baked = get(platform, relative(platform, urls["image_png"]), standard="ob3").content

    queue = Queue(
        f"test-revoked-{uuid.uuid4().hex[:8]}",
        exchange=get_event_exchange("badges", {}),
        routing_key="badge_revoked",
        auto_delete=True,
    )
    with Connection(namespace.amqp_uri) as connection:
        queue(connection.default_channel).declare()
        revoked = send(
            platform,
            ADMIN,
            "POST",
            relative(platform, urls["assertion"]) + "/revocation",
            {"reason": "Attendance was recorded in error"},
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["revoked"] is True
        message = wait_for(lambda: queue(connection.default_channel).get(no_ack=True))
    event = message.payload
    assert event["event_type"] == "badge_revoked"
    assert event["data"]["assertion_id"] == badge["assertion_id"]
    assert event["data"]["reason"] == "Attendance was recorded in error"

    reason = "revoked by the issuer: Attendance was recorded in error"
    for data, media_type in (
        (signed, "text/plain"),
        (credential, "text/plain"),
        (baked, "image/png"),
    ):
        report = verify_via_gateway(platform, data, media_type)
        assert (report["valid"], report["failed_check"]) == (False, "revocation")
        assert report["reason"] == reason
    hosted = get(platform, relative(platform, urls["assertion"])).json()
    assert hosted["revoked"] is True
    assert hosted["revocationReason"] == "Attendance was recorded in error"


def test_revocation_published_independently(platform, family):
    opportunity = registrable(platform)[0]
    registration = complete(platform, family, opportunity)
    badge = wait_for_badges(platform, family, registration["youth_id"])[0]
    urls = badge["urls"]
    revoked = send(
        platform,
        ADMIN,
        "POST",
        relative(platform, urls["assertion"]) + "/revocation",
        {"reason": "Duplicate record"},
    )
    assert revoked.status_code == 200, revoked.text

    issuer = get(platform, relative(platform, badge["issuer"]["url"])).json()
    revocations = get(platform, relative(platform, issuer["revocationList"]))
    assert revocations.headers["content-type"] == "application/ld+json"
    entries = {entry["id"]: entry for entry in revocations.json()["revokedAssertions"]}
    assert entries[urls["assertion"]]["revocationReason"] == "Duplicate record"

    credential = get(platform, relative(platform, urls["credential"])).text
    status = parts(credential)[1]["credentialStatus"]
    status_list = get(platform, relative(platform, status["statusListCredential"])).text
    assert eddsa_valid(platform, status_list)
    subject = parts(status_list)[1]["credentialSubject"]
    encoded = subject["encodedList"]

    bits = gzip.decompress(b64url(encoded[1:]))
    index = int(status["statusListIndex"])
    assert bits[index // 8] & (0x80 >> (index % 8))
    key = ed25519_key(jwks(platform)[parts(credential)[0]["kid"]])
    with pytest.raises(OB3VerificationError, match="'revocation' is set"):
        OB3Verifier(pubkey_pem=pem(key)).verify(
            credential, check_status=True, download=loopback_download(platform)
        )
    signed = get(platform, relative(platform, urls["signed"])).text
    with pytest.raises(OB2VerificationError, match="revoked: Duplicate record"):
        OB2Verifier(download=loopback_download(platform)).verify(
            signed, check_revocation=True
        )


# Awards, endorsements, versions ---------------------------------------------------


def test_award_with_evidence_and_peer_assessment(
    platform, earned, staff_class, partner, endorsers, family
):
    class_id = staff_class["badge_class"]["id"]
    body = {
        "badge_class_id": class_id,
        "youth_id": earned["youth_id"],
        "opportunity_id": earned["opportunity"]["id"],
        "awarded_by": {"name": "Ms Rivera", "role": "Lab lead"},
    }
    lead = partner["lead"]
    other_staff = endorsers["employer"]["lead"]
    for who, status in ((None, 401), (family, 403), (other_staff, 403)):
        refused = send(platform, who, "POST", badges_path("/awards"), body)
        assert refused.status_code == status, refused.text
    missing = send(platform, lead, "POST", badges_path("/awards"), body)
    assert missing.status_code == 400
    assert "evidence" in missing.json()["errors"]

    body.update(
        award_id=f"award-{uuid.uuid4().hex[:8]}",
        evidence=[
            {
                "url": "https://makerlab.example.org/ria/circuit",
                "narrative": "Built a series circuit with a switch.",
            }
        ],
        peer_assessments=[
            {
                "assessor_name": "Sam",
                "assessor_role": "Peer",
                "narrative": "Explained resistance clearly.",
                "rating": 5,
            }
        ],
    )
    first = send(platform, lead, "POST", badges_path("/awards"), body)
    assert first.status_code == 201, first.text
    again = send(platform, lead, "POST", badges_path("/awards"), body)
    assert again.status_code == 200
    assert again.json()["assertion_id"] == first.json()["assertion_id"]

    hosted = get(platform, relative(platform, first.json()["urls"]["assertion"])).json()
    genres = [item.get("genre") for item in hosted["evidence"]]
    assert "Peer assessment" in genres
    assert hosted["expires"] > hosted["issuedOn"]
    badge_class = get(platform, relative(platform, hosted["badge"])).json()
    assert badge_class["alignment"][0]["targetCode"] == "4-PS3-2"
    assert badge_class["tags"] == ["stem", "making"]
    assert (
        badge_class["criteria"]["id"]
        == "https://makerlab.example.org/criteria/circuits"
    )
    credential = get(
        platform, relative(platform, first.json()["urls"]["credential"])
    ).text
    assert eddsa_valid(platform, credential)
    assert parts(credential)[1]["validUntil"] == hosted["expires"]


def test_has_badges_rpc_for_prerequisites(platform, namespace, earned):
    class_id = earned["badge"]["badge_class_id"]
    with ClusterRpcProxy(
        {"AMQP_URI": namespace.amqp_uri}, context_data={"city": CITY}
    ) as rpc:
        held = rpc.badges.has_badges(earned["youth_id"], [class_id])
        missing = rpc.badges.has_badges(earned["youth_id"], [class_id, "bc-unknown"])
    assert held["has_all"] is True
    assert missing == {
        "youth_id": earned["youth_id"],
        "has_all": False,
        "held": [class_id],
        "missing": ["bc-unknown"],
    }


@pytest.fixture(scope="module")
def endorsers(platform):
    """Employer and university partners, each with an issuer its org admin owns."""
    found = {}
    for kind, body in (
        (
            "employer",
            {
                "name": "Lakeside Manufacturing",
                "kind": "employer",
                "url": "https://lakeside.example.org",
            },
        ),
        ("university", {"name": "City College", "kind": "university"}),
    ):
        organization_id, lead = platform["accounts"].partner(CITY, kind)
        issuer = send(platform, lead, "POST", badges_path("/issuers"), body)
        assert issuer.status_code == 201, issuer.text
        assert issuer.json()["organization_id"] == organization_id
        found[kind] = {"lead": lead, "issuer": issuer.json()}
    return found


def test_endorsement_shown_on_badge_class(platform, staff_class, endorsers):
    employer = endorsers["employer"]["issuer"]
    university = endorsers["university"]["issuer"]
    class_id = staff_class["badge_class"]["id"]
    endorsed = send(
        platform,
        endorsers["employer"]["lead"],
        "POST",
        badges_path("/endorsements"),
        {
            "endorser_id": employer["id"],
            "badge_class_id": class_id,
            "comment": "We count this badge toward apprenticeship applications.",
        },
    )
    assert endorsed.status_code == 201, endorsed.text
    of_issuer = send(
        platform,
        endorsers["university"]["lead"],
        "POST",
        badges_path("/endorsements"),
        {
            "endorser_id": university["id"],
            "issuer_id": staff_class["issuer"]["id"],
            "comment": "A trusted partner for our bridge programme.",
        },
    )
    assert of_issuer.status_code == 201, of_issuer.text

    badge_class = get(platform, badges_path(f"/classes/{class_id}"))
    assert badge_class.headers["content-type"] == "application/ld+json"
    endorsement = badge_class.json()["endorsement"][0]
    assert endorsement["type"] == "Endorsement"
    assert endorsement["issuer"].endswith(f"/badges/issuers/{employer['id']}")
    assert endorsement["claim"]["endorsementComment"].startswith("We count this badge")
    assert endorsement["claim"]["id"] == badge_class.json()["id"]
    hosted = get(platform, relative(platform, endorsement["id"])).json()
    assert hosted == endorsement
    issuer = get(
        platform, badges_path(f"/issuers/{staff_class['issuer']['id']}")
    ).json()
    assert issuer["endorsement"][0]["claim"]["endorsementComment"].startswith(
        "A trusted"
    )


def test_endorsement_needs_endorser_staff(platform, staff_class, endorsers, partner):
    body = {
        "endorser_id": endorsers["employer"]["issuer"]["id"],
        "badge_class_id": staff_class["badge_class"]["id"],
        "comment": "Endorsed in another organisation's name.",
    }
    path = badges_path("/endorsements")
    assert send(platform, None, "POST", path, body).status_code == 401
    for who in (endorsers["university"]["lead"], partner["lead"]):
        response = send(platform, who, "POST", path, body)
        assert response.status_code == 403, response.text


def test_endorsement_by_library_rejected(platform, staff_class):
    _, librarian = platform["accounts"].partner(CITY, "library")
    library = send(
        platform,
        librarian,
        "POST",
        badges_path("/issuers"),
        {"name": "Branch Library", "kind": "library"},
    )
    assert library.status_code == 201, library.text
    response = send(
        platform,
        librarian,
        "POST",
        badges_path("/endorsements"),
        {
            "endorser_id": library.json()["id"],
            "badge_class_id": staff_class["badge_class"]["id"],
            "comment": "Nice",
        },
    )
    assert response.status_code == 400
    assert "endorser_id" in response.json()["errors"]


def test_badge_class_edit_keeps_old_version(platform, earned):
    class_id = earned["badge"]["badge_class_id"]
    old = get(platform, badges_path(f"/classes/{class_id}/versions/1")).json()
    edit = {
        "name": "Robotics Explorer",
        "description": "Completed a robotics club.",
        "criteria": {"narrative": "Attend every session."},
        "expected_version": 1,
    }
    updated = send(platform, ADMIN, "PUT", badges_path(f"/classes/{class_id}"), edit)
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    stale = send(platform, ADMIN, "PUT", badges_path(f"/classes/{class_id}"), edit)
    assert stale.status_code == 409
    assert (
        get(platform, badges_path(f"/classes/{class_id}")).json()["name"]
        == "Robotics Explorer"
    )
    assert get(platform, badges_path(f"/classes/{class_id}/versions/1")).json() == old
    assertion = get(
        platform, relative(platform, earned["badge"]["urls"]["assertion"])
    ).json()
    assert assertion["badge"].endswith("/versions/1")


# Portfolio, share links, playlists, export -----------------------------------------


def test_share_link_hides_private_badge(platform, staff_class, family):
    opportunities = registrable(platform, 2)
    first = complete(platform, family, opportunities[0])
    youth_id = first["youth_id"]
    complete(platform, family, opportunities[1], youth_id=youth_id)
    badges = wait_for_badges(platform, family, youth_id, 2)
    public, private = badges[0], badges[1]
    shown = send(
        platform,
        family,
        "PUT",
        f"/v1/cities/{CITY}/youth/{youth_id}/portfolio/badges/{public['assertion_id']}",
        {"public": True},
    )
    assert shown.status_code == 200
    assert shown.json()["public"] is True

    link = send(
        platform, family, "POST", f"/v1/cities/{CITY}/youth/{youth_id}/share-links"
    )
    assert link.status_code == 201
    link = link.json()
    shared = get(platform, relative(platform, link["url"]))
    assert shared.status_code == 200
    shared_ids = [badge["assertion_id"] for badge in shared.json()["badges"]]
    assert shared_ids == [public["assertion_id"]]
    assert private["assertion_id"] not in shared.text
    assert youth_id not in shared.text
    assert link["token"] not in json.dumps(portfolio(platform, family, youth_id))

    guessed = get(platform, f"/v1/cities/{CITY}/portfolios/{uuid.uuid4().hex}")
    assert guessed.status_code == 404
    removed = send(
        platform,
        family,
        "DELETE",
        f"/v1/cities/{CITY}/youth/{youth_id}/share-links/{link['id']}",
    )
    assert removed.status_code == 200
    assert get(platform, relative(platform, link["url"])).status_code == 404


def test_playlist_badge_after_all_completed(platform, family):
    opportunities = registrable(platform, 3)[1:]
    playlist = send(
        platform,
        ADMIN,
        "POST",
        badges_path("/playlists"),
        {
            "name": "Library Explorer",
            "description": "Two library programmes in a row.",
            "opportunity_ids": [item["id"] for item in opportunities],
        },
    )
    assert playlist.status_code == 201, playlist.text
    playlist = playlist.json()

    first = complete(platform, family, opportunities[0])
    youth_id = first["youth_id"]
    wait_for_badges(platform, family, youth_id, 1)
    progress = portfolio(platform, family, youth_id)["playlists"]
    mine = [item for item in progress if item["playlist_id"] == playlist["id"]]
    assert mine[0]["remaining"] == [opportunities[1]["id"]]
    assert playlist["badge_class_id"] not in [
        badge["badge_class_id"]
        for badge in portfolio(platform, family, youth_id)["badges"]
    ]

    complete(platform, family, opportunities[1], youth_id=youth_id)
    badges = wait_for_badges(platform, family, youth_id, 3)
    earned_playlist = [
        badge
        for badge in badges
        if badge["badge_class_id"] == playlist["badge_class_id"]
    ]
    assert len(earned_playlist) == 1
    assert earned_playlist[0]["playlist_id"] == playlist["id"]


def test_learner_record_export_verifies(platform, earned, family):
    response = get(
        platform, f"/v1/cities/{CITY}/youth/{earned['youth_id']}/record", family
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vc+jwt"
    record = response.text
    assert eddsa_valid(platform, record)
    payload = parts(record)[1]
    assert payload["type"] == ["VerifiableCredential", "ClrCredential"]
    members = payload["credentialSubject"]["verifiableCredential"]
    assert members
    for member in members:
        token = member["id"].removeprefix("data:application/vc+jwt,")
        assert eddsa_valid(platform, token)
        assert parts(token)[1]["evidence"]
    report = verify_via_gateway(platform, record, "application/vc+jwt")
    assert report["valid"] is True, report
    assert report["standard"] == "clr2-vc-jwt"


def test_youth_badges_hidden_from_other_accounts(platform, earned, family, partner):
    youth = f"/v1/cities/{CITY}/youth/{earned['youth_id']}"
    assertion_id = earned["badge"]["assertion_id"]
    stranger = platform["accounts"].sign_up(CITY)
    requests_by_others = (
        ("GET", f"{youth}/badges", None),
        ("GET", f"{youth}/portfolio", None),
        ("GET", f"{youth}/record", None),
        ("PUT", f"{youth}/portfolio/badges/{assertion_id}", {"public": True}),
        ("POST", f"{youth}/share-links", None),
    )
    for method, path, body in requests_by_others:
        for who in (stranger, partner["lead"], ADMIN):
            response = send(platform, who, method, path, body)
            assert response.status_code == 404, (method, path, response.text)
        anonymous = send(platform, None, method, path, body)
        assert anonymous.status_code == 401, (method, path, anonymous.text)

    shown = send(
        platform,
        family,
        "PUT",
        f"{youth}/portfolio/badges/{assertion_id}",
        {"public": True},
    )
    assert shown.status_code == 200, shown.text
    link = send(platform, family, "POST", f"{youth}/share-links")
    assert link.status_code == 201, link.text
    shared = get(platform, relative(platform, link.json()["url"]))
    assert shared.status_code == 200, shared.text
    shared_ids = [badge["assertion_id"] for badge in shared.json()["badges"]]
    assert assertion_id in shared_ids
    revoked = send(
        platform,
        stranger,
        "DELETE",
        f"{youth}/share-links/{link.json()['id']}",
    )
    assert revoked.status_code == 404
    assert get(platform, relative(platform, link.json()["url"])).status_code == 200


def test_public_documents_unknown_ids_404(platform):
    for path in (
        "/assertions/ast-none",
        "/assertions/ast-none/credential",
        "/classes/bc-none",
        "/classes/bc-none/versions/1",
        "/issuers/org-none",
        "/keys/rs256-none",
        "/endorsements/end-none",
    ):
        response = get(platform, badges_path(path))
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"

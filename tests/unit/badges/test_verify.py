import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from joserfc import jws
from joserfc.jwk import OKPKey, RSAKey

from services.badges import images
from services.badges.verify import Verifier, main
from tests.unit.badges.conftest import BASE_URL


def b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def with_payload(token: str, change) -> str:
    """Change the payload of a compact JWS and keep the original signature."""
    header, payload, signature = token.split(".")
    document = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    change(document)
    return f"{header}.{b64(document)}.{signature}"


def test_hosted_assertion_verifies(platform, issued):
    report = platform["verifier"].verify(
        platform["hosting"].assertion_document(issued["id"])
    )
    assert report["valid"], report
    assert report["standard"] == "ob2-hosted"
    assert report["badge"]["name"] == "Completed: Robot Club"


def test_signed_assertion_verifies(platform, issued):
    report = platform["verifier"].verify(
        platform["hosting"].signed_assertion(issued["id"])
    )
    assert report["valid"], report
    assert report["standard"] == "ob2-signed"


def test_credential_verifies(platform, issued):
    report = platform["verifier"].verify(platform["hosting"].credential(issued["id"]))
    assert report["valid"], report
    assert report["standard"] == "ob3-vc-jwt"


@pytest.mark.parametrize(
    "kind, standard", [("png", "ob2"), ("png", "ob3"), ("svg", "ob2"), ("svg", "ob3")]
)
def test_baked_image_verifies(platform, issued, kind, standard):
    image = platform["hosting"].baked_image(issued["id"], kind, standard)
    report = platform["verifier"].verify(image)
    assert report["valid"], report
    assert report["checks"][0]["check"] == "baked_image"


def test_recipient_check_passes_for_owner(platform, issued):
    token = platform["hosting"].credential(issued["id"])
    report = platform["verifier"].verify(token, platform["urls"].youth("yth-1"))
    assert report["valid"], report


def test_recipient_check_fails_for_other(platform, issued):
    token = platform["hosting"].signed_assertion(issued["id"])
    report = platform["verifier"].verify(token, platform["urls"].youth("yth-2"))
    assert not report["valid"]
    assert report["failed_check"] == "recipient"


@pytest.mark.parametrize(
    "field, value",
    [
        (
            "recipient",
            {"type": "url", "hashed": True, "salt": "x", "identity": "sha256$00"},
        ),
        ("issuedOn", "2020-01-01T00:00:00+00:00"),
    ],
)
def test_tampered_signed_assertion_fails(platform, issued, field, value):
    token = platform["hosting"].signed_assertion(issued["id"])
    tampered = with_payload(token, lambda document: document.update({field: value}))
    report = platform["verifier"].verify(tampered)
    assert not report["valid"]
    assert report["failed_check"] == "signature"


@pytest.mark.parametrize(
    "field, value",
    [
        ("validFrom", "2020-01-01T00:00:00+00:00"),
        ("credentialSubject", {"type": ["AchievementSubject"], "identifier": []}),
    ],
)
def test_tampered_credential_fails(platform, issued, field, value):
    token = platform["hosting"].credential(issued["id"])
    tampered = with_payload(token, lambda document: document.update({field: value}))
    report = platform["verifier"].verify(tampered)
    assert not report["valid"]
    assert report["failed_check"] == "signature"


@pytest.mark.parametrize(
    "field, value",
    [
        (
            "recipient",
            {"type": "url", "hashed": True, "salt": "x", "identity": "sha256$00"},
        ),
        ("issuedOn", "2020-01-01T00:00:00+00:00"),
    ],
)
def test_tampered_hosted_json_fails(platform, issued, field, value):
    document = platform["hosting"].assertion_document(issued["id"])
    report = platform["verifier"].verify({**document, field: value})
    assert not report["valid"]
    assert report["failed_check"] == "hosted_assertion"
    assert field in report["reason"]


def test_signed_with_wrong_key_fails(platform, issued):
    token = platform["hosting"].signed_assertion(issued["id"])
    header, payload, _ = token.split(".")
    payload_bytes = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = jws.serialize_compact(
        {"alg": "RS256"}, payload_bytes, RSAKey.generate_key(2048), algorithms=["RS256"]
    )
    report = platform["verifier"].verify(forged)
    assert not report["valid"]
    assert report["failed_check"] == "signature"


def test_credential_with_wrong_key_fails(platform, issued):
    token = platform["hosting"].credential(issued["id"])
    header, payload, _ = token.split(".")
    header_data = json.loads(
        base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))
    )
    payload_bytes = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    forged = jws.serialize_compact(
        header_data, payload_bytes, OKPKey.generate_key("Ed25519"), algorithms=["EdDSA"]
    )
    report = platform["verifier"].verify(forged)
    assert not report["valid"]
    assert report["failed_check"] == "signature"


def test_revoked_badge_fails_everywhere_with_reason(platform, issued):
    hosting = platform["hosting"]
    platform["issuance"].revoke(issued["id"], "Completion recorded in error")
    for presented in (
        hosting.assertion_document(issued["id"]),
        hosting.signed_assertion(issued["id"]),
        hosting.credential(issued["id"]),
        hosting.baked_image(issued["id"], "png", "ob3"),
    ):
        report = platform["verifier"].verify(presented)
        assert not report["valid"]
        assert report["failed_check"] == "revocation"
        assert report["reason"] == "revoked by the issuer: Completion recorded in error"


def test_expired_badge_fails(platform, issued):
    later = datetime.now(timezone.utc) + timedelta(days=400)
    platform["store"].assertions[issued["id"]]["expires"] = (
        datetime.now(timezone.utc) + timedelta(days=365)
    ).isoformat()
    verifier = Verifier(BASE_URL, platform["fetcher"], now=later)
    report = verifier.verify(platform["hosting"].credential(issued["id"]))
    assert not report["valid"]
    assert report["failed_check"] == "expiry"


def test_foreign_assertion_not_fetched(platform, issued):
    document = platform["hosting"].assertion_document(issued["id"])
    document["id"] = "http://127.0.0.2/assertion"
    report = platform["verifier"].verify(document)
    assert not report["valid"]
    assert "is not under" in report["reason"]
    assert platform["fetcher"].fetched == []


def test_unsigned_credential_json_rejected(platform, issued):
    report = platform["verifier"].verify({"type": ["VerifiableCredential"]})
    assert not report["valid"]
    assert report["failed_check"] == "format"


def test_learner_record_verifies_members(platform, issued):
    token = platform["hosting"].learner_record(
        "yth-1", platform["issuance"].city_issuer()
    )
    report = platform["verifier"].verify(token)
    assert report["valid"], report
    assert report["standard"] == "clr2-vc-jwt"
    assert [member["valid"] for member in report["members"]] == [True]


def test_garbage_input_reports_format(platform):
    report = platform["verifier"].verify(b"\x00\x01 not a badge")
    assert not report["valid"]
    assert report["failed_check"] == "format"


def test_cli_reports_unreadable_file(tmp_path, capsys):
    assert main([str(tmp_path / "missing.png")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_cli_reports_unbaked_image_invalid(tmp_path, capsys):
    path = tmp_path / "plain.png"
    path.write_bytes(images.default_png("bc-1"))
    assert main(["--base-url", BASE_URL, str(path)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed_check"] == "baked_image"

import json
from datetime import datetime

import pytest

from services.badges import ob2, ob3
from services.badges.statuslist import LIST_SIZE, decode_list, encode_list, is_set
from services.badges.verify import split_compact


def test_hosted_assertion_is_ob2_jsonld(platform, issued):
    document = platform["hosting"].assertion_document(issued["id"])
    assert document["@context"] == "https://w3id.org/openbadges/v2"
    assert document["type"] == "Assertion"
    assert document["id"] == f"{platform['urls'].badges}/assertions/{issued['id']}"
    assert document["verification"] == {"type": "HostedBadge"}
    assert document["badge"].endswith(f"/classes/{issued['badge_class_id']}/versions/1")
    assert document["recipient"]["hashed"] is True


def test_hosted_assertion_evidence_listed(platform, issued):
    document = platform["hosting"].assertion_document(issued["id"])
    urls = [item.get("id") for item in document["evidence"]]
    assert "https://portfolio.example.test/robot" in urls
    assert all(item["type"] == "Evidence" for item in document["evidence"])


def test_badge_class_document_fields(platform, issued):
    document = platform["hosting"].badge_class_document(issued["badge_class_id"], 1)
    assert document["type"] == "BadgeClass"
    assert document["issuer"] == platform["urls"].issuer(issued["issuer_id"])
    assert document["criteria"]["narrative"]
    assert document["image"].endswith("/versions/1/image")


def test_issuer_lists_keys_and_revocations(platform, issued):
    document = platform["hosting"].issuer_document(issued["issuer_id"])
    assert document["type"] == "Issuer"
    assert len(document["publicKey"]) == 2
    assert document["revocationList"].endswith("/revocations")


def test_signed_assertion_payload_and_header(platform, issued):
    header, payload = split_compact(platform["hosting"].signed_assertion(issued["id"]))
    assert header["alg"] == "RS256"
    assert payload["verification"]["type"] == "SignedBadge"
    assert payload["verification"]["creator"] == header["kid"]
    assert "revoked" not in payload


def test_credential_is_ob3_vc_jwt(platform, issued):
    header, payload = split_compact(platform["hosting"].credential(issued["id"]))
    assert header == {"typ": "vc+jwt", "kid": header["kid"], "alg": "EdDSA"}
    assert payload["@context"] == [ob3.VC2_CONTEXT, ob3.OB3_CONTEXT]
    assert payload["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert payload["iss"] == payload["issuer"]["id"]
    assert payload["jti"] == payload["id"]
    assert payload["id"].startswith("urn:uuid:")
    assert payload["nbf"] == int(
        datetime.fromisoformat(payload["validFrom"]).timestamp()
    )
    subject = payload["credentialSubject"]
    assert subject["identifier"][0]["identityHash"] == issued["recipient"]["hash"]
    assert subject["achievement"]["type"] == ["Achievement"]
    assert payload["credentialStatus"]["type"] == "BitstringStatusListEntry"


def test_jwks_publishes_both_keys(platform):
    keys = platform["hosting"].jwks()["keys"]
    assert sorted(key["alg"] for key in keys) == ["EdDSA", "RS256"]
    assert all(key["kid"].startswith(platform["urls"].jwks() + "/") for key in keys)
    assert all("d" not in key for key in keys)


def test_revocation_list_names_both_ids(platform, issued):
    platform["issuance"].revoke(issued["id"], "issued in error")
    entries = platform["hosting"].revocation_list(issued["issuer_id"])[
        "revokedAssertions"
    ]
    ids = {entry["id"] for entry in entries}
    assert ids == {platform["urls"].assertion(issued["id"]), issued["credential_id"]}
    assert {entry["revocationReason"] for entry in entries} == {"issued in error"}


@pytest.mark.parametrize("indexes", [[], [0], [7, 8, 9], [LIST_SIZE - 1]])
def test_status_list_round_trip(indexes):
    bits = decode_list(encode_list(indexes))
    assert len(bits) * 8 == LIST_SIZE
    assert [index for index in range(LIST_SIZE) if is_set(bits, index)] == indexes


def test_status_list_rejects_bad_encoding():
    with pytest.raises(ValueError):
        decode_list("zzz")


def test_hashed_identity_matches_reference():
    # sha256("alice@example.org" + "deadsea") computed with coreutils sha256sum.
    assert ob2.hashed_identity("alice@example.org", "deadsea") == (
        "sha256$c934fdacc6242be0277a284970416aa9bfa583241fb85094bc96c504ee0abd4e"
    )


def test_learner_record_envelops_credentials(platform, issued):
    city_issuer = platform["issuance"].city_issuer()
    _, payload = split_compact(platform["hosting"].learner_record("yth-1", city_issuer))
    assert payload["type"] == ["VerifiableCredential", "ClrCredential"]
    members = payload["credentialSubject"]["verifiableCredential"]
    assert len(members) == 1
    assert members[0]["id"].startswith("data:application/vc+jwt,")
    assert json.dumps(payload).count("Robot Club") >= 1

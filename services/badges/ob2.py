"""Open Badges 2.0 JSON-LD documents: Issuer, BadgeClass, Assertion and friends.

Each builder takes the stored records and the city's ``BadgeUrls`` and returns
the hosted document. Ids are the gateway URLs that serve the same document, so
a verifier can dereference every link.
"""

import hashlib
import json

from services.badges.urls import BadgeUrls

OB2_CONTEXT = "https://w3id.org/openbadges/v2"
HOSTED = "HostedBadge"
SIGNED = "SignedBadge"


def hashed_identity(identity: str, salt: str) -> str:
    """Hash a recipient identity the Open Badges 2.0 way: ``sha256$`` + hex digest."""
    return "sha256$" + hashlib.sha256((identity + salt).encode()).hexdigest()


def drop_empty(document: dict) -> dict:
    return {
        key: value for key, value in document.items() if value not in (None, "", [], {})
    }


def issuer_document(
    urls: BadgeUrls, issuer: dict, key_ids: list[str], endorsements: list[dict]
) -> dict:
    """Build the ``Issuer`` profile with its public keys and revocation list."""
    issuer_url = urls.issuer(issuer["id"])
    return drop_empty(
        {
            "@context": OB2_CONTEXT,
            "type": "Issuer",
            "id": issuer_url,
            "name": issuer["name"],
            "url": issuer.get("url") or issuer_url,
            "email": issuer.get("email"),
            "description": issuer.get("description"),
            "image": urls.issuer_image(issuer["id"]) if issuer.get("image") else None,
            "publicKey": [urls.issuer_key(issuer["id"], key_id) for key_id in key_ids],
            "revocationList": urls.revocation_list(issuer["id"]),
            "endorsement": [endorsement_document(urls, item) for item in endorsements],
        }
    )


def cryptographic_key_document(
    urls: BadgeUrls,
    issuer_id: str,
    key_id: str,
    public_pem: str,
    revoked_at: str | None = None,
    revocation_reason: str | None = None,
) -> dict:
    """Build the ``CryptographicKey`` that ``verification.creator`` points to.

    A compromised key carries ``revoked``, its revocation date as in the W3C
    Security Vocabulary, and ``revocationReason``.
    """
    document = {
        "@context": OB2_CONTEXT,
        "type": "CryptographicKey",
        "id": urls.issuer_key(issuer_id, key_id),
        "owner": urls.issuer(issuer_id),
        "publicKeyPem": public_pem,
    }
    if revoked_at:
        document["revoked"] = revoked_at
        document["revocationReason"] = revocation_reason or "no reason given"
    return document


def alignment_document(alignment: dict) -> dict:
    return drop_empty(
        {
            "targetName": alignment["target_name"],
            "targetUrl": alignment["target_url"],
            "targetDescription": alignment.get("target_description"),
            "targetFramework": alignment.get("target_framework"),
            "targetCode": alignment.get("target_code"),
        }
    )


def badge_class_document(
    urls: BadgeUrls, badge_class: dict, endorsements: list[dict], versioned: bool = True
) -> dict:
    """Build a ``BadgeClass``; ``versioned`` picks the immutable version URL as id.

    Assertions point at the version they were issued under, so later edits to
    the class never change what an earned badge states.
    """
    class_id, version = badge_class["id"], badge_class["version"]
    criteria = badge_class.get("criteria") or {}
    return drop_empty(
        {
            "@context": OB2_CONTEXT,
            "type": "BadgeClass",
            "id": urls.badge_class_version(class_id, version)
            if versioned
            else urls.badge_class(class_id),
            "name": badge_class["name"],
            "description": badge_class["description"],
            "image": urls.badge_class_image(class_id, version),
            "criteria": drop_empty(
                {"id": criteria.get("url"), "narrative": criteria.get("narrative")}
            ),
            "issuer": urls.issuer(badge_class["issuer_id"]),
            "alignment": [
                alignment_document(item) for item in badge_class.get("alignments", [])
            ],
            "tags": badge_class.get("tags", []),
            "endorsement": [endorsement_document(urls, item) for item in endorsements],
        }
    )


def evidence_document(evidence: dict) -> dict:
    return drop_empty(
        {
            "type": "Evidence",
            "id": evidence.get("url"),
            "name": evidence.get("name"),
            "narrative": evidence.get("narrative"),
            "description": evidence.get("description"),
            "genre": evidence.get("genre"),
            "audience": evidence.get("audience"),
        }
    )


def assertion_document(
    urls: BadgeUrls,
    assertion: dict,
    signed_by: str | None = None,
    include_status: bool = True,
) -> dict:
    """Build the ``Assertion``: hosted, or signed when ``signed_by`` is a key URL.

    ``include_status`` adds ``revoked`` and ``revocationReason`` to a revoked
    hosted assertion. The signed form leaves them out, because a signature must
    not change after issue, and the revocation list carries the status.
    """
    recipient = assertion["recipient"]
    verification = (
        {"type": SIGNED, "creator": signed_by} if signed_by else {"type": HOSTED}
    )
    document = drop_empty(
        {
            "@context": OB2_CONTEXT,
            "type": "Assertion",
            "id": urls.assertion(assertion["id"]),
            "recipient": {
                "type": "url",
                "hashed": True,
                "salt": recipient["salt"],
                "identity": recipient["hash"],
            },
            "badge": urls.badge_class_version(
                assertion["badge_class_id"], assertion["badge_class_version"]
            ),
            "issuedOn": assertion["issued_on"],
            "expires": assertion.get("expires"),
            "image": urls.baked_image(assertion["id"], "png"),
            "evidence": [
                evidence_document(item) for item in assertion.get("evidence", [])
            ],
            "narrative": assertion.get("narrative"),
            "verification": verification,
        }
    )
    if include_status and assertion.get("revoked"):
        document["revoked"] = True
        document["revocationReason"] = assertion.get("revocation_reason")
    return document


def signed_payload(urls: BadgeUrls, assertion: dict, creator: str) -> bytes:
    """Serialise the signed assertion exactly as it goes into the JWS payload."""
    document = assertion_document(
        urls, assertion, signed_by=creator, include_status=False
    )
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def revocation_list_document(
    urls: BadgeUrls, issuer_id: str, revoked: list[dict]
) -> dict:
    """Build the issuer's ``RevocationList``: OB 2.0 and OB 3.0 ids with reasons."""
    entries = []
    for assertion in revoked:
        reason = assertion.get("revocation_reason")
        entries.append(
            drop_empty(
                {"id": urls.assertion(assertion["id"]), "revocationReason": reason}
            )
        )
        if assertion.get("credential_id"):
            entries.append(
                drop_empty(
                    {"id": assertion["credential_id"], "revocationReason": reason}
                )
            )
    return {
        "@context": OB2_CONTEXT,
        "type": "RevocationList",
        "id": urls.revocation_list(issuer_id),
        "issuer": urls.issuer(issuer_id),
        "revokedAssertions": entries,
    }


def endorsement_target_url(urls: BadgeUrls, endorsement: dict) -> str:
    if endorsement["target_type"] == "issuer":
        return urls.issuer(endorsement["target_id"])
    return urls.badge_class(endorsement["target_id"])


def endorsement_document(urls: BadgeUrls, endorsement: dict) -> dict:
    """Build a hosted ``Endorsement`` of a badge class or an issuer."""
    return {
        "@context": OB2_CONTEXT,
        "type": "Endorsement",
        "id": urls.endorsement(endorsement["id"]),
        "claim": {
            "id": endorsement_target_url(urls, endorsement),
            "endorsementComment": endorsement["comment"],
        },
        "issuer": urls.issuer(endorsement["endorser_id"]),
        "issuedOn": endorsement["issued_on"],
        "verification": {"type": HOSTED},
    }

"""Open Badges 3.0 credentials, secured as VC-JWTs signed with the city's Ed25519 key.

An ``OpenBadgeCredential`` carries the same achievement, recipient and evidence as
the OB 2.0 assertion. The JWT payload is the credential itself (VC Data Model
2.0), with the registered claims ``iss``, ``jti``, ``nbf`` and ``exp`` mirroring
``issuer.id``, ``id``, ``validFrom`` and ``validUntil``.
"""

from datetime import datetime, timezone

from services.badges import keys
from services.badges.ob2 import drop_empty
from services.badges.statuslist import LIST_SIZE, encode_list
from services.badges.urls import BadgeUrls

VC2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
CLR2_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
VC_JWT_TYPE = "vc+jwt"
VC_JWT_MEDIA_TYPE = "application/vc+jwt"

# OB 3.0 IdentifierTypeEnum: the platform's own identifier of the learner.
IDENTITY_TYPE = "systemId"


def timestamp(value: str) -> int:
    return int(datetime.fromisoformat(value).timestamp())


def profile(urls: BadgeUrls, issuer: dict) -> dict:
    """Build the OB 3.0 ``Profile`` of an issuer, embedded in each credential."""
    return drop_empty(
        {
            "id": urls.issuer(issuer["id"]),
            "type": ["Profile"],
            "name": issuer["name"],
            "url": issuer.get("url"),
            "email": issuer.get("email"),
            "description": issuer.get("description"),
        }
    )


def achievement(urls: BadgeUrls, badge_class: dict) -> dict:
    """Build the ``Achievement`` of one badge class version."""
    class_id, version = badge_class["id"], badge_class["version"]
    criteria = badge_class.get("criteria") or {}
    return drop_empty(
        {
            "id": urls.badge_class_version(class_id, version),
            "type": ["Achievement"],
            "name": badge_class["name"],
            "description": badge_class["description"],
            "criteria": drop_empty(
                {"id": criteria.get("url"), "narrative": criteria.get("narrative")}
            ),
            "image": {"id": urls.badge_class_image(class_id, version), "type": "Image"},
            "alignment": [
                drop_empty(
                    {
                        "type": ["Alignment"],
                        "targetName": item["target_name"],
                        "targetUrl": item["target_url"],
                        "targetDescription": item.get("target_description"),
                        "targetFramework": item.get("target_framework"),
                        "targetCode": item.get("target_code"),
                    }
                )
                for item in badge_class.get("alignments", [])
            ],
            "tag": badge_class.get("tags", []),
            "version": str(version),
            "creator": {
                "id": urls.issuer(badge_class["issuer_id"]),
                "type": ["Profile"],
            },
        }
    )


def identity_object(recipient: dict) -> dict:
    return {
        "type": "IdentityObject",
        "identityHash": recipient["hash"],
        "identityType": IDENTITY_TYPE,
        "hashed": True,
        "salt": recipient["salt"],
    }


def status_entry(urls: BadgeUrls, issuer_id: str, status_index: int) -> dict:
    number, position = divmod(status_index, LIST_SIZE)
    list_url = urls.status_list(issuer_id, number)
    return {
        "id": f"{list_url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": str(position),
        "statusListCredential": list_url,
    }


def open_badge_credential(
    urls: BadgeUrls, assertion: dict, badge_class: dict, issuer: dict
) -> dict:
    """Build the unsigned ``OpenBadgeCredential`` of a stored assertion."""
    evidence = [
        drop_empty(
            {
                "id": item.get("url"),
                "type": ["Evidence"],
                "name": item.get("name"),
                "narrative": item.get("narrative"),
                "description": item.get("description"),
                "genre": item.get("genre"),
                "audience": item.get("audience"),
            }
        )
        for item in assertion.get("evidence", [])
    ]
    credential = drop_empty(
        {
            "@context": [VC2_CONTEXT, OB3_CONTEXT],
            "id": assertion["credential_id"],
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": badge_class["name"],
            "issuer": profile(urls, issuer),
            "validFrom": assertion["issued_on"],
            "validUntil": assertion.get("expires"),
            "credentialSubject": {
                "type": ["AchievementSubject"],
                "identifier": [identity_object(assertion["recipient"])],
                "achievement": achievement(urls, badge_class),
            },
            "evidence": evidence,
        }
    )
    if assertion.get("status_index") is not None:
        credential["credentialStatus"] = status_entry(
            urls, issuer["id"], assertion["status_index"]
        )
    return credential


def jwt_claims(credential: dict) -> dict:
    """Add the JWT registered claims that mirror the credential's own properties."""
    issuer = credential["issuer"]
    claims = {
        **credential,
        "iss": issuer["id"] if isinstance(issuer, dict) else issuer,
        "jti": credential["id"],
        "nbf": timestamp(credential["validFrom"]),
    }
    if credential.get("validUntil"):
        claims["exp"] = timestamp(credential["validUntil"])
    return claims


def sign_credential(signing_key: keys.SigningKey, kid: str, credential: dict) -> str:
    """Sign a credential as a VC-JWT whose ``kid`` is the URL of its public JWK."""
    return keys.sign_jwt(
        signing_key, jwt_claims(credential), {"typ": VC_JWT_TYPE, "kid": kid}
    )


def status_list_credential(
    urls: BadgeUrls, issuer_id: str, number: int, revoked_positions: list[int]
) -> dict:
    """Build the ``BitstringStatusListCredential`` of one issuer's list ``number``."""
    list_url = urls.status_list(issuer_id, number)
    return {
        "@context": [VC2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": urls.issuer(issuer_id),
        "validFrom": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_list(revoked_positions),
        },
    }


def enveloped(vc_jwt: str) -> dict:
    """Wrap a VC-JWT as a VC 2.0 ``EnvelopedVerifiableCredential``."""
    return {
        "@context": VC2_CONTEXT,
        "id": f"data:{VC_JWT_MEDIA_TYPE},{vc_jwt}",
        "type": "EnvelopedVerifiableCredential",
    }


def learner_record(
    urls: BadgeUrls,
    city_issuer: dict,
    record_id: str,
    identifier: dict,
    member_jwts: list[str],
    achievements: list[dict],
) -> dict:
    """Build a CLR 2.0 ``ClrCredential`` that envelops each badge's VC-JWT.

    The members keep their own signatures, so a verifier checks the record's
    signature and then each member's, as for a badge presented alone.
    """
    return {
        "@context": [VC2_CONTEXT, OB3_CONTEXT, CLR2_CONTEXT],
        "id": record_id,
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": "Learner record",
        "issuer": profile(urls, city_issuer),
        "validFrom": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "credentialSubject": {
            "type": ["ClrSubject"],
            "identifier": [identifier],
            "achievement": achievements,
            "verifiableCredential": [enveloped(token) for token in member_jwts],
        },
    }

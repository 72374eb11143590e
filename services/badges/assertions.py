"""Open Badges 2.0 documents for a completed programme (hosted verification)."""

import hashlib
import secrets

OB2_CONTEXT = "https://w3id.org/openbadges/v2"


def badge_class_for(base_url: str, city: str, completion: dict) -> dict:
    """Build the badge class a completed opportunity earns."""
    identifier = f"bc-{completion['opportunity_id']}"
    return {
        "id": identifier,
        "city": city,
        "opportunity_id": completion["opportunity_id"],
        "name": f"Completed: {completion['opportunity_title']}"[:200],
        "issuer_name": completion["provider_name"],
        "url": f"{base_url}/v1/cities/{city}/badges/classes/{identifier}",
    }


def hashed_identity(identity: str, salt: str) -> str:
    """Hash a recipient identity the Open Badges 2.0 way: ``sha256$`` + hex digest."""
    return "sha256$" + hashlib.sha256((identity + salt).encode()).hexdigest()


def build_assertion(base_url: str, city: str, identifier: str, badge_class: dict,
                    completion: dict, issued_on: str) -> dict:
    """Build the stored assertion with its Open Badges 2.0 JSON-LD document.

    The recipient is the youth's platform id, salted and hashed, so the public
    document names nobody.
    """
    salt = secrets.token_hex(8)
    url = f"{base_url}/v1/cities/{city}/badges/assertions/{identifier}"
    youth_url = f"{base_url}/v1/cities/{city}/youth/{completion['youth_id']}"
    document = {
        "@context": OB2_CONTEXT,
        "type": "Assertion",
        "id": url,
        "recipient": {"type": "url", "hashed": True, "salt": salt,
                      "identity": hashed_identity(youth_url, salt)},
        "badge": badge_class["url"],
        "issuedOn": issued_on,
        "verification": {"type": "hosted"},
    }
    if completion.get("evidence_url"):
        document["evidence"] = [{"id": completion["evidence_url"]}]
    return {
        "id": identifier,
        "city": city,
        "youth_id": completion["youth_id"],
        "opportunity_id": completion["opportunity_id"],
        "completion_id": completion["completion_id"],
        "badge_class_id": badge_class["id"],
        "badge_name": badge_class["name"],
        "issuer_name": badge_class["issuer_name"],
        "issued_on": issued_on,
        "open_badge": document,
    }

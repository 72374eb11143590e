"""Upgrade badge classes and assertions stored by the first release of this service.

That release stored a class as ``{name, issuer_name, opportunity_id, url}`` and an
assertion with only its OB 2.0 document. The upgrade adds what the current code
reads (issuer id, version, recipient salt and hash, status-list index,
credential id) and is idempotent: it only touches documents without a version
or without a recipient.
"""

import logging

from pymongo.errors import DuplicateKeyError

from services.badges.issuing import credential_id, provider_issuer_id
from services.badges.storage import now

logger = logging.getLogger(__name__)


def upgrade(store) -> None:
    classes = list(store.badge_classes.find({"version": {"$exists": False}}))
    for document in classes:
        _upgrade_class(store, document)
    assertions = list(store.assertions.find({"recipient": {"$exists": False}}))
    for document in assertions:
        _upgrade_assertion(store, document)
    if classes or assertions:
        logger.info(
            "upgraded %s legacy badge classes and %s legacy assertions",
            len(classes),
            len(assertions),
        )


def _upgrade_class(store, document: dict) -> None:
    city = document["city"]
    provider = document.get("issuer_name") or "Unknown provider"
    issuer_id = provider_issuer_id(provider)
    store.ensure_issuer(
        {"id": issuer_id, "city": city, "kind": "partner", "name": provider}
    )
    title = document.get("name", "").removeprefix("Completed: ") or document["_id"]
    fields = {
        "issuer_id": issuer_id,
        "version": 1,
        "description": f"Awarded for completing {title}, run by {provider}.",
        "criteria": {
            "narrative": f"Take part in {title} and complete it, as "
            f"recorded by {provider}."
        },
        "alignments": [],
        "tags": [],
        "evidence_required": False,
        "valid_days": None,
        "image": None,
        "created_at": now(),
        "updated_at": now(),
    }
    store.badge_classes.update_one({"_id": document["_id"]}, {"$set": fields})
    snapshot = {**document, **fields}
    snapshot.pop("_id")
    try:
        store.badge_class_versions.insert_one(
            {"_id": f"{document['_id']}:v1", "class_id": document["_id"], **snapshot}
        )
    except DuplicateKeyError:
        pass


def _upgrade_assertion(store, document: dict) -> None:
    city = document["city"]
    badge_class = store.get_badge_class(city, document["badge_class_id"]) or {}
    issuer_id = badge_class.get("issuer_id") or provider_issuer_id(
        document.get("issuer_name") or "Unknown provider"
    )
    hosted = document.get("open_badge") or {}
    recipient = hosted.get("recipient") or {}
    assertion_url = hosted.get("id") or document["_id"]
    evidence = [
        {"url": item["id"]}
        for item in hosted.get("evidence", [])
        if isinstance(item, dict) and item.get("id")
    ]
    store.assertions.update_one(
        {"_id": document["_id"]},
        {
            "$set": {
                "source": document.get("completion_id") or document["_id"],
                "issuer_id": issuer_id,
                "badge_class_version": 1,
                "recipient": {
                    "identity": None,
                    "salt": recipient.get("salt", ""),
                    "hash": recipient.get("identity"),
                },
                "evidence": evidence,
                "status_index": store.next_status_index(city, issuer_id),
                "credential_id": credential_id(assertion_url),
                "public": False,
                "revoked": False,
            }
        },
    )

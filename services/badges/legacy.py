"""Upgrade badge classes and assertions stored by the first release of this service.

That release stored a class as ``{name, issuer_name, opportunity_id, url}`` and an
assertion with only its OB 2.0 document. The upgrade adds what the current code
reads (issuer id, version, recipient salt and hash, status-list index,
credential id) and is idempotent: it only touches documents without a version
or without a recipient.

Releases before city-scoped ids stored a record under its public id alone, so
the upgrade first moves such records to ``<city>/<public id>`` (``record_key``).
"""

import logging

from pymongo.errors import DuplicateKeyError

from services.badges.issuing import credential_id, provider_issuer_id
from services.badges.storage import now, public_id, record_key

logger = logging.getLogger(__name__)


def upgrade(store) -> None:
    moved = _move_to_city_keys(store)
    classes = list(store.badge_classes.find({"version": {"$exists": False}}))
    for document in classes:
        _upgrade_class(store, document)
    assertions = list(store.assertions.find({"recipient": {"$exists": False}}))
    for document in assertions:
        _upgrade_assertion(store, document)
    if moved or classes or assertions:
        logger.info(
            "upgraded %s legacy badge classes and %s legacy assertions; moved %s "
            "records to city-scoped ids",
            len(classes),
            len(assertions),
            moved,
        )


def _move_to_city_keys(store) -> int:
    """Move each record whose ``_id`` lacks its city to ``record_key``; count them.

    A key from ``record_key`` always has a slash. The ids that older releases
    stored (record ids checked by ``schemas.RECORD_ID``, or derived ones such as
    ``bc-opp-...`` and ``ast-...``) have none. The copy is inserted before the
    old document is deleted, so a stop in between loses nothing, and a copy that
    another process inserted first is kept as it is.
    """
    moved = 0
    for collection in (
        store.issuers,
        store.badge_classes,
        store.badge_class_versions,
        store.assertions,
        store.endorsements,
        store.playlists,
        store.share_links,
    ):
        old = {"_id": {"$regex": "^[^/]*$"}, "city": {"$exists": True}}
        for document in list(collection.find(old)):
            old_id = document["_id"]
            try:
                collection.insert_one(
                    {**document, "_id": record_key(document["city"], old_id)}
                )
            except DuplicateKeyError:
                pass
            collection.delete_one({"_id": old_id})
            moved += 1
    return moved


def _upgrade_class(store, document: dict) -> None:
    city = document["city"]
    provider = document.get("issuer_name") or "Unknown provider"
    issuer_id = provider_issuer_id(provider)
    store.ensure_issuer(
        {"id": issuer_id, "city": city, "kind": "partner", "name": provider}
    )
    class_id = public_id(document)
    title = document.get("name", "").removeprefix("Completed: ") or class_id
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
    snapshot = {**document, **fields, "id": class_id}
    snapshot.pop("_id")
    store.insert_version(snapshot)


def _upgrade_assertion(store, document: dict) -> None:
    city = document["city"]
    badge_class = store.get_badge_class(city, document["badge_class_id"]) or {}
    issuer_id = badge_class.get("issuer_id") or provider_issuer_id(
        document.get("issuer_name") or "Unknown provider"
    )
    hosted = document.get("open_badge") or {}
    recipient = hosted.get("recipient") or {}
    identifier = public_id(document)
    assertion_url = hosted.get("id") or identifier
    evidence = [
        {"url": item["id"]}
        for item in hosted.get("evidence", [])
        if isinstance(item, dict) and item.get("id")
    ]
    store.assertions.update_one(
        {"_id": document["_id"]},
        {
            "$set": {
                "source": document.get("completion_id") or identifier,
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

"""The badges service's MongoDB store.

Collections, every document carrying its ``city`` and every query filtering on
it: issuers, badge classes and their immutable versions, badge rules, recorded
completions, assertions, endorsements, playlists, share links, counters, the
signing keys and the record of each erased youth. Invariants rest on ``_id``
uniqueness and single-document atomic updates, which FerretDB 1.x and MongoDB
both provide.

Cities reuse public ids (each has an issuer ``city``), so a record is stored
under ``_id`` ``<city>/<public id>`` (``record_key``), and read methods return
the public id as ``id``. Rules, completions, counters and keys have
``<city>:...`` ids of their own.
"""

import functools
import hashlib
from datetime import datetime, timezone

import pymongo
from pymongo.errors import DuplicateKeyError, OperationFailure

from cities_common.config import load_settings
from cities_common.storage import MongoDatabase
from cities_common.tenancy import CityRegistry
from services.badges.keys import KeyRing


# Prefix of the count fields of an erasure record. Top-level fields, because
# ``$inc`` on a top-level field is the plainest update FerretDB 1.x serves.
COUNT_PREFIX = "erased_"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def assertion_id(city: str, source_key: str) -> str:
    """Derive the assertion id from what earned it, so one source gives one badge.

    ``source_key`` is the completion id for a completed programme (the same ids
    the service issued before awards and playlists existed), ``award:<id>`` for
    a staff award and ``playlist:<playlist id>:<youth id>`` for a playlist.
    """
    digest = hashlib.sha1(f"{city}\x1f{source_key}".encode()).hexdigest()
    return f"ast-{digest[:20]}"


def record_key(city: str, public_id: str) -> str:
    """Return the ``_id`` of a city's record, unambiguous as slugs have no slash."""
    return f"{city}/{public_id}"


def public_id(document: dict) -> str:
    """Return the public id of a stored document (its ``_id`` without the city)."""
    return document["_id"].removeprefix(f"{document['city']}/")


def _public(document: dict | None) -> dict | None:
    if document is None:
        return None
    public = {key: value for key, value in document.items() if key != "_id"}
    public["id"] = public_id(document)
    return public


def _version_key(city: str, class_id: str, version: int) -> str:
    return f"{record_key(city, class_id)}:v{int(version)}"


def _version_document(record: dict) -> dict:
    snapshot = {k: v for k, v in record.items() if k != "id"}
    return {
        "_id": _version_key(record["city"], record["id"], record["version"]),
        "class_id": record["id"],
        **snapshot,
    }


def _stored(record: dict) -> dict:
    return {
        "_id": record_key(record["city"], record["id"]),
        **{k: v for k, v in record.items() if k != "id"},
    }


def upsert(operation, *args, **kwargs):
    """Run an upserting pymongo call; retry once if a concurrent upsert inserted first.

    Two upserts of a missing document can both try to insert it, and the
    loser gets ``DuplicateKeyError`` (on MongoDB and on FerretDB). The retry
    finds the document and updates it.
    """
    try:
        return operation(*args, upsert=True, **kwargs)
    except DuplicateKeyError:
        return operation(*args, upsert=True, **kwargs)


class BadgeStore:
    """Plain store over the badges database; unit tests use an in-memory fake."""

    def __init__(self, database, key_passphrase: str):
        self.cities = CityRegistry(database)
        self.issuers = database["issuers"]
        self.badge_classes = database["badge_classes"]
        self.badge_class_versions = database["badge_class_versions"]
        self.rules = database["badge_rules"]
        self.completions = database["completions"]
        self.assertions = database["assertions"]
        self.endorsements = database["endorsements"]
        self.playlists = database["playlists"]
        self.share_links = database["share_links"]
        self.counters = database["counters"]
        self.erasures = database["erasures"]
        self.keyring = KeyRing(database["signing_keys"], key_passphrase)

    def ensure_indexes(self) -> None:
        # Assertion ids derive from their source, so ``_id`` uniqueness already
        # gives one badge per completion. The unique (city, completion_id) index
        # of earlier releases would reject a second staff award, which has no
        # completion id, so it is dropped.
        try:
            self.assertions.drop_index("one_badge_per_completion")
        except OperationFailure:
            pass
        self.assertions.create_index([("city", 1), ("youth_id", 1)], name="by_youth")
        self.assertions.create_index(
            [("city", 1), ("issuer_id", 1), ("revoked", 1)], name="by_issuer_status"
        )
        self.completions.create_index([("city", 1), ("youth_id", 1)], name="by_youth")
        self.completions.create_index(
            [("city", 1), ("opportunity_id", 1)], name="by_opportunity"
        )
        self.playlists.create_index(
            [("city", 1), ("opportunity_ids", 1)], name="by_opportunity"
        )
        self.endorsements.create_index(
            [("city", 1), ("target_type", 1), ("target_id", 1)], name="by_target"
        )
        self.share_links.create_index(
            [("token_hash", 1)], unique=True, name="by_token_hash"
        )
        self.badge_classes.create_index(
            [("city", 1), ("issuer_id", 1)], name="by_issuer"
        )
        self.keyring.collection.create_index(
            [("city", 1), ("key_id", 1)], name="by_key_id"
        )
        self.keyring.encrypt_stored_keys()
        from services.badges import legacy

        legacy.upgrade(self)

    # Issuers ---------------------------------------------------------------

    def save_issuer(self, issuer: dict) -> dict | None:
        """Create or replace an issuer profile; keep its creation time and owner.

        An ``organization_id`` of None leaves the stored one as it is. Another
        organisation's id matches no document, so the owner never changes. Returns
        None when the city's issuer under this id belongs to another organisation.
        """
        changes = {k: v for k, v in issuer.items() if k not in ("id", "created_at")}
        city = issuer["city"]
        query = {"_id": record_key(city, issuer["id"]), "city": city}
        if changes.get("organization_id") is None:
            changes.pop("organization_id", None)
        else:
            # ``None`` in ``$in`` also matches an issuer without the field, on
            # FerretDB too (``test_issuer_owner_set_once`` in
            # ``tests/e2e/test_badges_store.py``).
            query["organization_id"] = {"$in": [None, changes["organization_id"]]}
        try:
            stored = upsert(
                self.issuers.find_one_and_update,
                query,
                {
                    "$set": {**changes, "updated_at": now()},
                    "$setOnInsert": {"created_at": now()},
                },
                return_document=pymongo.ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            # The query matched nothing, and inserting met the existing ``_id``.
            return None
        return _public(stored)

    def ensure_issuer(self, issuer: dict) -> dict:
        """Insert an issuer profile unless its id exists; return the stored profile."""
        upsert(
            self.issuers.update_one,
            {"_id": record_key(issuer["city"], issuer["id"]), "city": issuer["city"]},
            {
                "$setOnInsert": {
                    **{k: v for k, v in issuer.items() if k != "id"},
                    "created_at": now(),
                }
            },
        )
        return self.get_issuer(issuer["city"], issuer["id"])

    def get_issuer(self, city: str, issuer_id: str) -> dict | None:
        return _public(
            self.issuers.find_one({"_id": record_key(city, issuer_id), "city": city})
        )

    def list_issuers(self, city: str) -> list[dict]:
        return [
            _public(item)
            for item in self.issuers.find({"city": city}, sort=[("_id", 1)])
        ]

    # Badge classes ---------------------------------------------------------

    def create_badge_class(self, badge_class: dict) -> tuple[dict, bool]:
        """Insert version 1 of a class; return (stored class, created).

        The class document goes first, so of two concurrent creations (two
        completions of one opportunity) only one inserts it.
        """
        existing = self.get_badge_class(badge_class["city"], badge_class["id"])
        if existing is not None:
            return existing, False
        record = {**badge_class, "version": 1, "created_at": now(), "updated_at": now()}
        try:
            self.badge_classes.insert_one(_stored(record))
        except DuplicateKeyError:
            return self.get_badge_class(badge_class["city"], badge_class["id"]), False
        self.insert_version(record)
        return record, True

    def update_badge_class(
        self, city: str, class_id: str, changes: dict, expected_version: int
    ) -> dict | None:
        """Store ``changes`` as the next version; ``None`` if another edit came first.

        The version snapshot is inserted first, under an ``_id`` that names the
        version, so of two concurrent edits of version N only one creates N+1.
        """
        current = self.get_badge_class(city, class_id)
        if current is None or current["version"] != expected_version:
            return None
        record = {
            **current,
            **changes,
            "version": expected_version + 1,
            "updated_at": now(),
        }
        try:
            self.badge_class_versions.insert_one(_version_document(record))
        except DuplicateKeyError:
            # Another edit made version N+1. Finish it, in case its writer
            # stopped before updating the class, and report the conflict.
            self._apply_version(city, class_id, expected_version)
            return None
        applied = self._apply_version(city, class_id, expected_version)
        # A concurrent loser may have applied this snapshot already.
        return applied or self.get_badge_class_version(
            city, class_id, expected_version + 1
        )

    def _apply_version(
        self, city: str, class_id: str, from_version: int
    ) -> dict | None:
        """Make the stored snapshot of ``from_version + 1`` the current class."""
        snapshot = self.get_badge_class_version(city, class_id, from_version + 1)
        if snapshot is None:
            return None
        updated = self.badge_classes.find_one_and_update(
            {"_id": record_key(city, class_id), "city": city, "version": from_version},
            {"$set": {k: v for k, v in snapshot.items() if k != "id"}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        return _public(updated)

    def insert_version(self, record: dict) -> None:
        """Store the snapshot of ``record``'s version unless it is stored already."""
        try:
            self.badge_class_versions.insert_one(_version_document(record))
        except DuplicateKeyError:
            pass

    def get_badge_class(self, city: str, class_id: str) -> dict | None:
        document = self.badge_classes.find_one(
            {"_id": record_key(city, class_id), "city": city}
        )
        return _public(document)

    def get_badge_class_version(
        self, city: str, class_id: str, version: int
    ) -> dict | None:
        """Return one version, or the current class when its snapshot is missing."""
        document = self.badge_class_versions.find_one(
            {"_id": _version_key(city, class_id, version), "city": city}
        )
        if document is None:
            current = self.get_badge_class(city, class_id)
            return current if current and current["version"] == int(version) else None
        document.pop("class_id", None)
        document["_id"] = record_key(city, class_id)
        return _public(document)

    def list_badge_classes(self, city: str, issuer_id: str | None = None) -> list[dict]:
        query = {"city": city}
        if issuer_id:
            query["issuer_id"] = issuer_id
        return [
            _public(item) for item in self.badge_classes.find(query, sort=[("_id", 1)])
        ]

    # Rules and completions -------------------------------------------------

    def set_rule(self, city: str, opportunity_id: str, rule: dict) -> dict:
        upsert(
            self.rules.replace_one,
            {"_id": f"{city}:{opportunity_id}"},
            {
                "_id": f"{city}:{opportunity_id}",
                "city": city,
                "opportunity_id": opportunity_id,
                **rule,
                "updated_at": now(),
            },
        )
        return self.get_rule(city, opportunity_id)

    def get_rule(self, city: str, opportunity_id: str) -> dict | None:
        document = self.rules.find_one(
            {"_id": f"{city}:{opportunity_id}", "city": city}
        )
        if document is not None:
            document.pop("_id")
        return document

    def record_completion(self, city: str, completion: dict) -> None:
        """Remember a completion (idempotent), for playlists and awards."""
        upsert(
            self.completions.update_one,
            {"_id": f"{city}:{completion['completion_id']}", "city": city},
            {"$setOnInsert": {**completion, "city": city, "recorded_at": now()}},
        )

    def set_completion_status(self, city: str, completion_id: str, status: str) -> None:
        self.completions.update_one(
            {"_id": f"{city}:{completion_id}", "city": city},
            {"$set": {"badge_status": status}},
        )

    def get_completion(self, city: str, completion_id: str) -> dict | None:
        document = self.completions.find_one(
            {"_id": f"{city}:{completion_id}", "city": city}
        )
        if document is not None:
            document.pop("_id")
        return document

    def completions_for_youth(self, city: str, youth_id: str) -> list[dict]:
        cursor = self.completions.find(
            {"city": city, "youth_id": youth_id}, sort=[("completed_at", 1)]
        )
        return [{k: v for k, v in item.items() if k != "_id"} for item in cursor]

    def youth_with_completions(self, city: str, opportunity_ids: list[str]) -> set[str]:
        cursor = self.completions.find(
            {"city": city, "opportunity_id": {"$in": opportunity_ids}},
            projection={"youth_id": 1},
        )
        return {item["youth_id"] for item in cursor}

    # Assertions ------------------------------------------------------------

    def add_assertion(self, assertion: dict) -> tuple[dict, bool]:
        """Insert an assertion; return (stored assertion, created)."""
        try:
            self.assertions.insert_one(_stored(assertion))
        except DuplicateKeyError:
            return self.get_assertion(assertion["city"], assertion["id"]), False
        return assertion, True

    def mark(self, city: str, identifier: str, **fields) -> None:
        self.assertions.update_one(
            {"_id": record_key(city, identifier), "city": city}, {"$set": fields}
        )

    def get_assertion(self, city: str, identifier: str) -> dict | None:
        document = self.assertions.find_one(
            {"_id": record_key(city, identifier), "city": city}
        )
        return _public(document)

    def list_for_youth(self, city: str, youth_id: str) -> list[dict]:
        cursor = self.assertions.find(
            {"city": city, "youth_id": youth_id}, sort=[("issued_on", -1)]
        )
        return [_public(document) for document in cursor]

    def revoke(self, city: str, identifier: str, reason: str) -> dict | None:
        """Revoke an unrevoked assertion; ``None`` when it was already revoked."""
        updated = self.assertions.find_one_and_update(
            {
                "_id": record_key(city, identifier),
                "city": city,
                "revoked": {"$ne": True},
            },
            {
                "$set": {
                    "revoked": True,
                    "revoked_on": now(),
                    "revocation_reason": reason,
                }
            },
            return_document=pymongo.ReturnDocument.AFTER,
        )
        return _public(updated)

    def revoked_for_issuer(self, city: str, issuer_id: str) -> list[dict]:
        cursor = self.assertions.find(
            {"city": city, "issuer_id": issuer_id, "revoked": True}, sort=[("_id", 1)]
        )
        return [_public(document) for document in cursor]

    def next_status_index(self, city: str, issuer_id: str) -> int:
        """Allocate an unused status-list index of an issuer.

        FerretDB 1.24 can return the same value to concurrent ``$inc`` updates,
        so the counter only suggests an index. The index is taken by inserting
        its slot document, whose ``_id`` is unique, and a taken slot moves on to
        the next suggestion. ``test_status_indexes_unique_under_concurrency`` in
        ``tests/e2e/test_badges_store.py`` pins this.
        """
        while True:
            counter = upsert(
                self.counters.find_one_and_update,
                {"_id": f"{city}:{issuer_id}:status_index"},
                {"$inc": {"next": 1}, "$setOnInsert": {"city": city}},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            index = counter["next"] - 1
            try:
                self.counters.insert_one(
                    {"_id": f"{city}:{issuer_id}:status_slot:{index}", "city": city}
                )
            except DuplicateKeyError:
                continue
            return index

    def set_public(
        self, city: str, youth_id: str, identifier: str, public: bool
    ) -> dict | None:
        updated = self.assertions.find_one_and_update(
            {"_id": record_key(city, identifier), "city": city, "youth_id": youth_id},
            {"$set": {"public": bool(public)}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        return _public(updated)

    # Endorsements ----------------------------------------------------------

    def save_endorsement(self, endorsement: dict) -> tuple[dict, bool]:
        """Insert an endorsement, or update the comment of the same endorser's one."""
        try:
            self.endorsements.insert_one(_stored(endorsement))
            return endorsement, True
        except DuplicateKeyError:
            updated = self.endorsements.find_one_and_update(
                {
                    "_id": record_key(endorsement["city"], endorsement["id"]),
                    "city": endorsement["city"],
                },
                {"$set": {"comment": endorsement["comment"], "updated_at": now()}},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            return _public(updated), False

    def get_endorsement(self, city: str, endorsement_id: str) -> dict | None:
        return _public(
            self.endorsements.find_one(
                {"_id": record_key(city, endorsement_id), "city": city}
            )
        )

    def endorsements_of(
        self, city: str, target_type: str, target_id: str
    ) -> list[dict]:
        cursor = self.endorsements.find(
            {"city": city, "target_type": target_type, "target_id": target_id},
            sort=[("_id", 1)],
        )
        return [_public(document) for document in cursor]

    # Playlists -------------------------------------------------------------

    def create_playlist(self, playlist: dict) -> dict:
        self.playlists.insert_one(_stored(playlist))
        return playlist

    def get_playlist(self, city: str, playlist_id: str) -> dict | None:
        document = self.playlists.find_one(
            {"_id": record_key(city, playlist_id), "city": city}
        )
        return _public(document)

    def list_playlists(self, city: str) -> list[dict]:
        return [
            _public(item)
            for item in self.playlists.find({"city": city}, sort=[("_id", 1)])
        ]

    def playlists_with(self, city: str, opportunity_id: str) -> list[dict]:
        cursor = self.playlists.find({"city": city, "opportunity_ids": opportunity_id})
        return [_public(item) for item in cursor]

    # Share links -----------------------------------------------------------

    def add_share_link(self, link: dict) -> dict:
        self.share_links.insert_one(_stored(link))
        return link

    def find_share_link(self, city: str, token_hash: str) -> dict | None:
        return _public(
            self.share_links.find_one(
                {"token_hash": token_hash, "city": city, "revoked": False}
            )
        )

    def list_share_links(self, city: str, youth_id: str) -> list[dict]:
        cursor = self.share_links.find(
            {"city": city, "youth_id": youth_id}, sort=[("created_at", 1)]
        )
        return [_public(item) for item in cursor]

    def revoke_share_link(self, city: str, youth_id: str, link_id: str) -> bool:
        result = self.share_links.update_one(
            {"_id": record_key(city, link_id), "city": city, "youth_id": youth_id},
            {"$set": {"revoked": True, "revoked_at": now()}},
        )
        return result.matched_count == 1

    # Erasure -----------------------------------------------------------------

    def start_erasure(self, city: str, youth_id: str, erasure_id: str) -> None:
        """Record once that the youth is being erased; ``is_erased`` is True after."""
        upsert(
            self.erasures.update_one,
            {"_id": f"{city}:{youth_id}", "city": city},
            {
                "$setOnInsert": {
                    "youth_id": youth_id,
                    "erasure_id": erasure_id,
                    "started_at": now(),
                }
            },
        )

    def is_erased(self, city: str, youth_id: str) -> bool:
        return (
            self.erasures.count_documents(
                {"_id": f"{city}:{youth_id}", "city": city}, limit=1
            )
            > 0
        )

    def count_erased(self, city: str, youth_id: str, counts: dict) -> dict:
        """Add ``counts`` to the erasure's running totals and return the totals.

        Each step adds what it did right after doing it, so a retried erasure
        reports what every attempt erased together.
        """
        stored = self.erasures.find_one_and_update(
            {"_id": f"{city}:{youth_id}", "city": city},
            {"$inc": {f"{COUNT_PREFIX}{key}": value for key, value in counts.items()}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        return {
            key.removeprefix(COUNT_PREFIX): value
            for key, value in stored.items()
            if key.startswith(COUNT_PREFIX)
        }

    def anonymise_assertion(
        self, city: str, youth_id: str, identifier: str, changes: dict
    ) -> bool:
        """Apply ``changes`` to the youth's assertion; False if it is not theirs."""
        result = self.assertions.update_one(
            {"_id": record_key(city, identifier), "city": city, "youth_id": youth_id},
            {"$set": changes},
        )
        return result.modified_count == 1

    def delete_share_links(self, city: str, youth_id: str) -> int:
        return self.share_links.delete_many(
            {"city": city, "youth_id": youth_id}
        ).deleted_count

    def delete_completions(self, city: str, youth_id: str) -> int:
        return self.completions.delete_many(
            {"city": city, "youth_id": youth_id}
        ).deleted_count


class BadgeDatabase(MongoDatabase):
    """Inject the ``BadgeStore``, built with the key passphrase of the settings.

    Raises ``KeyConfigurationError`` when the container starts without a usable
    ``BADGES_KEY_PASSPHRASE``, so the service stops before it serves anything.
    """

    def __init__(self):
        super().__init__(BadgeStore)

    def setup(self):
        passphrase = load_settings(self.container.config).badges_key_passphrase
        self.store_class = functools.partial(BadgeStore, key_passphrase=passphrase)
        super().setup()

"""The catalog's MongoDB store: opportunities and organisations, scoped by city.

Every read and write filters on the city as well as the id, so a record of another
city is never returned or changed, even when its id is known.
"""

import hashlib
import json
from datetime import date, datetime

import pymongo
from pymongo.errors import BulkWriteError

from services.catalog.directory import AccountStore, CityStore, InterestStore, utc_now

# Outcomes of an upsert, in the words the import report uses.
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
# Fields the store manages; an import or a caller never sets them.
MANAGED_FIELDS = ("_id", "version", "content_hash", "created_at", "updated_at")
# The source of records that partners create through the API instead of an import.
CATALOG_SOURCE = "catalog"


def record_id(kind: str, city: str, source: str, source_id: str) -> str:
    """Derive a stable id, so re-importing a source row finds the same record."""
    digest = hashlib.sha1(f"{city}\x1f{source}\x1f{source_id}".encode()).hexdigest()
    prefix = "opp" if kind == "opportunities" else "org"
    return f"{prefix}-{digest[:20]}"


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value


def content_hash(document: dict) -> str:
    """Hash an imported record, so importing the same row again changes nothing."""
    return hashlib.sha256(
        json.dumps(_jsonable(document), sort_keys=True).encode()
    ).hexdigest()


class CatalogStore:
    """Plain store over the catalog's database; every method takes the city."""

    def __init__(self, database):
        self.database = database
        self.cities = CityStore(database["cities"])
        self.interests = InterestStore(database["interests"])
        self.accounts = AccountStore(database["accounts"])
        self.opportunities = database["opportunities"]
        self.organizations = database["organizations"]

    def ensure_indexes(self) -> None:
        for collection in (self.opportunities, self.organizations):
            collection.create_index(
                [("city", 1), ("source", 1), ("source_id", 1)], unique=True,
                name="city_source_id",
            )
        self.opportunities.create_index([("city", 1), ("status", 1), ("_id", 1)],
                                        name="city_status_id")
        self.opportunities.create_index([("city", 1), ("organization_id", 1)],
                                        name="city_organization")
        self.accounts.ensure_indexes()

    def upsert_many(self, kind: str, documents: list[dict],
                    dry_run: bool = False) -> list[tuple]:
        """Insert or update imported records by (city, source, source_id), in order.

        Returns one (outcome, stored document, previous document or None) per input.
        A record whose content hash matches the last import is left alone, even if
        a partner changed it since. A changed record replaces the imported fields
        and bumps the version. With ``dry_run`` nothing is written and the stored
        document of a create or update is the previous one, or None.
        Existing records are read with one ``$in`` query and new ones written with
        one ``insert_many``, because FerretDB 1.x scans a collection for every
        lookup, so a lookup per record would make an import quadratic.
        """
        collection = self.database[kind]
        prepared = []
        for document in documents:
            fields = _jsonable(document)
            identifier = record_id(kind, fields["city"], fields["source"],
                                   fields["source_id"])
            prepared.append((identifier, fields, content_hash(fields)))
        existing = {
            found["_id"]: found
            for found in collection.find({"_id": {"$in": [p[0] for p in prepared]}})
        }
        now = utc_now()
        results: list = [None] * len(prepared)
        inserts = []
        for position, (identifier, fields, digest) in enumerate(prepared):
            previous = existing.get(identifier)
            if previous is None:
                stored = {**fields, "_id": identifier, "version": 1,
                          "content_hash": digest, "created_at": now, "updated_at": now}
                inserts.append((position, stored))
            elif previous["content_hash"] == digest:
                results[position] = (UNCHANGED, self._public(previous),
                                     self._public(previous))
            elif dry_run:
                results[position] = (UPDATED, self._public(previous),
                                     self._public(previous))
            else:
                results[position] = self._update(collection, fields, digest, previous)
        if dry_run:
            for position, _ in inserts:
                results[position] = (CREATED, None, None)
        elif inserts:
            self._insert(collection, inserts, results)
        return results

    def upsert(self, kind: str, document: dict) -> tuple[str, dict, dict | None]:
        """Insert or update one record; see ``upsert_many``."""
        return self.upsert_many(kind, [document])[0]

    def _insert(self, collection, inserts: list[tuple], results: list) -> None:
        try:
            collection.insert_many([stored for _, stored in inserts], ordered=False)
        except BulkWriteError as exc:
            # Another import created some of these records meanwhile: retry those
            # one by one, as updates of what that import stored.
            failed = {error["index"] for error in exc.details.get("writeErrors", [])
                      if error.get("code") == 11000}
            if len(failed) != len(exc.details.get("writeErrors", [])):
                raise
            for index in sorted(failed):
                position, stored = inserts[index]
                fields = {key: value for key, value in stored.items()
                          if key not in MANAGED_FIELDS}
                previous = collection.find_one({"_id": stored["_id"]})
                results[position] = self._update(collection, fields,
                                                 stored["content_hash"], previous)
            inserts = [item for index, item in enumerate(inserts) if index not in failed]
        for position, stored in inserts:
            results[position] = (CREATED, self._public(stored), None)

    def _update(self, collection, fields: dict, digest: str, previous: dict) -> tuple:
        """Apply a change with a compare-and-set on the version; retry if it moved."""
        for _ in range(5):
            if previous["content_hash"] == digest:
                return UNCHANGED, self._public(previous), self._public(previous)
            changes = {**fields, "content_hash": digest, "updated_at": utc_now(),
                       "version": previous["version"] + 1}
            stored = collection.find_one_and_update(
                {"_id": previous["_id"], "version": previous["version"]},
                {"$set": changes},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            if stored is not None:
                return UPDATED, self._public(stored), self._public(previous)
            previous = collection.find_one({"_id": previous["_id"]})
        raise RuntimeError(f"record {previous['_id']} kept changing during upsert")

    def get(self, kind: str, city: str, identifier: str) -> dict | None:
        document = self.database[kind].find_one({"_id": identifier, "city": city})
        return self._public(document) if document else None

    def list(self, collection: str, city: str, status: str | None = None,
             after: str | None = None, limit: int = 500, **filters) -> list[dict]:
        """List a city's records of one collection in id order, after the id ``after``.

        ``filters`` are equality conditions on fields; for a list field such as
        ``interests`` a record matches when the list contains the value.
        """
        query: dict = {"city": city}
        query.update({key: value for key, value in filters.items() if value is not None})
        if status:
            query["status"] = status
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.database[collection].find(query, sort=[("_id", 1)], limit=limit)
        return [self._public(document) for document in cursor]

    def count(self, kind: str, city: str, status: str | None = None) -> int:
        query = {"city": city, **({"status": status} if status else {})}
        return self.database[kind].count_documents(query)

    def insert(self, kind: str, document: dict) -> dict | None:
        """Insert a new record at version 1; return it, or None if its id exists."""
        now = utc_now()
        identifier = record_id(kind, document["city"], document["source"],
                               document["source_id"])
        stored = {**_jsonable(document), "_id": identifier, "version": 1,
                  "created_at": now, "updated_at": now}
        try:
            self.database[kind].insert_one(stored)
        except pymongo.errors.DuplicateKeyError:
            return None
        return self._public(stored)

    def replace(self, kind: str, previous: dict, changes: dict,
                increments: dict | None = None) -> dict | None:
        """Apply ``changes`` if the record is still at ``previous['version']``.

        Bumps the version and returns the stored record, or None when another
        writer changed it first (compare-and-set on the version, because FerretDB
        1.x has no multi-document transactions).
        """
        update = {"$set": {**_jsonable(changes), "updated_at": utc_now(),
                           "version": previous["version"] + 1}}
        if increments:
            update["$inc"] = increments
        stored = self.database[kind].find_one_and_update(
            {"_id": previous["id"], "city": previous["city"],
             "version": previous["version"]},
            update, return_document=pymongo.ReturnDocument.AFTER,
        )
        return self._public(stored) if stored else None

    def increment(self, kind: str, city: str, identifier: str, field: str) -> None:
        """Add 1 to a counter of a record; the version stays, as no content changed."""
        self.database[kind].update_one({"_id": identifier, "city": city},
                                       {"$inc": {field: 1}})

    def counts(self, city: str) -> dict:
        """Return how many records of each kind the city holds."""
        return {
            "organizations": self.count("organizations", city),
            "opportunities": self.count("opportunities", city),
            "accounts": self.database["accounts"].count_documents({"city": city}),
            "interests": self.database["interests"].count_documents({"city": city}),
        }

    @staticmethod
    def _public(document: dict) -> dict:
        public = {key: value for key, value in document.items()
                  if key not in ("_id", "content_hash")}
        public["id"] = document["_id"]
        return public

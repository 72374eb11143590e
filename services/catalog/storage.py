"""The catalog's MongoDB store: opportunities and organisations, scoped by city."""

import hashlib
import json
from datetime import date, datetime, timezone

import pymongo
from pymongo.errors import BulkWriteError

from cities_common.tenancy import CityRegistry

# Outcomes of an upsert, in the words the import report uses.
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


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
    return hashlib.sha256(
        json.dumps(_jsonable(document), sort_keys=True).encode()
    ).hexdigest()


class CatalogStore:
    """Plain store over the catalog's database; every method takes the city."""

    def __init__(self, database):
        self.database = database
        self.cities = CityRegistry(database)
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

    def upsert_many(self, kind: str, documents: list[dict]) -> list[tuple]:
        """Insert or update records by (city, source, source_id), in input order.

        Returns one (outcome, stored document, previous document or None) per input.
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
        now = datetime.now(timezone.utc).isoformat()
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
            else:
                results[position] = self._update(collection, fields, digest, previous)
        if inserts:
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
                          if key not in ("_id", "version", "content_hash",
                                         "created_at", "updated_at")}
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
            changes = {**fields, "content_hash": digest,
                       "updated_at": datetime.now(timezone.utc).isoformat(),
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

    def list(self, kind: str, city: str, status: str | None = None,
             after: str | None = None, limit: int = 500) -> list[dict]:
        """List a city's records in id order, starting after the id ``after``."""
        query: dict = {"city": city}
        if status:
            query["status"] = status
        if after:
            query["_id"] = {"$gt": after}
        cursor = self.database[kind].find(query, sort=[("_id", 1)], limit=limit)
        return [self._public(document) for document in cursor]

    def count(self, kind: str, city: str, status: str | None = None) -> int:
        query = {"city": city, **({"status": status} if status else {})}
        return self.database[kind].count_documents(query)

    @staticmethod
    def _public(document: dict) -> dict:
        public = {key: value for key, value in document.items()
                  if key not in ("_id", "content_hash")}
        public["id"] = document["_id"]
        return public

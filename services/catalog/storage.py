"""The catalog's MongoDB store: opportunities and organisations, scoped by city."""

import hashlib
import json
from datetime import date, datetime, timezone

import pymongo
from pymongo.errors import DuplicateKeyError

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

    def upsert(self, kind: str, document: dict) -> tuple[str, dict, dict | None]:
        """Insert or update a record by (city, source, source_id).

        Returns (outcome, stored document, previous document or None). An update
        bumps ``version`` with a compare-and-set on the old version, so two
        concurrent imports of one row cannot both win; the loser retries.
        """
        collection = self.database[kind]
        city = document["city"]
        identifier = record_id(kind, city, document["source"], document["source_id"])
        fields = _jsonable(document)
        digest = content_hash(fields)
        now = datetime.now(timezone.utc).isoformat()
        for _ in range(5):
            previous = collection.find_one({"_id": identifier, "city": city})
            if previous is None:
                stored = {**fields, "_id": identifier, "version": 1,
                          "content_hash": digest, "created_at": now, "updated_at": now}
                try:
                    collection.insert_one(stored)
                except DuplicateKeyError:
                    continue
                return CREATED, self._public(stored), None
            if previous["content_hash"] == digest:
                return UNCHANGED, self._public(previous), self._public(previous)
            changes = {**fields, "content_hash": digest, "updated_at": now,
                       "version": previous["version"] + 1}
            stored = collection.find_one_and_update(
                {"_id": identifier, "city": city, "version": previous["version"]},
                {"$set": changes},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            if stored is not None:
                return UPDATED, self._public(stored), self._public(previous)
        raise RuntimeError(f"record {identifier} in {city} kept changing during upsert")

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

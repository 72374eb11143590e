"""The badges service's MongoDB store: badge classes and assertions."""

import hashlib

from pymongo.errors import DuplicateKeyError

from cities_common.tenancy import CityRegistry


def assertion_id(city: str, completion_id: str) -> str:
    """Derive the assertion id from the completion, so one completion gives one badge."""
    digest = hashlib.sha1(f"{city}\x1f{completion_id}".encode()).hexdigest()
    return f"ast-{digest[:20]}"


class BadgeStore:
    def __init__(self, database):
        self.cities = CityRegistry(database)
        self.badge_classes = database["badge_classes"]
        self.assertions = database["assertions"]

    def ensure_indexes(self) -> None:
        self.assertions.create_index([("city", 1), ("completion_id", 1)], unique=True,
                                     name="one_badge_per_completion")
        self.assertions.create_index([("city", 1), ("youth_id", 1)], name="by_youth")

    def save_badge_class(self, badge_class: dict) -> None:
        self.badge_classes.update_one(
            {"_id": badge_class["id"], "city": badge_class["city"]},
            {"$setOnInsert": {k: v for k, v in badge_class.items() if k != "id"}},
            upsert=True,
        )

    def add_assertion(self, assertion: dict) -> tuple[dict, bool]:
        """Insert an assertion; return (stored assertion, created)."""
        document = {"_id": assertion["id"], **{k: v for k, v in assertion.items()
                                               if k != "id"}}
        try:
            self.assertions.insert_one(document)
        except DuplicateKeyError:
            existing = self.assertions.find_one({"_id": assertion["id"],
                                                 "city": assertion["city"]})
            return self._public(existing), False
        return self._public(document), True

    def mark_announced(self, city: str, identifier: str) -> None:
        self.assertions.update_one({"_id": identifier, "city": city},
                                   {"$set": {"announced": True}})

    def list_for_youth(self, city: str, youth_id: str) -> list[dict]:
        cursor = self.assertions.find({"city": city, "youth_id": youth_id},
                                      sort=[("issued_on", -1)])
        return [self._public(document) for document in cursor]

    def get_assertion(self, city: str, identifier: str) -> dict | None:
        document = self.assertions.find_one({"_id": identifier, "city": city})
        return self._public(document) if document else None

    @staticmethod
    def _public(document: dict) -> dict:
        public = {key: value for key, value in document.items() if key != "_id"}
        public["id"] = document["_id"]
        return public

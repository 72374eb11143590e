"""The registration service's MongoDB store: youth profiles, registrations and seats."""

import uuid
from datetime import datetime, timezone

import pymongo
from pymongo.errors import DuplicateKeyError

from cities_common.tenancy import CityRegistry


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


class RegistrationStore:
    """Plain store; every method takes the city, and every query filters on it."""

    def __init__(self, database):
        self.cities = CityRegistry(database)
        self.youth = database["youth"]
        self.registrations = database["registrations"]
        self.seats = database["seats"]

    def ensure_indexes(self) -> None:
        self.registrations.create_index(
            [("city", 1), ("opportunity_id", 1), ("youth_id", 1)], unique=True,
            name="one_registration_per_youth",
        )
        self.registrations.create_index([("city", 1), ("youth_id", 1)], name="by_youth")
        self.youth.create_index([("city", 1)], name="by_city")

    def create_youth(self, city: str, profile: dict) -> dict:
        youth = {"_id": f"yth-{uuid.uuid4().hex[:20]}", "city": city, **profile,
                 "created_at": _now()}
        self.youth.insert_one(youth)
        return self._public(youth)

    def get_youth(self, city: str, youth_id: str) -> dict | None:
        youth = self.youth.find_one({"_id": youth_id, "city": city})
        return self._public(youth) if youth else None

    def add_registration(self, city: str, opportunity_id: str, youth_id: str):
        """Insert a pending registration; return (registration, created).

        The unique index on (city, opportunity, youth) makes a second request return
        the first registration instead of a new one.
        """
        registration = {"_id": f"reg-{uuid.uuid4().hex[:20]}", "city": city,
                        "opportunity_id": opportunity_id, "youth_id": youth_id,
                        "status": "pending", "created_at": _now()}
        try:
            self.registrations.insert_one(registration)
        except DuplicateKeyError:
            existing = self.registrations.find_one(
                {"city": city, "opportunity_id": opportunity_id, "youth_id": youth_id})
            return self._public(existing), False
        return self._public(registration), True

    def claim_seat(self, city: str, opportunity_id: str, capacity: int | None) -> bool:
        """Take one seat if any is left; atomic on the single seat-counter document."""
        if capacity is None:
            return True
        key = f"{city}:{opportunity_id}"
        self.seats.update_one({"_id": key}, {"$setOnInsert": {"taken": 0}}, upsert=True)
        claimed = self.seats.find_one_and_update(
            {"_id": key, "taken": {"$lt": capacity}}, {"$inc": {"taken": 1}})
        return claimed is not None

    def set_status(self, city: str, registration_id: str, status: str,
                   expected: str | None = None, **fields) -> dict | None:
        """Change a registration's status, only from ``expected`` when given."""
        query = {"_id": registration_id, "city": city}
        if expected:
            query["status"] = expected
        updated = self.registrations.find_one_and_update(
            query, {"$set": {"status": status, "updated_at": _now(), **fields}},
            return_document=pymongo.ReturnDocument.AFTER)
        return self._public(updated) if updated else None

    def mark(self, city: str, registration_id: str, **fields) -> None:
        self.registrations.update_one({"_id": registration_id, "city": city},
                                      {"$set": fields})

    def get_registration(self, city: str, registration_id: str) -> dict | None:
        registration = self.registrations.find_one({"_id": registration_id, "city": city})
        return self._public(registration) if registration else None

    @staticmethod
    def _public(document: dict) -> dict:
        public = {key: value for key, value in document.items() if key != "_id"}
        public["id"] = document["_id"]
        return public

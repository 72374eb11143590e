"""The registration service's MongoDB store.

``RegistrationStore`` keeps registrations and what hangs off them (attendance,
evidence links, peer assessments, completion rules) and gives access to the youth
store (``people``) and the seat ledger (``places``). Queries stay within what
FerretDB 1.x serves: no transactions, no ``$lookup``. FerretDB 1.x also loses
concurrent updates of one document, so a registration document is changed only
through ``places.opportunity(...)``, which holds the opportunity's lock; this
store only inserts registrations and reads them.
"""

from datetime import datetime

from pymongo.errors import DuplicateKeyError

from cities_common.tenancy import CityRegistry
from services.registration.clock import iso
from services.registration.people import YouthStore, _public, new_id
from services.registration.places import PlaceLedger

PENDING = "pending"
ACTIVE = ("confirmed", "waitlisted")
STATUSES = ("pending", "confirmed", "waitlisted", "cancelled", "completed")


class RegistrationStore:
    """Plain store; every method takes the city, and every query filters on it."""

    def __init__(self, database):
        self.cities = CityRegistry(database)
        self.people = YouthStore(database)
        self.places = PlaceLedger(database)
        self.registrations = database["registrations"]
        self.attendance = database["attendance"]
        self.evidence = database["evidence"]
        self.assessments = database["peer_assessments"]
        self.rules = database["completion_rules"]

    def ensure_indexes(self) -> None:
        self.people.ensure_indexes()
        self.places.ensure_indexes()
        self.registrations.create_index(
            [("city", 1), ("opportunity_id", 1), ("youth_id", 1)], unique=True,
            name="one_registration_per_youth")
        self.registrations.create_index([("city", 1), ("youth_id", 1)], name="by_youth")
        self.registrations.create_index(
            [("city", 1), ("opportunity_id", 1), ("status", 1), ("sequence", 1)],
            name="by_opportunity_status_sequence")
        self.attendance.create_index([("city", 1), ("registration_id", 1)],
                                     name="by_registration")
        self.evidence.create_index([("city", 1), ("registration_id", 1)],
                                   name="by_registration")
        self.assessments.create_index(
            [("city", 1), ("registration_id", 1), ("assessor_registration_id", 1)],
            unique=True, name="one_assessment_per_assessor")

    # Registrations

    def add_registration(self, city: str, opportunity_id: str, youth_id: str,
                         schedule: dict | None, now: datetime) -> tuple[dict, bool]:
        """Insert a pending registration; return (registration, created).

        The unique index on (city, opportunity, youth) makes a second request find
        the first registration instead of inserting another.
        """
        registration = {"_id": new_id("reg"), "city": city,
                        "opportunity_id": opportunity_id, "youth_id": youth_id,
                        "status": PENDING, "schedule": schedule, "queued_at": now,
                        "created_at": iso(now), "updated_at": iso(now)}
        try:
            self.registrations.insert_one(registration)
        except DuplicateKeyError:
            return self.find_registration(city, opportunity_id, youth_id), False
        return _public(registration), True

    def find_registration(self, city: str, opportunity_id: str,
                          youth_id: str) -> dict | None:
        found = self.registrations.find_one(
            {"city": city, "opportunity_id": opportunity_id, "youth_id": youth_id})
        return _public(found) if found else None

    def get_registration(self, city: str, registration_id: str) -> dict | None:
        found = self.registrations.find_one({"_id": registration_id, "city": city})
        return _public(found) if found else None

    def waitlist_position(self, city: str, opportunity_id: str, sequence: int) -> int:
        """Return 1 for the head of the waitlist, 2 for the next, and so on."""
        return 1 + self.registrations.count_documents(
            {"city": city, "opportunity_id": opportunity_id, "status": "waitlisted",
             "sequence": {"$lt": sequence}})

    def list_for_youth(self, city: str, youth_id: str,
                       statuses: tuple[str, ...] = STATUSES) -> list[dict]:
        cursor = self.registrations.find(
            {"city": city, "youth_id": youth_id, "status": {"$in": list(statuses)}},
            sort=[("created_at", 1)])
        return [_public(item) for item in cursor]

    def list_for_opportunity(self, city: str, opportunity_id: str, status: str | None,
                             after_sequence: int, limit: int) -> list[dict]:
        """List registrations in sequence order, those after ``after_sequence``."""
        query = {"city": city, "opportunity_id": opportunity_id,
                 "sequence": {"$gt": after_sequence}}
        if status:
            query["status"] = status
        cursor = self.registrations.find(query, sort=[("sequence", 1)], limit=limit)
        return [_public(item) for item in cursor]

    def count_by_status(self, city: str, opportunity_id: str) -> dict:
        query = {"city": city, "opportunity_id": opportunity_id}
        return {status: self.registrations.count_documents({**query, "status": status})
                for status in STATUSES}

    # Attendance, evidence and peer assessments

    def record_attendance(self, city: str, registration: dict, session_id: str,
                          status: str, actor: str | None, now: datetime) -> dict:
        """Record one youth's attendance at one session; recording again replaces it."""
        record = {"_id": f"att-{registration['id']}-{session_id}", "city": city,
                  "registration_id": registration["id"],
                  "opportunity_id": registration["opportunity_id"],
                  "session_id": session_id, "status": status, "recorded_by": actor,
                  "recorded_at": iso(now)}
        try:
            self.attendance.replace_one({"_id": record["_id"]}, record, upsert=True)
        except DuplicateKeyError:
            # A concurrent upsert inserted it first; replace that one.
            self.attendance.replace_one({"_id": record["_id"]}, record)
        return _public(record)

    def list_attendance(self, city: str, registration_id: str) -> list[dict]:
        cursor = self.attendance.find({"city": city, "registration_id": registration_id},
                                      sort=[("session_id", 1)])
        return [_public(item) for item in cursor]

    def count_attended(self, city: str, registration_id: str) -> int:
        return self.attendance.count_documents(
            {"city": city, "registration_id": registration_id, "status": "present"})

    def add_evidence(self, city: str, registration_id: str, evidence: dict,
                     now: datetime) -> dict:
        item = {"_id": new_id("evd"), "city": city, "registration_id": registration_id,
                **evidence, "added_at": iso(now)}
        self.evidence.insert_one(item)
        return _public(item)

    def list_evidence(self, city: str, registration_id: str) -> list[dict]:
        cursor = self.evidence.find({"city": city, "registration_id": registration_id},
                                    sort=[("added_at", 1)])
        return [_public(item) for item in cursor]

    def add_assessment(self, city: str, assessment: dict,
                       now: datetime) -> tuple[dict, bool]:
        """Insert a peer assessment; one per (assessed, assessor) pair."""
        item = {"_id": new_id("pas"), "city": city, **assessment, "created_at": iso(now)}
        try:
            self.assessments.insert_one(item)
        except DuplicateKeyError:
            existing = self.assessments.find_one({
                "city": city, "registration_id": assessment["registration_id"],
                "assessor_registration_id": assessment["assessor_registration_id"]})
            return _public(existing), False
        return _public(item), True

    def list_assessments(self, city: str, registration_id: str) -> list[dict]:
        cursor = self.assessments.find({"city": city, "registration_id": registration_id},
                                       sort=[("created_at", 1)])
        return [_public(item) for item in cursor]

    def delete_contributions(self, city: str, registration_ids: list[str]) -> dict:
        """Delete evidence and peer assessments by or about these registrations."""
        evidence = self.evidence.delete_many(
            {"city": city, "registration_id": {"$in": registration_ids}})
        about = self.assessments.delete_many(
            {"city": city, "registration_id": {"$in": registration_ids}})
        by = self.assessments.delete_many(
            {"city": city, "assessor_registration_id": {"$in": registration_ids}})
        return {"evidence_deleted": evidence.deleted_count,
                "peer_assessments_deleted": about.deleted_count + by.deleted_count}

    # Completion rules

    def set_rule(self, city: str, opportunity_id: str, rule: dict, actor: str | None,
                 now: datetime) -> dict:
        document = {"_id": f"{city}:{opportunity_id}", "city": city,
                    "opportunity_id": opportunity_id, **rule, "updated_by": actor,
                    "updated_at": iso(now)}
        self.rules.replace_one({"_id": document["_id"]}, document, upsert=True)
        return _public(document)

    def get_rule(self, city: str, opportunity_id: str) -> dict | None:
        rule = self.rules.find_one({"_id": f"{city}:{opportunity_id}", "city": city})
        return _public(rule) if rule else None

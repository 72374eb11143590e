"""Youth profiles, their guardians, consent requests, erasure records and the
other services' acknowledgements of each erasure.

A profile holds no full birth date and no address: a birth year and month, and a
coarse home location (postal code, neighbourhood or a centroid rounded to about a
kilometre). Guardians are documents of their own, because FerretDB 1.x loses one
of two concurrent ``$push`` updates to the same document.
"""

import uuid
from datetime import datetime

from pymongo.errors import DuplicateKeyError

from services.registration.clock import iso


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


class YouthStore:
    """Plain store; every method takes the city, and every query filters on it."""

    def __init__(self, database):
        self.youth = database["youth"]
        self.guardians = database["guardians"]
        self.consent_requests = database["consent_requests"]
        self.consent_answers = database["consent_answers"]
        self.erasures = database["erasures"]
        self.acknowledgements = database["erasure_acknowledgements"]

    def ensure_indexes(self) -> None:
        self.youth.create_index([("city", 1)], name="by_city")
        self.guardians.create_index([("city", 1), ("youth_id", 1)], name="by_youth")
        self.consent_requests.create_index([("token_hash", 1)], unique=True,
                                           name="one_request_per_token")
        self.consent_requests.create_index([("city", 1), ("youth_id", 1)],
                                           name="by_youth")
        self.erasures.create_index([("city", 1), ("youth_id", 1)], unique=True,
                                   name="one_erasure_per_youth")
        self.acknowledgements.create_index([("city", 1), ("erasure_id", 1)],
                                           name="by_erasure")

    # Profiles and guardians

    def create_youth(self, city: str, profile: dict, now: datetime) -> dict:
        profile = dict(profile)
        guardians = profile.pop("guardians", [])
        youth = {"_id": new_id("yth"), "city": city, **profile,
                 "consent": {"status": "none"}, "created_at": iso(now)}
        self.youth.insert_one(youth)
        added = [self.add_guardian(city, youth["_id"], guardian, now)
                 for guardian in guardians]
        return {**_public(youth), "guardians": added}

    def get_youth(self, city: str, youth_id: str) -> dict | None:
        """Return the profile with its guardians, oldest first."""
        youth = self.youth.find_one({"_id": youth_id, "city": city})
        if youth is None:
            return None
        guardians = self.guardians.find({"city": city, "youth_id": youth_id},
                                        sort=[("added_at", 1)])
        return {**_public(youth), "guardians": [
            {key: value for key, value in _public(item).items()
             if key not in ("city", "youth_id")} for item in guardians]}

    def has_youth(self, city: str, youth_id: str) -> bool:
        return self.youth.count_documents({"_id": youth_id, "city": city}, limit=1) > 0

    def add_guardian(self, city: str, youth_id: str, guardian: dict,
                     now: datetime) -> dict:
        document = {"_id": new_id("gdn"), "city": city, "youth_id": youth_id,
                    **guardian, "added_at": iso(now)}
        self.guardians.insert_one(document)
        return {key: value for key, value in _public(document).items()
                if key not in ("city", "youth_id")}

    def set_consent(self, city: str, youth_id: str, consent: dict) -> dict | None:
        self.youth.update_one({"_id": youth_id, "city": city},
                              {"$set": {"consent": consent}})
        return self.get_youth(city, youth_id)

    def delete_youth(self, city: str, youth_id: str) -> int:
        """Delete the profile and its guardians; return how many profiles went."""
        self.guardians.delete_many({"city": city, "youth_id": youth_id})
        return self.youth.delete_one({"_id": youth_id, "city": city}).deleted_count

    # Consent requests

    def add_consent_request(self, request: dict) -> dict:
        self.consent_requests.insert_one(request)
        return _public(request)

    def find_consent_request(self, city: str, token_hash: str) -> dict | None:
        request = self.consent_requests.find_one({"token_hash": token_hash, "city": city})
        return _public(request) if request else None

    def use_consent_request(self, city: str, token_hash: str, decision: str,
                            now: datetime) -> dict | None:
        """Mark a pending, unexpired request answered; None when it is not usable.

        The answer is claimed by inserting a document keyed by the token hash, so a
        token works once even when two answers race.
        """
        request = self.find_consent_request(city, token_hash)
        if request is None or request["status"] != "pending" or \
                request["expires_at"] <= now:
            return None
        try:
            self.consent_answers.insert_one({"_id": token_hash, "city": city,
                                             "decision": decision, "answered_at": now})
        except DuplicateKeyError:
            return None
        self.consent_requests.update_one(
            {"_id": request["id"], "city": city},
            {"$set": {"status": decision, "answered_at": now}})
        return {**request, "status": decision, "answered_at": now}

    def revoke_consent_requests(self, city: str, youth_id: str, now: datetime) -> int:
        """Revoke every pending request of a youth; return how many."""
        return self.consent_requests.update_many(
            {"city": city, "youth_id": youth_id, "status": "pending"},
            {"$set": {"status": "revoked", "revoked_at": now}}).modified_count

    def delete_consent_requests(self, city: str, youth_id: str) -> int:
        hashes = [item["token_hash"] for item in self.consent_requests.find(
            {"city": city, "youth_id": youth_id})]
        self.consent_answers.delete_many({"_id": {"$in": hashes}, "city": city})
        return self.consent_requests.delete_many(
            {"city": city, "youth_id": youth_id}).deleted_count

    # Erasure records

    def start_erasure(self, city: str, youth_id: str, guardian_ids: list[str],
                      now: datetime) -> tuple[dict, bool]:
        """Record an erasure request; return (record, created). One per youth.

        ``status`` is this service's own step (``in_progress``, then ``completed``).
        The guardian ids are kept for ``youth_erased``, because the erasure deletes
        the guardian records before it publishes the event.
        """
        record = {"_id": new_id("ers"), "city": city, "youth_id": youth_id,
                  "guardian_ids": list(guardian_ids), "status": "in_progress",
                  "requested_at": iso(now)}
        try:
            self.erasures.insert_one(record)
        except DuplicateKeyError:
            return _public(self.erasures.find_one({"city": city, "youth_id": youth_id})), \
                False
        return _public(record), True

    def finish_erasure(self, city: str, erasure_id: str, summary: dict,
                       now: datetime) -> dict:
        self.erasures.update_one(
            {"_id": erasure_id, "city": city},
            {"$set": {"status": "completed", "completed_at": iso(now), "summary": summary}})
        return self.get_erasure(city, erasure_id)

    def get_erasure(self, city: str, erasure_id: str) -> dict | None:
        record = self.erasures.find_one({"_id": erasure_id, "city": city})
        return _public(record) if record else None

    def find_erasure(self, city: str, youth_id: str) -> dict | None:
        record = self.erasures.find_one({"city": city, "youth_id": youth_id})
        return _public(record) if record else None

    def add_acknowledgement(self, city: str, erasure_id: str, service: str,
                            acknowledged_at: str, summary: dict) -> bool:
        """Record a service's acknowledgement; return False if it was recorded before.

        Each acknowledgement is a document of its own rather than a field of the
        erasure record, because FerretDB 1.x can lose one of two concurrent
        updates to one document, and the services acknowledge at about the same
        time.
        """
        try:
            self.acknowledgements.insert_one({
                "_id": f"{erasure_id}:{service}", "city": city,
                "erasure_id": erasure_id, "service": service,
                "acknowledged_at": acknowledged_at, "summary": summary})
        except DuplicateKeyError:
            return False
        return True

    def acknowledgements_of(self, city: str, erasure_id: str) -> dict[str, dict]:
        """Return the erasure's acknowledgements by service name."""
        cursor = self.acknowledgements.find({"city": city, "erasure_id": erasure_id})
        return {item["service"]: item for item in cursor}


def _public(document: dict) -> dict:
    public = {key: value for key, value in document.items() if key != "_id"}
    public["id"] = document["_id"]
    return public

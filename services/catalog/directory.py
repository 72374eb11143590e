"""The catalog's cities, interest vocabularies and accounts, in its own database.

The catalog is the authority on which cities exist and whether they are active, so
unlike ``cities_common.tenancy.CityRegistry`` it caches nothing: every call reads
the city's document, and an archived city is rejected at once.
"""

import hashlib
import secrets
from datetime import datetime, timezone

import pymongo
from pymongo.errors import DuplicateKeyError

from cities_common.context import is_valid_city_slug
from cities_common.errors import CityArchived, UnknownCity

ACTIVE, ARCHIVED = "active", "archived"
CITY_ADMIN = "city_admin"
INVITED, MEMBER_ACTIVE = "invited", "active"


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat()


def token_hash(token: str) -> str:
    """Return the SHA-256 of an invitation token; only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def account_id(city: str, organization_id: str | None, email: str) -> str:
    """Derive an account's id, so inviting the same person twice finds one record."""
    key = f"{city}\x1f{organization_id or ''}\x1f{email.lower()}"
    return "acc-" + hashlib.sha1(key.encode()).hexdigest()[:20]


class CityStore:
    """Cities with their status (active or archived) and catalog settings."""

    def __init__(self, collection):
        self.collection = collection

    def get(self, slug: str) -> dict | None:
        document = self.collection.find_one({"_id": slug})
        if document is not None:
            document.pop("_id", None)
        return document

    def list(self, include_archived: bool = False) -> list[dict]:
        query = {} if include_archived else {"status": {"$ne": ARCHIVED}}
        documents = list(self.collection.find(query, sort=[("_id", 1)]))
        for document in documents:
            document.pop("_id", None)
        return documents

    def require(self, slug) -> dict:
        """Return the city named ``slug``, active or archived; raise ``UnknownCity``."""
        if not slug:
            raise UnknownCity("no city given: every call must name its city")
        if not is_valid_city_slug(slug):
            raise UnknownCity(
                f"city {str(slug)[:40]!r} is invalid: a city slug is 2-40 lowercase "
                "letters, digits or hyphens, e.g. 'chicago'"
            )
        city = self.get(slug)
        if city is None:
            raise UnknownCity(f"city {slug!r} is not onboarded on this platform")
        return city

    def require_active(self, slug) -> dict:
        """Return the active city ``slug``; raise ``UnknownCity`` or ``CityArchived``."""
        city = self.require(slug)
        if city.get("status") == ARCHIVED:
            raise CityArchived(f"city {slug!r} was archived on {city['archived_at']}; "
                               "its catalog accepts no more requests or events")
        return city

    def save(self, city: dict) -> tuple[str, dict]:
        """Create the city or update its settings; return (outcome, stored city).

        Outcome is ``created``, ``updated`` or ``unchanged``. Raises ``CityArchived``
        for an archived city, which onboarding does not bring back.
        """
        previous = self.get(city["slug"])
        now = utc_now()
        if previous is None:
            stored = {**city, "status": ACTIVE, "version": 1, "onboarded_at": now,
                      "updated_at": now}
            try:
                self.collection.insert_one({"_id": city["slug"], **stored})
                return "created", stored
            except DuplicateKeyError:
                previous = self.get(city["slug"])
        if previous.get("status") == ARCHIVED:
            raise CityArchived(f"city {city['slug']!r} was archived on "
                               f"{previous['archived_at']}; it cannot be onboarded again "
                               "under the same slug")
        if all(previous.get(key) == value for key, value in city.items()):
            return "unchanged", previous
        stored = self.collection.find_one_and_update(
            {"_id": city["slug"]},
            {"$set": {**city, "updated_at": now}, "$inc": {"version": 1}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        stored.pop("_id", None)
        return "updated", stored

    def archive(self, slug: str) -> tuple[bool, dict]:
        """Mark the city archived; return (True if this call archived it, the city)."""
        stored = self.collection.find_one_and_update(
            {"_id": slug, "status": {"$ne": ARCHIVED}},
            {"$set": {"status": ARCHIVED, "archived_at": utc_now()},
             "$inc": {"version": 1}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        if stored is None:
            return False, self.require(slug)
        stored.pop("_id", None)
        return True, stored


class InterestStore:
    """Each city's interest vocabulary: slug, name and description, in order."""

    def __init__(self, collection):
        self.collection = collection

    def add_missing(self, city: str, entries: list[dict]) -> int:
        """Add the entries whose slug the city lacks; return how many were added.

        Existing entries are left as they are, so a city's edits survive onboarding
        again.
        """
        existing = set(self.slugs(city))
        new = [{"_id": f"{city}:{entry['slug']}", "city": city, "position": position,
                **entry}
               for position, entry in enumerate(entries) if entry["slug"] not in existing]
        for document in new:
            try:
                self.collection.insert_one(document)
            except DuplicateKeyError:
                continue
        return len(new)

    def slugs(self, city: str) -> list[str]:
        return [entry["slug"] for entry in self.list(city)]

    def list(self, city: str) -> list[dict]:
        cursor = self.collection.find({"city": city}, sort=[("position", 1), ("_id", 1)])
        return [{key: value for key, value in entry.items() if key not in ("_id", "city")}
                for entry in cursor]


class AccountStore:
    """City administrators and organisation members, one record per person and role.

    Accounts hold an adult's work e-mail and name; they are never logged. An invited
    account carries only the SHA-256 of its invitation token.
    """

    def __init__(self, collection):
        self.collection = collection

    def ensure_indexes(self) -> None:
        self.collection.create_index([("city", 1), ("organization_id", 1)],
                                     name="city_organization")

    def get(self, city: str, identifier: str) -> dict | None:
        document = self.collection.find_one({"_id": identifier, "city": city})
        return public_account(document) if document else None

    def list(self, city: str, organization_id: str | None = None) -> list[dict]:
        query = {"city": city}
        if organization_id is not None:
            query["organization_id"] = organization_id
        cursor = self.collection.find(query, sort=[("_id", 1)])
        return [public_account(document) for document in cursor]

    def add_active(self, city: str, organization_id: str | None, person: dict,
                   role: str) -> tuple[bool, dict]:
        """Create an active account unless it exists; return (created, account)."""
        identifier = account_id(city, organization_id, person["email"])
        now = utc_now()
        document = {"_id": identifier, "city": city, "organization_id": organization_id,
                    "email": person["email"], "name": person["name"], "role": role,
                    "status": MEMBER_ACTIVE, "created_at": now, "joined_at": now}
        try:
            self.collection.insert_one(document)
            return True, public_account(document)
        except DuplicateKeyError:
            return False, self.get(city, identifier)

    def invite(self, city: str, organization_id: str, person: dict,
               role: str) -> tuple[dict, str] | None:
        """Create or renew an invitation; return (account, token), or None if active.

        Inviting an invited person again replaces the token, so a lost one can be
        reissued; the earlier token stops working.
        """
        identifier = account_id(city, organization_id, person["email"])
        token = secrets.token_urlsafe(24)
        now = utc_now()
        try:
            self.collection.insert_one({
                "_id": identifier, "city": city, "organization_id": organization_id,
                "email": person["email"], "name": person["name"], "role": role,
                "status": INVITED, "token_hash": token_hash(token), "created_at": now,
                "invited_at": now})
        except DuplicateKeyError:
            renewed = self.collection.find_one_and_update(
                {"_id": identifier, "city": city, "status": INVITED},
                {"$set": {"token_hash": token_hash(token), "invited_at": now,
                          "role": role, "name": person["name"]}},
                return_document=pymongo.ReturnDocument.AFTER,
            )
            if renewed is None:
                return None
        return self.get(city, identifier), token

    def invited_email(self, city: str, token: str) -> str | None:
        """Return the address invited with ``token``, or None for an unknown token."""
        document = self.collection.find_one(
            {"city": city, "status": INVITED, "token_hash": token_hash(token)},
            projection={"email": True})
        return document["email"] if document else None

    def accept(self, city: str, token: str) -> dict | None:
        """Activate the invited account holding ``token``; return it, or None."""
        accepted = self.collection.find_one_and_update(
            {"city": city, "status": INVITED, "token_hash": token_hash(token)},
            {"$set": {"status": MEMBER_ACTIVE, "joined_at": utc_now()},
             "$unset": {"token_hash": ""}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        return public_account(accepted) if accepted else None


def public_account(document: dict) -> dict:
    account = {key: value for key, value in document.items()
               if key not in ("_id", "token_hash")}
    account["id"] = document["_id"]
    return account

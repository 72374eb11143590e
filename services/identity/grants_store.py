"""Role grants and API keys in the identity database."""

import hashlib
import uuid
from datetime import datetime, timedelta

from pymongo.errors import DuplicateKeyError

from services.identity.tokens import iso, token_hash, utc_now

# A key's last use is written at most this often, so a busy key costs no write
# per request.
USAGE_RESOLUTION = timedelta(minutes=1)


def grant_id(account_id: str, city: str, role: str, scope_id: str) -> str:
    """Derive a grant's ``_id``, so granting the same role twice inserts nothing."""
    key = "\x1f".join((account_id, city, role, scope_id))
    return "grt-" + hashlib.sha256(key.encode()).hexdigest()[:32]


def grant_view(grant: dict) -> dict:
    return {"city": grant["city"], "role": grant["role"], "scope_id": grant["scope_id"],
            "catalog_account_id": grant.get("catalog_account_id")}


class GrantStore:
    """One document per (account, city, role, scope) with a derived ``_id``."""

    def __init__(self, database):
        self.grants = database["grants"]

    def ensure_indexes(self) -> None:
        self.grants.create_index([("account_id", 1)], name="by_account")
        self.grants.create_index([("city", 1), ("role", 1), ("scope_id", 1)],
                                 name="by_scope")

    def add(self, account_id: str, city: str, role: str, scope_id: str,
            catalog_account_id: str | None) -> tuple[dict, bool]:
        """Insert a grant unless it exists; return (grant, created).

        Granting again with a ``catalog_account_id`` fills in one the grant lacks.
        """
        document = {"_id": grant_id(account_id, city, role, scope_id),
                    "account_id": account_id, "city": city, "role": role,
                    "scope_id": scope_id, "catalog_account_id": catalog_account_id,
                    "created_at": utc_now()}
        try:
            self.grants.insert_one(document)
            return document, True
        except DuplicateKeyError:
            existing = self.grants.find_one({"_id": document["_id"]})
        if catalog_account_id and \
                existing.get("catalog_account_id") != catalog_account_id:
            self.grants.update_one({"_id": document["_id"]},
                                   {"$set": {"catalog_account_id": catalog_account_id}})
            existing["catalog_account_id"] = catalog_account_id
        return existing, False

    def remove(self, account_id: str, city: str, role: str, scope_id: str) -> bool:
        result = self.grants.delete_one({"_id": grant_id(account_id, city, role,
                                                         scope_id)})
        return result.deleted_count == 1

    def of_account(self, account_id: str) -> list[dict]:
        return list(self.grants.find({"account_id": account_id},
                                     sort=[("city", 1), ("role", 1), ("scope_id", 1)]))

    def remove_scope(self, city: str, roles: tuple[str, ...], scope_id: str) -> int:
        result = self.grants.delete_many({"city": city, "role": {"$in": list(roles)},
                                          "scope_id": scope_id})
        return result.deleted_count

    def remove_city(self, city: str) -> int:
        """Remove the city's grants except young people's own profile grants.

        Those stay so that an account's portfolio still lists the badges it
        earned in the city, which keep verifying after it is archived.
        """
        return self.grants.delete_many({"city": city,
                                        "role": {"$ne": "youth"}}).deleted_count


def api_key_view(document: dict, last_used_at: datetime | None = None) -> dict:
    """Return an API key's record without its hash; the key itself is never stored."""
    revoked = document.get("revoked_at")
    return {"id": document["_id"], "prefix": document["prefix"],
            "name": document["name"], "scopes": document["scopes"],
            "city": document["city"], "organization_id": document["organization_id"],
            "created_by": document.get("created_by"),
            "created_at": iso(document["created_at"]),
            "revoked_at": iso(revoked) if revoked else None,
            "last_used_at": iso(last_used_at) if last_used_at else None}


class ApiKeyStore:
    """API keys of partner organisations, and when each was last used.

    The last use lives in its own collection, so recording it never races with
    a revocation on the key's document.
    """

    def __init__(self, database):
        self.keys = database["api_keys"]
        self.usage = database["api_key_usage"]
        self._touched: dict[str, datetime] = {}

    def ensure_indexes(self) -> None:
        self.keys.create_index([("prefix", 1)], unique=True, name="by_prefix")
        self.keys.create_index([("city", 1), ("organization_id", 1)],
                               name="by_organization")

    def add(self, city: str, organization_id: str, name: str, scopes: list[str],
            key: str, prefix: str, created_by: str | None) -> dict | None:
        """Insert a key; return None when its random prefix is already taken."""
        document = {"_id": f"key-{uuid.uuid4().hex}", "prefix": prefix,
                    "key_hash": token_hash(key), "city": city,
                    "organization_id": organization_id, "name": name, "scopes": scopes,
                    "created_by": created_by, "created_at": utc_now(),
                    "revoked_at": None}
        try:
            self.keys.insert_one(document)
        except DuplicateKeyError:
            return None
        return document

    def by_prefix(self, prefix: str) -> dict | None:
        return self.keys.find_one({"prefix": prefix})

    def of_organization(self, city: str, organization_id: str) -> list[dict]:
        return list(self.keys.find({"city": city, "organization_id": organization_id},
                                   sort=[("created_at", 1)]))

    def get(self, city: str, organization_id: str, key_id: str) -> dict | None:
        return self.keys.find_one({"_id": key_id, "city": city,
                                   "organization_id": organization_id})

    def revoke(self, key_id: str) -> None:
        self.keys.update_one({"_id": key_id, "revoked_at": None},
                             {"$set": {"revoked_at": utc_now()}})

    def revoke_city(self, city: str) -> int:
        result = self.keys.update_many({"city": city, "revoked_at": None},
                                       {"$set": {"revoked_at": utc_now()}})
        return result.modified_count

    def last_used(self, key_ids: list[str]) -> dict[str, datetime]:
        return {document["_id"]: document["last_used_at"]
                for document in self.usage.find({"_id": {"$in": key_ids}})}

    def touch(self, key_id: str) -> None:
        """Record a use, unless one was recorded within ``USAGE_RESOLUTION``.

        The process remembers when it last wrote each key, so it reads the usage
        of a busy key at most once per ``USAGE_RESOLUTION`` as well.
        """
        now = utc_now()
        if now - self._touched.get(key_id, datetime.min) < USAGE_RESOLUTION:
            return
        self._touched[key_id] = now
        document = self.usage.find_one({"_id": key_id})
        if document is None:
            try:
                self.usage.insert_one({"_id": key_id, "last_used_at": now})
                return
            except DuplicateKeyError:
                document = self.usage.find_one({"_id": key_id})
        if now - document["last_used_at"] >= USAGE_RESOLUTION:
            self.usage.update_one({"_id": key_id}, {"$set": {"last_used_at": now}})

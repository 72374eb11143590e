"""The identity service's MongoDB store.

Accounts are platform-wide: one document per person, unique by lower-cased
e-mail. FerretDB 1.x can lose one of two concurrent updates of a document. So
each write that must not be lost is an insert of a document with a
deterministic ``_id``: a session's revocation, a refresh token's use, a grant,
a login failure. The remaining updates (an account's status, an API key's
revocation) set a value that a concurrent writer would set too.
"""

import uuid
from datetime import datetime, timedelta

import pymongo
from pymongo.errors import DuplicateKeyError

from cities_common.tenancy import CityRegistry
from services.identity.grants_store import ApiKeyStore, GrantStore
from services.identity.tokens import iso, token_hash, utc_now

PENDING, INVITED, ACTIVE, DISABLED = "pending", "invited", "active", "disabled"
VERIFY_EMAIL, SET_PASSWORD = "verify_email", "set_password"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def public_account(account: dict) -> dict:
    """Return what callers may see of an account: never its password hash."""
    return {"id": account["_id"], "email": account["email"], "name": account["name"],
            "email_verified": account["email_verified"],
            "created_at": iso(account["created_at"])}


class AccountStore:
    """Accounts and their single-use e-mail tokens."""

    def __init__(self, database):
        self.accounts = database["accounts"]
        self.tokens = database["one_time_tokens"]

    def ensure_indexes(self) -> None:
        self.accounts.create_index([("email", 1)], unique=True, name="one_per_email")
        self.tokens.create_index([("account_id", 1), ("kind", 1)], name="by_account")

    def create(self, email: str, name: str, locale: str, status: str,
               password_hash: str | None, email_verified: bool) -> dict | None:
        """Insert an account; return None when the e-mail already has one."""
        now = utc_now()
        account = {"_id": new_id("acct"), "email": email, "name": name,
                   "locale": locale, "status": status, "password_hash": password_hash,
                   "email_verified": email_verified, "created_at": now,
                   "updated_at": now}
        try:
            self.accounts.insert_one(account)
        except DuplicateKeyError:
            return None
        return account

    def get(self, account_id: str) -> dict | None:
        return self.accounts.find_one({"_id": account_id})

    def by_email(self, email: str) -> dict | None:
        return self.accounts.find_one({"email": email})

    def update(self, account_id: str, changes: dict) -> dict | None:
        return self.accounts.find_one_and_update(
            {"_id": account_id}, {"$set": {**changes, "updated_at": utc_now()}},
            return_document=pymongo.ReturnDocument.AFTER)

    def delete_stale_pending(self, account_id: str) -> bool:
        """Delete a never-verified sign-up whose verification tokens all expired."""
        live = self.tokens.count_documents({"account_id": account_id,
                                            "kind": VERIFY_EMAIL,
                                            "expires_at": {"$gt": utc_now()}})
        if live:
            return False
        self.tokens.delete_many({"account_id": account_id})
        return self.accounts.delete_one({"_id": account_id,
                                         "status": PENDING}).deleted_count == 1

    # Single-use tokens

    def add_token(self, account_id: str, kind: str, token: str,
                  lifetime: timedelta) -> None:
        now = utc_now()
        self.tokens.insert_one({"_id": token_hash(token), "account_id": account_id,
                                "kind": kind, "created_at": now,
                                "expires_at": now + lifetime})

    def peek_token(self, kind: str, token: str) -> tuple[str | None, str]:
        """Return (account id, "") for a live token without using it, or (None,
        the reason it cannot be used)."""
        document = self.tokens.find_one({"_id": token_hash(token)})
        if document is None or document["kind"] != kind:
            return None, "is unknown or was already used"
        if document["expires_at"] <= utc_now():
            return None, "has expired"
        return document["account_id"], ""

    def use_token(self, kind: str, token: str) -> tuple[str | None, str]:
        """Consume a token; return (account id, "") or (None, the reason it failed).

        Deleting the document is what consumes it: of two concurrent uses, only
        the one whose delete removed it succeeds.
        """
        digest = token_hash(token)
        document = self.tokens.find_one({"_id": digest})
        if document is None or document["kind"] != kind:
            return None, "is unknown or was already used"
        if self.tokens.delete_one({"_id": digest}).deleted_count != 1:
            return None, "was already used"
        if document["expires_at"] <= utc_now():
            return None, "has expired"
        return document["account_id"], ""

    def token_sent_since(self, account_id: str, kind: str, interval: timedelta) -> bool:
        """Return whether a token of ``kind`` was issued to the account within
        ``interval`` and is still unused."""
        return self.tokens.count_documents(
            {"account_id": account_id, "kind": kind,
             "created_at": {"$gt": utc_now() - interval}}, limit=1) > 0

    def drop_tokens(self, account_id: str, kind: str) -> None:
        self.tokens.delete_many({"account_id": account_id, "kind": kind})


class LoginThrottle:
    """Consecutive failed logins per login key, and the lockout they lead to.

    The key is the lower-cased e-mail with the client's address
    (``sessions.login_key``). Failures are stored under its SHA-256, known account
    or not, so a lockout does not reveal whether an account exists. Each failure is
    its own document, so concurrent failures are all counted.
    """

    def __init__(self, database, max_failures: int, lockout: timedelta):
        self.failures = database["login_failures"]
        self.lockouts = database["login_lockouts"]
        self.max_failures = max_failures
        self.lockout = lockout

    def ensure_indexes(self) -> None:
        self.failures.create_index([("login_key", 1)], name="by_login_key")

    def locked_until(self, key: str) -> datetime | None:
        document = self.lockouts.find_one({"_id": token_hash(key)})
        if document is None or document["locked_until"] <= utc_now():
            return None
        return document["locked_until"]

    def fail(self, login_key: str) -> datetime | None:
        """Count a failure; return the lockout's end when this one starts it."""
        key = token_hash(login_key)
        now = utc_now()
        self.failures.insert_one({"_id": new_id("fail"), "login_key": key, "at": now})
        # Only failures within one lockout period count, so a few typos spread
        # over weeks never add up to a lockout.
        recent = {"login_key": key, "at": {"$gte": now - self.lockout}}
        if self.failures.count_documents(recent) < self.max_failures:
            return None
        until = now + self.lockout
        self.lockouts.replace_one({"_id": key}, {"_id": key, "locked_until": until},
                                  upsert=True)
        self.failures.delete_many({"login_key": key})
        return until

    def succeed(self, login_key: str) -> None:
        self.failures.delete_many({"login_key": token_hash(login_key)})


class SessionStore:
    """Sessions, their refresh tokens, the uses of those tokens and revocations."""

    def __init__(self, database):
        self.sessions = database["sessions"]
        self.refresh_tokens = database["refresh_tokens"]
        self.refresh_uses = database["refresh_token_uses"]
        self.revocations = database["session_revocations"]

    def ensure_indexes(self) -> None:
        self.sessions.create_index([("account_id", 1)], name="by_account")
        self.refresh_tokens.create_index([("session_id", 1)], name="by_session")

    def create(self, account_id: str) -> dict:
        session = {"_id": new_id("ses"), "account_id": account_id,
                   "created_at": utc_now()}
        self.sessions.insert_one(session)
        return session

    def get(self, session_id: str) -> dict | None:
        return self.sessions.find_one({"_id": session_id})

    def is_revoked(self, session_id: str) -> bool:
        return self.revocations.count_documents({"_id": session_id}, limit=1) > 0

    def revoke(self, session_id: str, account_id: str, reason: str) -> bool:
        """Revoke a session and delete its refresh tokens; False if revoked before."""
        try:
            self.revocations.insert_one({"_id": session_id, "account_id": account_id,
                                         "reason": reason, "revoked_at": utc_now()})
        except DuplicateKeyError:
            return False
        finally:
            self.refresh_tokens.delete_many({"session_id": session_id})
        return True

    def revoke_all(self, account_id: str, reason: str) -> int:
        """Revoke every session of an account; return how many were still active."""
        return sum(self.revoke(session["_id"], account_id, reason)
                   for session in self.sessions.find({"account_id": account_id},
                                                     {"_id": 1}))

    def add_refresh_token(self, session: dict, token: str, lifetime: timedelta) -> None:
        now = utc_now()
        self.refresh_tokens.insert_one({
            "_id": token_hash(token), "session_id": session["_id"],
            "account_id": session["account_id"], "issued_at": now,
            "expires_at": now + lifetime})

    def find_refresh_token(self, token: str) -> dict | None:
        """Return the token's record, or for a token already used, its use."""
        digest = token_hash(token)
        document = self.refresh_tokens.find_one({"_id": digest})
        if document is not None:
            return {**document, "used": False}
        use = self.refresh_uses.find_one({"_id": digest})
        return {**use, "used": True} if use else None

    def use_refresh_token(self, record: dict) -> bool:
        """Record the token's single use; False when another use came first."""
        try:
            self.refresh_uses.insert_one({
                "_id": record["_id"], "session_id": record["session_id"],
                "account_id": record["account_id"], "used_at": utc_now()})
        except DuplicateKeyError:
            return False
        self.refresh_tokens.delete_one({"_id": record["_id"]})
        return True


class IdentityStore:
    """Plain store over the identity database; its parts are attributes."""

    def __init__(self, database, max_failures: int = 10,
                 lockout: timedelta = timedelta(minutes=15)):
        self.database = database
        self.cities = CityRegistry(database)
        self.archived_cities = database["archived_cities"]
        self.accounts = AccountStore(database)
        self.throttle = LoginThrottle(database, max_failures, lockout)
        self.sessions = SessionStore(database)
        self.grants = GrantStore(database)
        self.api_keys = ApiKeyStore(database)
        self.signing_keys = database["signing_keys"]

    def ensure_indexes(self) -> None:
        for part in (self.accounts, self.throttle, self.sessions, self.grants,
                     self.api_keys):
            part.ensure_indexes()

    def archive_city(self, city: str) -> None:
        try:
            self.archived_cities.insert_one({"_id": city, "archived_at": utc_now()})
        except DuplicateKeyError:
            pass

    def is_archived(self, city: str) -> bool:
        return self.archived_cities.count_documents({"_id": city}, limit=1) > 0

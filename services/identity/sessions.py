"""Entrypoints for logging in and out, refreshing, and checking credentials.

A login opens a session and returns an access token (a JWT, short-lived) and a
refresh token (opaque, long-lived). Each refresh token works once: refreshing
returns a new pair, and presenting a used refresh token again means that two
parties hold it, so the whole session is revoked. ``authenticate`` checks the
session on every call, so a logout stops its access tokens at once.
"""

import logging

from cities_common.errors import Forbidden, NotFound, Unauthenticated
from cities_common.rpc import rpc
from services.identity.exceptions import EXPECTED
from services.identity.grants_store import api_key_view, grant_view
from services.identity.passwords import (
    MAX_LENGTH, hash_password, needs_rehash, verify_dummy, verify_password,
)
from services.identity.schemas import OPERATOR, normalise_email
from services.identity.storage import ACTIVE, DISABLED
from services.identity.tokens import (
    API_KEY_PREFIX, api_key_prefix, iso, new_token, same_hash, utc_now,
)

logger = logging.getLogger(__name__)

LOGIN_FAILED = "e-mail or password is wrong: check both and try again"


def login_key(email: str, client) -> str:
    """Return what failed logins are counted under: the e-mail and the client."""
    client = client if isinstance(client, str) else ""
    return f"{email}\x1f{client[:100]}"


class SessionEntrypoints:
    """Mixed into ``IdentityService``: sessions and the credentials that use them."""

    @rpc(expected_exceptions=EXPECTED,
         sensitive_arguments=("email", "password", "client"))
    def login(self, email, password, client=None):
        """Open a session and return its token pair.

        Raises ``Unauthenticated`` with one message for a wrong e-mail or password,
        and ``Forbidden`` for an unverified or disabled account or while the
        address is locked after repeated failures. ``client`` is the caller's
        network address: failures are counted per e-mail and client, so someone
        who types wrong passwords for another person's address locks out only
        themselves.
        """
        email = normalise_email(email) if isinstance(email, str) else ""
        # A longer password cannot match, because none longer is ever stored.
        password = password[:MAX_LENGTH + 1] if isinstance(password, str) else ""
        attempt = login_key(email, client)
        locked_until = self.store.throttle.locked_until(attempt)
        if locked_until is not None:
            raise Forbidden(f"too many failed logins for this e-mail from this network "
                            f"address: try again after {iso(locked_until)}")
        account = self.store.accounts.by_email(email) if email else None
        stored_hash = account.get("password_hash") if account else None
        if stored_hash is None:
            verify_dummy(password)
            self._login_failed(email, attempt)
        if not verify_password(stored_hash, password):
            self._login_failed(email, attempt)
        self.store.throttle.succeed(attempt)

        if not account["email_verified"]:
            raise Forbidden("verify your e-mail first: open the link we sent to it")
        if account["status"] != ACTIVE:
            raise Forbidden(f"account {account['_id']} is {account['status']}: ask an "
                            "operator to enable it")
        if needs_rehash(stored_hash):
            self.store.accounts.update(account["_id"],
                                       {"password_hash": hash_password(password)})
        session = self.store.sessions.create(account["_id"])
        logger.info("account %s logged in, session %s", account["_id"], session["_id"])
        return self._token_pair(session)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("refresh_token",))
    def refresh(self, refresh_token):
        """Exchange a refresh token for a new pair; the old one stops working.

        Raises ``Unauthenticated`` for an unknown, expired or revoked token, and
        revokes the session when a token is used a second time.
        """
        sessions = self.store.sessions
        record = sessions.find_refresh_token(refresh_token) \
            if isinstance(refresh_token, str) and refresh_token else None
        if record is None:
            raise Unauthenticated("refresh token is unknown, or its session ended: "
                                  "log in again")
        if record["used"] or not sessions.use_refresh_token(record):
            sessions.revoke(record["session_id"], record["account_id"],
                            "refresh_token_reused")
            logger.warning("refresh token of session %s used twice: session revoked",
                           record["session_id"])
            raise Unauthenticated("refresh token was already used, so its session is "
                                  "revoked in case it was stolen: log in again")
        if record["expires_at"] <= utc_now():
            raise Unauthenticated("refresh token expired: log in again")
        session = sessions.get(record["session_id"])
        if session is None or sessions.is_revoked(session["_id"]):
            raise Unauthenticated("session was logged out: log in again")
        self._active_account(session["account_id"])
        return self._token_pair(session)

    @rpc(expected_exceptions=EXPECTED)
    def logout(self, session_id):
        """Revoke a session; its access and refresh tokens stop working at once."""
        session = self.store.sessions.get(str(session_id))
        if session is None:
            raise NotFound(f"session {str(session_id)[:60]!r} not found")
        if self.store.sessions.revoke(session["_id"], session["account_id"], "logout"):
            logger.info("session %s logged out", session["_id"])
        return {"revoked": True}

    @rpc(expected_exceptions=EXPECTED)
    def logout_all(self, account_id):
        """Revoke every session of an account; return how many were active."""
        count = self.store.sessions.revoke_all(str(account_id), "logout_all")
        logger.info("account %s logged out of %s sessions", account_id, count)
        return {"revoked": True, "sessions": count}

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("credential",))
    def authenticate(self, credential):
        """Return the principal behind an access token or API key.

        Raises ``Unauthenticated`` saying why the credential is not accepted:
        missing, malformed, expired, signed by an unknown key, or revoked.
        """
        if not isinstance(credential, str) or not credential:
            raise Unauthenticated("no credential given: send 'Authorization: Bearer' "
                                  "with an access token or an API key")
        if credential.startswith(f"{API_KEY_PREFIX}_"):
            return self._api_key_principal(credential)
        claims = self.signer.access.verify(credential)
        sessions = self.store.sessions
        session = sessions.get(claims["sid"])
        if session is None or session["account_id"] != claims["sub"]:
            raise Unauthenticated("access token names an unknown session: log in again")
        if sessions.is_revoked(session["_id"]):
            raise Unauthenticated("session was logged out or revoked: log in again")
        account = self._active_account(claims["sub"])
        grants = self.store.grants.of_account(account["_id"])
        return {"kind": "account", "account_id": account["_id"],
                "email": account["email"], "email_verified": account["email_verified"],
                "session_id": session["_id"],
                "operator": any(grant["role"] == OPERATOR for grant in grants),
                "grants": [grant_view(grant) for grant in grants]}

    @rpc
    def public_keys(self):
        """Return the JWKS of the keys that verify access tokens."""
        return {"keys": [key.public_jwk()
                         for key in self.signer.keyring.verification_keys()]}

    @rpc
    def rotate_signing_key(self):
        """Start signing with a new key; the old one verifies for one token lifetime."""
        key = self.signer.keyring.rotate()
        return {"kid": key.kid, "created_at": iso(key.created_at)}

    def _login_failed(self, email: str, attempt: str):
        locked_until = self.store.throttle.fail(attempt) if email else None
        if locked_until is not None:
            logger.warning("login locked for %s s after repeated failures",
                           self.store.throttle.lockout.total_seconds())
            raise Forbidden(f"too many failed logins for this e-mail from this network "
                            f"address: try again after {iso(locked_until)}")
        raise Unauthenticated(LOGIN_FAILED)

    def _token_pair(self, session: dict) -> dict:
        settings = self.signer.settings
        refresh_token = new_token()
        self.store.sessions.add_refresh_token(session, refresh_token,
                                              settings.refresh_lifetime)
        return {"access_token": self.signer.access.issue(session["account_id"],
                                                         session["_id"]),
                "token_type": "Bearer", "expires_in": settings.access_seconds,
                "refresh_token": refresh_token,
                "refresh_expires_in": settings.refresh_seconds,
                "account_id": session["account_id"], "session_id": session["_id"]}

    def _active_account(self, account_id: str) -> dict:
        account = self.store.accounts.get(account_id)
        if account is None:
            raise Unauthenticated("account no longer exists: sign up again")
        if account["status"] == DISABLED:
            raise Unauthenticated(f"account {account_id} is disabled")
        if account["status"] != ACTIVE:
            raise Unauthenticated(f"account {account_id} is {account['status']}: "
                                  "log in again once it is active")
        return account

    def _api_key_principal(self, key: str) -> dict:
        prefix = api_key_prefix(key)
        if prefix is None:
            raise Unauthenticated("API key is malformed: expected "
                                  "col_<8-character prefix>_<secret>")
        document = self.store.api_keys.by_prefix(prefix)
        if document is None or not same_hash(key, document["key_hash"]):
            raise Unauthenticated(f"API key col_{prefix}_… is unknown: check it, or "
                                  "create a new one")
        if document["revoked_at"] is not None:
            raise Unauthenticated(f"API key {document['_id']} was revoked on "
                                  f"{iso(document['revoked_at'])}: create a new one")
        self.store.api_keys.touch(document["_id"])
        view = api_key_view(document)
        return {"kind": "api_key", "key_id": view["id"], "city": view["city"],
                "organization_id": view["organization_id"], "scopes": view["scopes"]}

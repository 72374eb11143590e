"""Entrypoints for accounts: sign-up, e-mail verification, passwords, status.

Sign-up never reveals whether an e-mail already has an account: it returns the
same result and takes nearly the same time, because it hashes the password
either way. For an existing address it sends nothing, with one exception: a
sign-up that was never verified and whose link has expired is replaced by the
new one, so an address is never stuck behind a lost e-mail.

Verifying the address takes the verification link's token and the password
chosen at sign-up. A link proves the mailbox and the password proves the
sign-up, so someone who signs up with another person's address can never have
that person switch on a password they did not choose. A repeated sign-up of an
address not yet verified replaces the pending password and sends a new link
(at most one every two minutes), so the owner can always sign up over a squatter.

A forgotten password is reset through a link sent to the address. The link
proves that its reader owns the mailbox, so it also activates an unverified
sign-up: whoever signed up with someone else's address loses the account to the
address's owner as soon as the owner asks for a reset. Asking for a reset also
reveals nothing about whether the address has an account.
"""

import logging

from marshmallow import ValidationError

from cities_common import events
from cities_common.errors import (
    CityArchived, Conflict, Forbidden, InvalidInput, NotFound,
)
from cities_common.rpc import rpc
from services.identity import schemas
from services.identity.exceptions import EXPECTED
from services.identity.passwords import hash_password, verify_password
from services.identity.providers import (
    RESET_INTERVAL, RESET_LIFETIME, SETUP_LIFETIME, VERIFICATION_LIFETIME,
)
from services.identity.storage import (
    ACTIVE, DISABLED, INVITED, PENDING, SET_PASSWORD, VERIFY_EMAIL, public_account,
)
from services.identity.tokens import new_token

logger = logging.getLogger(__name__)

TOKEN_EVENTS = {VERIFY_EMAIL: events.ACCOUNT_VERIFICATION_REQUESTED,
                SET_PASSWORD: events.ACCOUNT_SETUP_REQUESTED}
TOKEN_LIFETIMES = {VERIFY_EMAIL: VERIFICATION_LIFETIME, SET_PASSWORD: SETUP_LIFETIME}


class AccountEntrypoints:
    """Mixed into ``IdentityService``: the life of an account."""

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("request.password",))
    def signup(self, request):
        """Create an unverified account and e-mail its verification link.

        Returns ``{"status": "verification_sent"}`` whether or not the e-mail
        already had an account. Dispatches ``account_verification_requested`` for
        a new account. Raises ``InvalidInput``, ``UnknownCity`` or ``CityArchived``.
        """
        city = self._open_city(self.request.city)
        fields = schemas.load(schemas.SignupSchema(), request, "invalid sign-up")
        password_hash = hash_password(fields["password"])

        accounts = self.store.accounts
        existing = accounts.by_email(fields["email"])
        if existing is not None and existing["status"] == PENDING \
                and accounts.delete_stale_pending(existing["_id"]):
            logger.info("replaced expired sign-up %s", existing["_id"])
            existing = None
        if existing is not None and existing["status"] == PENDING:
            self._repeat_signup(city, existing, password_hash)
            return {"status": "verification_sent"}
        if existing is not None:
            logger.info("sign-up for existing account %s: nothing sent",
                        existing["_id"])
            return {"status": "verification_sent"}

        locale = fields["locale"] or self._city_locale(city)
        account = accounts.create(fields["email"], fields["name"], locale, PENDING,
                                  password_hash, email_verified=False)
        if account is None:
            logger.info("concurrent sign-up for one e-mail: nothing sent")
            return {"status": "verification_sent"}
        self._send_token(city, account, VERIFY_EMAIL)
        logger.info("account %s signed up", account["_id"])
        return {"status": "verification_sent"}

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("token", "password"))
    def verify_email(self, token, password=None):
        """Mark the token's account verified when ``password`` is the sign-up's.

        Raises ``InvalidInput`` on ``token`` (unknown, used or expired) or on
        ``password`` (missing, or not the pending sign-up's); a wrong password
        leaves the token usable.
        """
        account_id, problem = self.store.accounts.peek_token(VERIFY_EMAIL, token) \
            if isinstance(token, str) and token else (None, "is missing")
        account = self.store.accounts.get(account_id) if account_id else None
        if account is None:
            raise InvalidInput({"token": [f"{problem or 'is unknown'}: ask for a new "
                                          "e-mail"]}, "invalid token")
        if not isinstance(password, str) or not password:
            raise InvalidInput({"password": ["is required: send the password chosen "
                                              "at sign-up"]}, "invalid verification")
        if not account.get("password_hash") or \
                not verify_password(account["password_hash"], password):
            logger.info("verification of account %s with another password",
                        account["_id"])
            raise InvalidInput({"password": [
                "is not the password this sign-up chose. If you did not sign up, "
                "ignore the e-mail; otherwise sign up again with your password, or "
                "ask for a password reset"]}, "invalid verification")
        account = self._account_for_token(VERIFY_EMAIL, token, "token")
        changes = {"email_verified": True}
        if account["status"] == PENDING:
            changes["status"] = ACTIVE
        account = self.store.accounts.update(account["_id"], changes)
        self.store.accounts.drop_tokens(account["_id"], VERIFY_EMAIL)
        logger.info("account %s verified its e-mail", account["_id"])
        return public_account(account)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("setup_token", "password"))
    def set_password(self, setup_token, password):
        """Set an invited account's first password with its setup token.

        Receiving the token proves the address, so the account becomes active and
        verified. Raises ``InvalidInput`` naming ``token`` or ``password``, or
        ``Forbidden`` for a disabled account.
        """
        fields = schemas.load(schemas.SetPasswordSchema(),
                              {"token": setup_token, "password": password},
                              "invalid password setup")
        account = self._account_for_token(SET_PASSWORD, fields["token"], "token")
        if account["status"] == DISABLED:
            raise Forbidden(f"account {account['_id']} is disabled: ask an operator "
                            "to enable it")
        account = self._set_password(account, fields["password"])
        logger.info("account %s set its password", account["_id"])
        return public_account(account)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("email",))
    def request_password_reset(self, email):
        """E-mail a link that sets a new password, valid for an hour.

        Returns ``{"status": "reset_sent"}`` whether or not the address has an
        account, so the reply reveals nothing. Sends nothing for an unknown or
        disabled account, nor when a reset link went to the address within
        ``RESET_INTERVAL``. The link's token works with ``set_password``, which
        also verifies the address, activates the account and ends its sessions.
        Raises ``InvalidInput`` on ``email``, ``UnknownCity`` or ``CityArchived``.
        """
        city = self._open_city(self.request.city)
        email = schemas.load(schemas.PasswordResetRequestSchema(), {"email": email},
                             "invalid password reset")["email"]
        account = self.store.accounts.by_email(email)
        if account is None or account["status"] == DISABLED:
            logger.info("password reset for no active account: nothing sent")
        elif self.store.accounts.token_sent_since(account["_id"], SET_PASSWORD,
                                                  RESET_INTERVAL):
            logger.info("password reset for account %s: a link went out less than "
                        "%s ago, nothing sent", account["_id"], RESET_INTERVAL)
        else:
            self._send_token(city, account, SET_PASSWORD, RESET_LIFETIME,
                             events.ACCOUNT_PASSWORD_RESET_REQUESTED)
            logger.info("password reset link sent for account %s", account["_id"])
        return {"status": "reset_sent"}

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("email", "password"))
    def create_operator(self, email, password=None, reset_password=False):
        """Create or find a verified account with the platform-wide operator grant.

        Sets ``password`` on a new account, on one that never set its own (invited
        or unverified) and, with ``reset_password``, on an existing one, which
        also logs it out everywhere. Returns ``account_id``, ``created`` and
        ``password_set``. Raises ``Conflict`` for a disabled account.
        """
        email = self._email(email)
        account = self.store.accounts.by_email(email)
        set_password = account is None or bool(reset_password) \
            or account["status"] in (PENDING, INVITED)
        if set_password:
            password = self._new_password(password)
        if account is None:
            account = self.store.accounts.create(
                email, "", "en", ACTIVE, hash_password(password), email_verified=True)
            if account is None:
                raise Conflict("another request created this account at the same "
                               "time: run the command again")
            created = True
        else:
            if account["status"] == DISABLED:
                raise Conflict(f"account {account['_id']} is disabled: enable it "
                               "before granting it the operator role")
            created = False
            if set_password:
                account = self._set_password(account, password)
        self.store.grants.add(account["_id"], schemas.ALL_CITIES, schemas.OPERATOR,
                              schemas.ALL_CITIES, None)
        logger.info("operator account %s %s", account["_id"],
                    "created" if created else "granted")
        return {"account_id": account["_id"], "created": created,
                "password_set": set_password}

    @rpc(expected_exceptions=EXPECTED)
    def get_account(self, account_id):
        """Return the public account; raise ``NotFound``."""
        return public_account(self._account(account_id))

    @rpc(expected_exceptions=EXPECTED)
    def disable_account(self, account_id):
        """Disable an account and revoke its sessions; its API keys are the city's."""
        account = self._account(account_id)
        self.store.accounts.update(account["_id"], {"status": DISABLED})
        revoked = self.store.sessions.revoke_all(account["_id"], "account_disabled")
        logger.info("account %s disabled, %s sessions revoked", account["_id"], revoked)
        return {**public_account(account), "status": DISABLED}

    @rpc(expected_exceptions=EXPECTED)
    def enable_account(self, account_id):
        """Enable a disabled account; it still needs a verified e-mail to log in."""
        account = self._account(account_id)
        if account["status"] != DISABLED:
            return {**public_account(account), "status": account["status"]}
        if not account.get("password_hash"):
            status = INVITED
        elif not account["email_verified"]:
            status = PENDING
        else:
            status = ACTIVE
        account = self.store.accounts.update(account["_id"], {"status": status})
        logger.info("account %s enabled", account["_id"])
        return {**public_account(account), "status": status}

    # Helpers shared with the other mixins

    def _open_city(self, city) -> str:
        """Return an onboarded, active city; raise ``UnknownCity``, ``CityArchived``."""
        city = self.store.cities.require(city)
        if self.store.is_archived(city):
            raise CityArchived(f"city {city!r} was archived: it accepts no new "
                               "accounts or API keys")
        return city

    def _city_locale(self, city: str) -> str:
        record = self.store.cities.get(city) or {}
        locale = record.get("default_locale")
        return locale if locale in schemas.LOCALES else "en"

    def _repeat_signup(self, city: str, account: dict, password_hash: str) -> None:
        """Give a pending sign-up the new password, and send a new link unless one
        went out within ``RESET_INTERVAL``."""
        self.store.accounts.update(account["_id"], {"password_hash": password_hash})
        if self.store.accounts.token_sent_since(account["_id"], VERIFY_EMAIL,
                                                RESET_INTERVAL):
            logger.info("repeated sign-up %s: password replaced, recent link kept",
                        account["_id"])
            return
        self._send_token(city, account, VERIFY_EMAIL)
        logger.info("repeated sign-up %s: password replaced, new link sent",
                    account["_id"])

    def _send_token(self, city: str, account: dict, kind: str, lifetime=None,
                    event_type=None) -> str:
        """Store a new single-use token of ``kind`` and dispatch its e-mail event."""
        token = new_token()
        self.store.accounts.add_token(account["_id"], kind, token,
                                      lifetime or TOKEN_LIFETIMES[kind])
        self.publish(event_type or TOKEN_EVENTS[kind], city, {
            "city": city, "account_id": account["_id"], "email": account["email"],
            "token": token, "locale": account.get("locale") or self._city_locale(city)})
        return token

    def _account_for_token(self, kind: str, token, field: str) -> dict:
        if not isinstance(token, str) or not token:
            raise InvalidInput({field: ["is missing: send the token from the e-mail"]},
                               "invalid token")
        account_id, problem = self.store.accounts.use_token(kind, token)
        account = self.store.accounts.get(account_id) if account_id else None
        if account is None:
            raise InvalidInput({field: [f"{problem or 'is unknown'}: ask for a new "
                                        "e-mail"]}, "invalid token")
        return account

    def _set_password(self, account: dict, password: str) -> dict:
        account = self.store.accounts.update(account["_id"], {
            "password_hash": hash_password(password), "status": ACTIVE,
            "email_verified": True})
        self.store.accounts.drop_tokens(account["_id"], SET_PASSWORD)
        self.store.accounts.drop_tokens(account["_id"], VERIFY_EMAIL)
        self.store.sessions.revoke_all(account["_id"], "password_changed")
        return account

    def _account(self, account_id) -> dict:
        account = self.store.accounts.get(str(account_id))
        if account is None:
            raise NotFound(f"account {str(account_id)[:60]!r} not found")
        return account

    @staticmethod
    def _email(email) -> str:
        try:
            return schemas.Email(required=True).deserialize(email)
        except ValidationError as exc:
            raise InvalidInput({"email": exc.messages}, "invalid e-mail") from exc

    @staticmethod
    def _new_password(password) -> str:
        try:
            return schemas.PasswordField(required=True).deserialize(password)
        except ValidationError as exc:
            raise InvalidInput({"password": exc.messages}, "invalid password") from exc

"""Entrypoints for role grants and partner API keys.

A grant gives an account a role on one scope in one city: ``city_admin`` on the
city, ``org_admin`` or ``org_staff`` on an organisation, ``youth`` or
``guardian`` on a youth. The platform-wide ``operator`` role is granted only by
``create_operator``, so no caller of ``grant`` can make an operator.
"""

import logging

from cities_common.errors import Conflict, InvalidInput, NotFound
from cities_common.rpc import rpc
from services.identity import schemas
from services.identity.exceptions import EXPECTED
from services.identity.grants_store import api_key_view, grant_view
from services.identity.storage import INVITED, PENDING, SET_PASSWORD, VERIFY_EMAIL
from services.identity.tokens import new_api_key

logger = logging.getLogger(__name__)

MAX_ACTIVE_KEYS_PER_ORGANIZATION = 50
# A random 8-character prefix repeats rarely; a few tries make a failure
# practically impossible.
KEY_ATTEMPTS = 3


class AccessEntrypoints:
    """Mixed into ``IdentityService``: who may act where, and partners' API keys."""

    @rpc(expected_exceptions=EXPECTED)
    def grant(self, account_id, city, role, scope_id, catalog_account_id=None):
        """Grant a role; granting it again changes nothing. Returns the grant.

        Raises ``InvalidInput`` for an unknown role, a scope that does not fit it,
        or the operator role, and ``NotFound`` for an unknown account.
        """
        fields = self._grant_fields(city, role, scope_id, catalog_account_id)
        account = self._account(account_id)
        grant, created = self.store.grants.add(account["_id"], **fields)
        if created:
            logger.info("granted %s on %s in %s to account %s", fields["role"],
                        fields["scope_id"], fields["city"], account["_id"])
        return grant_view(grant)

    @rpc(expected_exceptions=EXPECTED)
    def revoke_grant(self, account_id, city, role, scope_id):
        """Remove a grant; return whether it existed."""
        removed = self.store.grants.remove(str(account_id), str(city), str(role),
                                           str(scope_id))
        if removed:
            logger.info("revoked %s on %s in %s from account %s", role, scope_id, city,
                        account_id)
        return {"revoked": removed}

    @rpc(expected_exceptions=EXPECTED)
    def list_grants(self, account_id):
        return [grant_view(grant) for grant in self.store.grants.of_account(
            str(account_id))]

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("email",))
    def grant_by_email(self, email, city, role, scope_id, catalog_account_id=None):
        """Grant a role to the account of ``email``, inviting the person if needed.

        Returns ``account_id`` and ``setup_token``. The token is None when the
        account already has a password. An invited account, or a sign-up that
        was never verified, gets a new setup token, and
        ``account_setup_requested`` is dispatched to e-mail it. An unverified
        sign-up loses the password it was created with, because nothing proves
        that its creator owns the address.
        """
        fields = self._grant_fields(city, role, scope_id, catalog_account_id)
        email = self._email(email)
        accounts = self.store.accounts
        account = accounts.by_email(email)
        if account is None:
            # A concurrent call may create the account first; then use that one.
            account = accounts.create(email, "", self._city_locale(fields["city"]),
                                      INVITED, None, email_verified=False) \
                or accounts.by_email(email)
        self.store.grants.add(account["_id"], **fields)

        setup_token = None
        if account["status"] in (INVITED, PENDING):
            if account["status"] == PENDING:
                account = accounts.update(account["_id"], {"status": INVITED,
                                                           "password_hash": None})
                accounts.drop_tokens(account["_id"], VERIFY_EMAIL)
            setup_token = self._send_token(fields["city"], account, SET_PASSWORD)
        logger.info("granted %s on %s in %s to account %s by e-mail%s", fields["role"],
                    fields["scope_id"], fields["city"], account["_id"],
                    ", setup e-mail requested" if setup_token else "")
        return {"account_id": account["_id"], "setup_token": setup_token}

    # API keys

    @rpc(expected_exceptions=EXPECTED)
    def create_api_key(self, city, organization_id, request, created_by=None):
        """Create an API key for an organisation; the key is in this result only.

        Raises ``InvalidInput`` for a bad name or scope, ``Conflict`` when the
        organisation has the maximum of active keys, and ``UnknownCity`` or
        ``CityArchived``.
        """
        city = self._open_city(city)
        organization_id = self._organization_id(organization_id)
        fields = schemas.load(schemas.ApiKeyRequestSchema(), request,
                              "invalid API key request")
        keys = self.store.api_keys
        active = [key for key in keys.of_organization(city, organization_id)
                  if key["revoked_at"] is None]
        if len(active) >= MAX_ACTIVE_KEYS_PER_ORGANIZATION:
            raise Conflict(f"organisation {organization_id} already has "
                           f"{MAX_ACTIVE_KEYS_PER_ORGANIZATION} active API keys in "
                           f"{city}: revoke one first")
        scopes = sorted(set(fields["scopes"]))
        for _ in range(KEY_ATTEMPTS):
            key, prefix = new_api_key()
            document = keys.add(city, organization_id, fields["name"], scopes, key,
                                prefix, str(created_by) if created_by else None)
            if document is not None:
                break
        else:
            raise Conflict("could not find a free API key prefix: try again")
        logger.info("API key %s created for organisation %s", document["_id"],
                    organization_id)
        return {**api_key_view(document), "key": key}

    @rpc(expected_exceptions=EXPECTED)
    def list_api_keys(self, city, organization_id):
        """Return an organisation's keys, revoked ones included, without secrets."""
        documents = self.store.api_keys.of_organization(str(city), str(organization_id))
        used = self.store.api_keys.last_used(
            [document["_id"] for document in documents])
        return [api_key_view(document, used.get(document["_id"]))
                for document in documents]

    @rpc(expected_exceptions=EXPECTED)
    def revoke_api_key(self, city, organization_id, key_id):
        """Revoke a key at once; revoking again changes nothing. Raises ``NotFound``."""
        keys = self.store.api_keys
        document = keys.get(str(city), str(organization_id), str(key_id))
        if document is None:
            raise NotFound(f"API key {str(key_id)[:60]!r} not found for organisation "
                           f"{str(organization_id)[:60]!r} in {str(city)[:40]}")
        if document["revoked_at"] is None:
            keys.revoke(document["_id"])
            logger.info("API key %s revoked", document["_id"])
        return api_key_view(keys.get(document["city"], document["organization_id"],
                                     document["_id"]))

    def _grant_fields(self, city, role, scope_id, catalog_account_id) -> dict:
        fields = schemas.load_grant({"city": city, "role": role, "scope_id": scope_id,
                                     "catalog_account_id": catalog_account_id})
        if fields["role"] == schemas.OPERATOR:
            raise InvalidInput({"role": ["operator is granted only by the "
                                         "create-operator command"]}, "invalid grant")
        return fields

    @staticmethod
    def _organization_id(value) -> str:
        if not isinstance(value, str) or not 1 <= len(value) <= 100:
            raise InvalidInput({"organization_id": ["must be an organisation id of 1 "
                                                    "to 100 characters"]},
                               "invalid API key request")
        return value

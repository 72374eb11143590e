"""Operator entrypoints for the city signing keys: list, rotate and revoke them;
mixed into ``BadgesService``.

The gateway lets only platform operators call them. Every reply describes the
keys without any key material.
"""

from cities_common.errors import InvalidInput, NotFound
from cities_common.rpc import rpc

from services.badges.schemas import RevokeRequestSchema, RotateKeysRequestSchema
from services.badges.staff import EXPECTED, load


class KeyAdminEntrypoints:
    """The ``signing_keys``, ``rotate_signing_keys`` and ``revoke_signing_key`` RPCs."""

    def key_listing(self, city: str) -> dict:
        urls = self.urls(city)
        return {
            "keys": [
                {**key.summary(), "url": urls.jwk(key.key_id)}
                for key in self.store.keyring.keys(city)
            ]
        }

    @rpc(expected_exceptions=EXPECTED)
    def signing_keys(self):
        """List every signing key of the context city with its status and dates."""
        return self.key_listing(self.tenant.city)

    @rpc(expected_exceptions=EXPECTED)
    def rotate_signing_keys(self, request):
        """Start signing with new keys; the previous ones stay published as retired."""
        city = self.tenant.city
        body = load(RotateKeysRequestSchema, request, "invalid key rotation")
        self.store.keyring.rotate(city, tuple(dict.fromkeys(body["algorithms"])))
        return self.key_listing(city)

    @rpc(expected_exceptions=EXPECTED)
    def revoke_signing_key(self, key_id, request):
        """Mark a key compromised, rotating first if it is in use.

        Verifiers then reject every signature made with it. Raises ``NotFound``
        for a key id the context city does not have.
        """
        city = self.tenant.city
        reason = load(RevokeRequestSchema, request, "invalid key revocation")["reason"]
        if not isinstance(key_id, str) or not key_id:
            raise InvalidInput({"key_id": ["must be a key id"]}, "invalid key id")
        revoked = self.store.keyring.revoke(city, key_id, reason)
        if revoked is None:
            raise NotFound(f"signing key {key_id!r} not found in {city}")
        return {"revoked": revoked.summary(), **self.key_listing(city)}

"""The Ed25519 keys that sign access tokens, and the tokens themselves.

Access tokens are JWTs (RFC 9068 profile, ``typ`` ``at+jwt``) signed with EdDSA by
the newest key of the ``signing_keys`` collection. The first identity process
to start generates key 1. ``rotate`` adds the next key, and the superseded key
keeps verifying tokens for one access-token lifetime, because tokens it signed
stay valid that long. Every process reloads the keys each minute and whenever a
token names a key id it does not know, so a rotation made by one process
reaches the others.

Private keys are stored as PKCS#8 PEM encrypted under ``IDENTITY_KEY_PASSPHRASE``
(``cities_common/keycrypt.py``). A key stored in plain PEM by an earlier release
is encrypted when a process first loads it.
"""

import logging
import threading
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta

from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, JoseError
from joserfc.jwk import OKPKey
from pymongo.errors import DuplicateKeyError

from cities_common import keycrypt
from cities_common.errors import Unauthenticated
from services.identity.tokens import utc_now

logger = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
TOKEN_TYPE = "at+jwt"
AUDIENCE = "cities-of-learning"
RELOAD_SECONDS = 60.0
PASSPHRASE_SETTING = "IDENTITY_KEY_PASSPHRASE"
# Seconds of clock difference tolerated on ``exp`` and ``iat`` between processes.
LEEWAY_SECONDS = 5

# RFC 9864 deprecates "EdDSA" in favour of "Ed25519", and joserfc 1.8 warns on
# every use. The service keeps "EdDSA", the name JOSE libraries of clients accept.
warnings.filterwarnings("ignore", message="EdDSA is deprecated")


@dataclass(frozen=True)
class SigningKey:
    """One generation of the signing key, with the time its successor replaced it."""

    generation: int
    kid: str
    key: OKPKey
    created_at: datetime
    superseded_at: datetime | None

    def public_jwk(self) -> dict:
        return {**self.key.as_dict(private=False), "kid": self.kid, "alg": ALGORITHM,
                "use": "sig"}


class UnknownKey(Exception):
    """A token names a key id that no verification key has."""


class KeyRing:
    """Load, create and rotate the signing keys kept in one MongoDB collection.

    A key document's ``_id`` is its generation, so two processes that create the
    same generation at once collide on the insert, and the loser uses the
    winner's key.
    """

    def __init__(self, collection, verify_seconds: int, passphrase: str | None):
        self.collection = collection
        self.verify_seconds = verify_seconds
        self._passphrase = check_passphrase(passphrase)
        # Keys are decrypted once and kept, so the minute reload reads no PEM twice.
        self._decrypted: dict[int, OKPKey] = {}
        self._keys: list[SigningKey] = []
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def active(self) -> SigningKey:
        """Return the newest key, generating the first one when there is none."""
        keys = self._current()
        if not keys:
            self._create(1)
            keys = self._reload()
        return keys[-1]

    def rotate(self) -> SigningKey:
        """Add the next generation and make it the signing key; return it."""
        self._create(self.active().generation + 1)
        return self._reload()[-1]

    def verification_keys(self) -> list[SigningKey]:
        """Return the newest key and those superseded less than a token lifetime ago."""
        self.active()
        cutoff = utc_now() - timedelta(seconds=self.verify_seconds)
        return [key for key in self._current()
                if key.superseded_at is None or key.superseded_at > cutoff]

    def find(self, kid: str) -> SigningKey:
        """Return the verification key ``kid``; raise ``UnknownKey``."""
        for candidates in (self.verification_keys, self._reload_verification_keys):
            for key in candidates():
                if key.kid == kid:
                    return key
        raise UnknownKey(kid)

    def _reload_verification_keys(self) -> list[SigningKey]:
        self._reload()
        return self.verification_keys()

    def _current(self) -> list[SigningKey]:
        if time.monotonic() - self._loaded_at > RELOAD_SECONDS:
            return self._reload()
        return self._keys

    def _reload(self) -> list[SigningKey]:
        documents = list(self.collection.find({}, sort=[("_id", 1)]))
        keys = []
        successors = documents[1:] + [None]
        for document, successor in zip(documents, successors):
            keys.append(SigningKey(
                document["_id"], document["kid"], self._private_key(document),
                document["created_at"],
                successor["created_at"] if successor else None))
        with self._lock:
            self._keys = keys
            self._loaded_at = time.monotonic()
        return keys

    def _private_key(self, document: dict) -> OKPKey:
        """Decrypt a stored key, encrypting it first if it was stored in plain PEM."""
        generation = document["_id"]
        if generation in self._decrypted:
            return self._decrypted[generation]
        encrypted = document.get("encryption") == keycrypt.ENCRYPTION
        try:
            private = keycrypt.load_private_key(
                document["private_pem"], self._passphrase if encrypted else None)
        except (TypeError, ValueError) as exc:
            raise keycrypt.KeyConfigurationError(
                f"{PASSPHRASE_SETTING} does not decrypt access-token signing key "
                f"{document['kid']}: set the passphrase the keys were encrypted "
                "with") from exc
        if not encrypted:
            # The filter on the plain PEM makes a concurrent migration a no-op.
            self.collection.update_one(
                {"_id": generation, "private_pem": document["private_pem"]},
                {"$set": {"private_pem": keycrypt.encrypt_private_key(
                              private, self._passphrase),
                          "encryption": keycrypt.ENCRYPTION}})
            logger.info("encrypted access-token signing key %s", document["kid"])
        key = OKPKey.import_key(private)
        with self._lock:
            self._decrypted[generation] = key
        return key

    def _create(self, generation: int) -> None:
        key = OKPKey.generate_key("Ed25519", private=True)
        document = {
            "_id": generation,
            "kid": f"idn-{generation}-{key.thumbprint()[:16]}",
            "private_pem": keycrypt.encrypt_private_key(key.private_key,
                                                        self._passphrase),
            "encryption": keycrypt.ENCRYPTION,
            "created_at": utc_now(),
        }
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:
            return
        logger.info("generated access-token signing key %s", document["kid"])


def check_passphrase(passphrase: str | None) -> bytes:
    """Return the passphrase as bytes; raise ``KeyConfigurationError`` if unusable."""
    return keycrypt.check_passphrase(PASSPHRASE_SETTING, passphrase,
                                     "the identity service's token-signing keys",
                                     "var/identity-key-passphrase")


class AccessTokens:
    """Issue and verify access tokens; ``lifetime`` is in seconds."""

    def __init__(self, keyring: KeyRing, issuer: str, lifetime: int):
        self.keyring = keyring
        self.issuer = issuer
        self.lifetime = lifetime

    def issue(self, account_id: str, session_id: str) -> str:
        key = self.keyring.active()
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": account_id,
                  "sid": session_id, "jti": uuid.uuid4().hex, "iat": now,
                  "exp": now + self.lifetime}
        header = {"alg": ALGORITHM, "kid": key.kid, "typ": TOKEN_TYPE}
        return jwt.encode(header, claims, key.key, algorithms=[ALGORITHM])

    def verify(self, token: str) -> dict:
        """Return the claims of a valid token; raise ``Unauthenticated`` saying why."""
        try:
            decoded = jwt.decode(token, self._key_for, algorithms=[ALGORITHM])
        except UnknownKey as exc:
            raise Unauthenticated(
                f"access token is signed by unknown key {str(exc)[:40]!r}: log in "
                "again") from exc
        except (JoseError, ValueError, TypeError) as exc:
            raise Unauthenticated(
                "access token is malformed or its signature is invalid: send the "
                "access_token that login or refresh returned") from exc
        if decoded.header.get("typ") != TOKEN_TYPE:
            raise Unauthenticated(f"token type must be {TOKEN_TYPE!r}: send an "
                                  "access token, not another JWT")
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS, iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": AUDIENCE}, sub={"essential": True},
            sid={"essential": True}, exp={"essential": True}, iat={"essential": True})
        try:
            registry.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise Unauthenticated("access token expired: get a new one with the "
                                  "refresh token, or log in again") from exc
        except ClaimError as exc:
            raise Unauthenticated(f"access token has an invalid {exc.claim!r} claim "
                                  f"({exc.description}): log in again") from exc
        return decoded.claims

    def _key_for(self, token) -> OKPKey:
        kid = token.headers().get("kid")
        if not isinstance(kid, str):
            raise UnknownKey(repr(kid))
        return self.keyring.find(kid).key

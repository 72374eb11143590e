"""Per-city signing keys, generated on first use and kept in the badges database.

Each city has two key pairs in use: RSA 2048 for Open Badges 2.0 signed
assertions (RS256, the algorithm OB 2.0 verifiers implement) and Ed25519 for
Open Badges 3.0 VC-JWTs (EdDSA). Every issuer of the city signs with the city's
keys; the issuer profiles list them and the JWKS publishes their public halves.

Private keys are stored as encrypted PKCS#8 PEM (``BestAvailableEncryption``
of ``cryptography``) under the ``BADGES_KEY_PASSPHRASE`` setting.

A key is one generation of its algorithm. ``rotate`` adds the next generation,
which signs from then on, and marks the previous one retired: a retired key
stays published, so the badges it signed still verify. ``revoke`` marks a key
compromised: the hosted key documents then carry the revocation date and
reason, and verifiers reject its signatures. Revoking the key in use rotates
first.
"""

import logging
import threading
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone

from joserfc import jws, jwt
from joserfc.jwk import OKPKey, RSAKey
from joserfc.util import to_bytes
from pymongo.errors import DuplicateKeyError

from cities_common import keycrypt
from cities_common.keycrypt import ENCRYPTION, KeyConfigurationError

logger = logging.getLogger(__name__)

RS256 = "RS256"
EDDSA = "EdDSA"
ALGORITHMS = (RS256, EDDSA)
PASSPHRASE_SETTING = "BADGES_KEY_PASSPHRASE"

# RFC 9864 deprecates "EdDSA" in favour of "Ed25519", and joserfc 1.8 warns on
# every use. OB 3.0 verifiers (PyJWT 2.x among them) accept only "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated")


def check_passphrase(passphrase: str | None) -> bytes:
    """Return the passphrase as bytes; raise ``KeyConfigurationError`` if unusable."""
    return keycrypt.check_passphrase(PASSPHRASE_SETTING, passphrase,
                                     "the badges service's signing keys",
                                     "var/badges-key-passphrase")


@dataclass(frozen=True)
class SigningKey:
    """One generation of a city key pair and its state.

    ``retired_at`` is set when a newer generation replaced it; ``revoked_at``
    and ``revocation_reason`` when an operator declared it compromised.
    """

    algorithm: str
    key_id: str
    key: object
    created_at: str
    generation: int = 1
    retired_at: str | None = None
    revoked_at: str | None = None
    revocation_reason: str | None = None

    @property
    def status(self) -> str:
        if self.revoked_at:
            return "revoked"
        return "retired" if self.retired_at else "active"

    def public_pem(self) -> str:
        return self.key.as_pem(private=False).decode()

    def public_jwk(self, kid: str) -> dict:
        """Return the public JWK with ``kid`` (the key's URL), ``alg`` and ``use``.

        A revoked key also carries ``revoked`` (its date) and
        ``revocation_reason``, members that JWK consumers ignore unless they know
        them, which is why the JWKS leaves revoked keys out.
        """
        jwk = {
            **self.key.as_dict(private=False),
            "kid": kid,
            "alg": self.algorithm,
            "use": "sig",
        }
        if self.revoked_at:
            jwk["revoked"] = self.revoked_at
            jwk["revocation_reason"] = self.revocation_reason or "no reason given"
        return jwk

    def summary(self) -> dict:
        """Describe the key for operators, without any key material."""
        return {
            "key_id": self.key_id,
            "algorithm": self.algorithm,
            "generation": self.generation,
            "status": self.status,
            "created_at": self.created_at,
            "retired_at": self.retired_at,
            "revoked_at": self.revoked_at,
            "revocation_reason": self.revocation_reason,
        }


def _generate(algorithm: str):
    if algorithm == RS256:
        return RSAKey.generate_key(2048, private=True)
    return OKPKey.generate_key("Ed25519", private=True)


def key_id_for(algorithm: str, key) -> str:
    """Derive a URL-safe key id from the RFC 7638 thumbprint, e.g. ``rs256-3kXy...``."""
    return f"{algorithm.lower()}-{key.thumbprint()[:22]}"


def encrypt_pem(key, passphrase: bytes) -> str:
    """Serialise a joserfc private key as PKCS#8 PEM encrypted under ``passphrase``."""
    return keycrypt.encrypt_private_key(key.private_key, passphrase)


def decrypt_pem(algorithm: str, pem: str, passphrase: bytes | None):
    """Load a private key PEM, encrypted or (``passphrase`` None) plain."""
    private = keycrypt.load_private_key(pem, passphrase)
    if algorithm == RS256:
        return RSAKey.import_key(private)
    return OKPKey.import_key(private)


def _document_id(city: str, algorithm: str, generation: int) -> str:
    # Generation 1 keeps the id that releases before rotation gave the only key.
    base = f"{city}:{algorithm}"
    return base if generation == 1 else f"{base}:{generation}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class KeyRing:
    """Create, rotate, revoke and load a city's keys in the ``signing_keys`` collection.

    Every call reads the key documents, so a rotation or revocation made by one
    process takes effect in every other at once. Only decrypted keys are cached,
    by document id. Two workers that create the same generation at once race on
    the document's ``_id``, and the loser uses the winner's key.
    """

    def __init__(self, collection, passphrase: str):
        self.collection = collection
        self._passphrase = check_passphrase(passphrase)
        self._decrypted: dict[str, object] = {}
        self._lock = threading.Lock()

    # Reading ---------------------------------------------------------------

    def key(self, city: str, algorithm: str) -> SigningKey:
        """Return the city's ``algorithm`` key in use, generating it on first use."""
        documents = self._documents(city, algorithm)
        if not documents:
            self._create(city, algorithm, 1)
            documents = self._documents(city, algorithm)
        newest = documents[-1]
        if newest.get("revoked_at"):
            # A revocation whose rotation did not finish: rotate now.
            self._create(city, algorithm, self._generation(newest) + 1)
            documents = self._documents(city, algorithm)
        return self._signing_key(documents[-1])

    def keys(self, city: str) -> list[SigningKey]:
        """Return every key of the city, oldest generation first, in use or not."""
        for algorithm in ALGORITHMS:
            self.key(city, algorithm)
        return [
            self._signing_key(document)
            for algorithm in ALGORITHMS
            for document in self._documents(city, algorithm)
        ]

    def published(self, city: str) -> list[SigningKey]:
        """Return the keys that verifiers should trust: every key but revoked ones."""
        return [key for key in self.keys(city) if not key.revoked_at]

    def find(self, city: str, key_id: str) -> SigningKey | None:
        """Return the key ``key_id`` of the city, revoked or not, or ``None``."""
        document = self.collection.find_one({"city": city, "key_id": key_id})
        return self._signing_key(document) if document else None

    # Changing --------------------------------------------------------------

    def rotate(self, city: str, algorithms=ALGORITHMS) -> list[SigningKey]:
        """Add the next generation of each algorithm, retire the previous; return them."""
        rotated = []
        for algorithm in algorithms:
            current = self.key(city, algorithm)
            self._create(city, algorithm, current.generation + 1)
            self.collection.update_one(
                {
                    "_id": _document_id(city, algorithm, current.generation),
                    "retired_at": {"$exists": False},
                },
                {"$set": {"retired_at": _now()}},
            )
            rotated.append(self.key(city, algorithm))
        logger.info(
            "rotated the signing keys of %s to %s",
            city,
            ", ".join(key.key_id for key in rotated),
        )
        return rotated

    def revoke(self, city: str, key_id: str, reason: str) -> SigningKey | None:
        """Mark a key compromised, rotating first when it is in use; ``None`` if unknown.

        Revoking a revoked key keeps the first date and reason.
        """
        signing_key = self.find(city, key_id)
        if signing_key is None:
            return None
        if not signing_key.retired_at:
            self.rotate(city, [signing_key.algorithm])
        result = self.collection.update_one(
            {"city": city, "key_id": key_id, "revoked_at": {"$exists": False}},
            {"$set": {"revoked_at": _now(), "revocation_reason": reason}},
        )
        if result.modified_count:
            logger.warning("revoked the signing key %s of %s", key_id, city)
        return self.find(city, key_id)

    def encrypt_stored_keys(self) -> int:
        """Encrypt keys stored as plain PEM and check the passphrase opens the rest.

        Safe to run on every start and from several processes at once, because
        each update applies only while the document still contains the plain
        PEM it read. Returns how many keys it encrypted; raises
        ``KeyConfigurationError`` when the passphrase opens no stored key.
        """
        encrypted = 0
        for document in list(self.collection.find({})):
            if document.get("encryption") == ENCRYPTION:
                self._signing_key(document)
                continue
            key = decrypt_pem(document["algorithm"], document["private_pem"], None)
            result = self.collection.update_one(
                {"_id": document["_id"], "private_pem": document["private_pem"]},
                {
                    "$set": {
                        "private_pem": encrypt_pem(key, self._passphrase),
                        "encryption": ENCRYPTION,
                        "generation": self._generation(document),
                    }
                },
            )
            encrypted += result.modified_count
        if encrypted:
            logger.info("encrypted %s signing keys stored unencrypted", encrypted)
        return encrypted

    # Internals -------------------------------------------------------------

    @staticmethod
    def _generation(document: dict) -> int:
        return int(document.get("generation", 1))

    def _documents(self, city: str, algorithm: str) -> list[dict]:
        documents = self.collection.find({"city": city, "algorithm": algorithm})
        return sorted(documents, key=self._generation)

    def _signing_key(self, document: dict) -> SigningKey:
        return SigningKey(
            algorithm=document["algorithm"],
            key_id=document["key_id"],
            key=self._private_key(document),
            created_at=document["created_at"],
            generation=self._generation(document),
            retired_at=document.get("retired_at"),
            revoked_at=document.get("revoked_at"),
            revocation_reason=document.get("revocation_reason"),
        )

    def _private_key(self, document: dict):
        cached = self._decrypted.get(document["_id"])
        if cached is not None:
            return cached
        encrypted = document.get("encryption") == ENCRYPTION
        try:
            key = decrypt_pem(
                document["algorithm"],
                document["private_pem"],
                self._passphrase if encrypted else None,
            )
        except (TypeError, ValueError) as exc:
            raise KeyConfigurationError(
                f"{PASSPHRASE_SETTING} does not decrypt the signing key "
                f"{document['key_id']} of {document['city']}: set the passphrase "
                "the keys were encrypted with"
            ) from exc
        with self._lock:
            self._decrypted[document["_id"]] = key
        return key

    def _create(self, city: str, algorithm: str, generation: int) -> None:
        key = _generate(algorithm)
        document = {
            "_id": _document_id(city, algorithm, generation),
            "city": city,
            "algorithm": algorithm,
            "generation": generation,
            "key_id": key_id_for(algorithm, key),
            "private_pem": encrypt_pem(key, self._passphrase),
            "encryption": ENCRYPTION,
            "created_at": _now(),
        }
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:
            return
        logger.info(
            "generated the %s signing key %s (generation %s) for %s",
            algorithm,
            document["key_id"],
            generation,
            city,
        )


def sign_jws(signing_key: SigningKey, payload: bytes, header: dict) -> str:
    """Sign ``payload`` as a compact JWS with the key's algorithm and ``header``."""
    protected = {**header, "alg": signing_key.algorithm}
    return jws.serialize_compact(
        protected,
        to_bytes(payload),
        signing_key.key,
        algorithms=[signing_key.algorithm],
    )


def sign_jwt(signing_key: SigningKey, claims: dict, header: dict) -> str:
    """Sign ``claims`` as a JWT; ``header`` sets ``typ`` and ``kid``."""
    protected = {**header, "alg": signing_key.algorithm}
    return jwt.encode(
        protected, claims, signing_key.key, algorithms=[signing_key.algorithm]
    )

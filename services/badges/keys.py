"""Per-city signing keys, generated on first use and kept in the badges database.

Each city has two key pairs: RSA 2048 for Open Badges 2.0 signed assertions
(RS256, the algorithm OB 2.0 verifiers implement) and Ed25519 for Open Badges 3.0
VC-JWTs (EdDSA). Every issuer of the city signs with the city's keys; the issuer
profiles list them and the JWKS publishes their public halves.
"""

import logging
import threading
import warnings
from datetime import datetime, timezone

from joserfc import jws, jwt
from joserfc.jwk import OKPKey, RSAKey
from joserfc.util import to_bytes
from pymongo.errors import DuplicateKeyError

logger = logging.getLogger(__name__)

RS256 = "RS256"
EDDSA = "EdDSA"
ALGORITHMS = (RS256, EDDSA)

# RFC 9864 deprecates "EdDSA" in favour of "Ed25519", and joserfc 1.8 warns on
# every use. OB 3.0 verifiers (PyJWT 2.x among them) accept only "EdDSA".
warnings.filterwarnings("ignore", message="EdDSA is deprecated")


class SigningKey:
    """One city key pair: its algorithm, its short id and the joserfc key."""

    def __init__(self, algorithm: str, key_id: str, key, created_at: str):
        self.algorithm = algorithm
        self.key_id = key_id
        self.key = key
        self.created_at = created_at

    def public_pem(self) -> str:
        return self.key.as_pem(private=False).decode()

    def public_jwk(self, kid: str) -> dict:
        """Return the public JWK with ``kid`` (the key's URL), ``alg`` and ``use``."""
        return {
            **self.key.as_dict(private=False),
            "kid": kid,
            "alg": self.algorithm,
            "use": "sig",
        }


def _generate(algorithm: str):
    if algorithm == RS256:
        return RSAKey.generate_key(2048, private=True)
    return OKPKey.generate_key("Ed25519", private=True)


def _import(algorithm: str, pem: str):
    if algorithm == RS256:
        return RSAKey.import_key(pem)
    return OKPKey.import_key(pem)


def key_id_for(algorithm: str, key) -> str:
    """Derive a URL-safe key id from the RFC 7638 thumbprint, e.g. ``rs256-3kXy...``."""
    return f"{algorithm.lower()}-{key.thumbprint()[:22]}"


class KeyRing:
    """Get or create a city's keys in the ``signing_keys`` collection.

    Two workers that create the same key at once race on the document's ``_id``;
    the loser reads the winner's key, so a city never has two active keys of one
    algorithm. Keys are cached in the process after the first read.
    """

    def __init__(self, collection):
        self.collection = collection
        self._cache: dict[tuple[str, str], SigningKey] = {}
        self._lock = threading.Lock()

    def key(self, city: str, algorithm: str) -> SigningKey:
        """Return the city's active ``algorithm`` key, generating it on first use."""
        cached = self._cache.get((city, algorithm))
        if cached is not None:
            return cached
        document = self.collection.find_one({"_id": f"{city}:{algorithm}"})
        if document is None:
            document = self._create(city, algorithm)
        signing_key = SigningKey(
            algorithm,
            document["key_id"],
            _import(algorithm, document["private_pem"]),
            document["created_at"],
        )
        with self._lock:
            self._cache[(city, algorithm)] = signing_key
        return signing_key

    def keys(self, city: str) -> list[SigningKey]:
        """Return the city's keys of every algorithm, creating any that is missing."""
        return [self.key(city, algorithm) for algorithm in ALGORITHMS]

    def find(self, city: str, key_id: str) -> SigningKey | None:
        for signing_key in self.keys(city):
            if signing_key.key_id == key_id:
                return signing_key
        return None

    def _create(self, city: str, algorithm: str) -> dict:
        key = _generate(algorithm)
        document = {
            "_id": f"{city}:{algorithm}",
            "city": city,
            "algorithm": algorithm,
            "key_id": key_id_for(algorithm, key),
            # NOTE: the private key is stored unencrypted; a production deployment
            # should wrap it with a key-management service before storing it.
            "private_pem": key.as_pem(private=True).decode(),
            "created_at": datetime.now(timezone.utc).isoformat(),
        }
        try:
            self.collection.insert_one(document)
        except DuplicateKeyError:
            return self.collection.find_one({"_id": document["_id"]})
        logger.info(
            "generated the %s signing key %s for %s",
            algorithm,
            document["key_id"],
            city,
        )
        return document


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

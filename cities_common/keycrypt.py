"""Private keys encrypted at rest under a passphrase from the service's settings.

The badges service (badge signing keys) and the identity service (access-token
signing keys) store their private keys as PKCS#8 PEM encrypted with
``cryptography``'s ``BestAvailableEncryption``, so a copy of the database alone
cannot sign anything. Each service has its own passphrase setting.
"""

from cryptography.hazmat.primitives import serialization

MIN_PASSPHRASE_LENGTH = 16
# The value of a key document's ``encryption`` field once its PEM is encrypted.
ENCRYPTION = "pkcs8-best-available"


class KeyConfigurationError(Exception):
    """The key passphrase is missing, too short, or does not decrypt a stored key."""


def check_passphrase(setting: str, passphrase: str | None, purpose: str,
                     kept_in: str) -> bytes:
    """Return the passphrase as bytes; raise ``KeyConfigurationError`` if unusable.

    ``purpose`` names what the passphrase encrypts and ``kept_in`` where
    ``deploy/up`` keeps a generated one, for the error message.
    """
    if not passphrase:
        raise KeyConfigurationError(
            f"{setting} is not set: it encrypts {purpose}. Set it to a random "
            f"secret of at least {MIN_PASSPHRASE_LENGTH} characters (deploy/up keeps "
            f"one in {kept_in}) and keep it: keys stored under one passphrase "
            "cannot be read with another")
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise KeyConfigurationError(
            f"{setting} has {len(passphrase)} characters: use at least "
            f"{MIN_PASSPHRASE_LENGTH}")
    return passphrase.encode()


def encrypt_private_key(private_key, passphrase: bytes) -> str:
    """Serialise a ``cryptography`` private key as PEM encrypted under ``passphrase``."""
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    ).decode()


def load_private_key(pem: str, passphrase: bytes | None):
    """Load a private key PEM, encrypted or (``passphrase`` None) plain.

    Raises ``ValueError`` or ``TypeError`` when the passphrase does not fit.
    """
    return serialization.load_pem_private_key(pem.encode(), passphrase)

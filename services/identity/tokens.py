"""Opaque secrets: single-use e-mail tokens, refresh tokens and API keys.

Only the SHA-256 of each secret is stored, so a copy of the database cannot be
used to log in. The secrets carry 256 bits of randomness, so an unsalted fast
hash is enough, because no one can guess a secret that matches a stored hash.
"""

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timezone

API_KEY_PREFIX = "col"
API_KEY_PREFIX_LENGTH = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


def utc_now() -> datetime:
    """Return the time as pymongo returns stored dates: UTC without tzinfo."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def iso(moment: datetime) -> str:
    """Format a UTC ``datetime`` (with or without tzinfo) as ISO 8601 with +00:00."""
    return moment.replace(tzinfo=timezone.utc, microsecond=0).isoformat()


def new_token() -> str:
    """Return a URL-safe random secret of 32 bytes (43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """Return (key, prefix): ``col_<8 lowercase letters or digits>_<secret>``."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET)
                     for _ in range(API_KEY_PREFIX_LENGTH))
    return f"{API_KEY_PREFIX}_{prefix}_{new_token()}", prefix


def api_key_prefix(key: str) -> str | None:
    """Return the prefix of a well-formed API key, or None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    prefix, secret = parts[1], parts[2]
    if len(prefix) != API_KEY_PREFIX_LENGTH or any(c not in _PREFIX_ALPHABET
                                                    for c in prefix):
        return None
    return prefix if len(secret) >= 32 else None


def same_hash(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(token_hash(key), stored_hash)

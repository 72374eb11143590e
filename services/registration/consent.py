"""Guardian consent tokens: single-use, expiring, stored only as a SHA-256 hash.

A token is 256 random bits, URL-safe. Only the guardian's e-mail carries it (inside
the consent URL), so a copy of the database cannot be used to give consent. The API
takes it in request bodies, never in a URL path, so it stays out of access logs.
"""

import hashlib
import secrets
from datetime import datetime, timedelta

# How long a guardian has to answer a consent request.
DEFAULT_TTL = timedelta(hours=72)
MIN_TOKEN_CHARS = 20
MAX_TOKEN_CHARS = 100


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_plausible_token(token) -> bool:
    """Return True when ``token`` has the shape of a token this module makes."""
    return isinstance(token, str) and MIN_TOKEN_CHARS <= len(token) <= MAX_TOKEN_CHARS \
        and token.replace("-", "").replace("_", "").isalnum()


def consent_url(public_base_url: str, city: str, token: str) -> str:
    """Return the link e-mailed to the guardian.

    The token sits in the fragment, which browsers never send to a server, so it
    stays out of access logs. The gateway serves a script-free page at that path
    (``gateway/consent_page.py``), where the guardian types the token, shown as a
    code in the e-mail. A web front end may read the fragment and post the token
    to ``/v1/cities/<city>/guardian-consent`` instead.
    """
    return f"{public_base_url}/guardian-consent/{city}#token={token}"


def expiry(now: datetime, ttl: timedelta = DEFAULT_TTL) -> datetime:
    return now + ttl


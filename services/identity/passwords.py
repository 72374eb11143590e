"""Password hashing with Argon2id, and the password rules sign-up enforces.

The hasher's parameters are pinned to OWASP's minimum for Argon2id (19 MiB of
memory, 2 iterations, 1 lane), so an upgrade of argon2-cffi cannot change them
silently. A hash made with other parameters is replaced at the next login
(``needs_rehash``). Hashing takes about 30 ms on one core, so it runs in eventlet's
thread pool, where the C code releases the GIL and other greenthreads keep running.
"""

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from eventlet import tpool

MIN_LENGTH = 12
MAX_LENGTH = 128

HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32,
                        salt_len=16, type=Type.ID)

# The 20 most used passwords of NordPass's 2020 list ("Top 200 most common
# passwords"). All are shorter than MIN_LENGTH, so this list catches them
# repeated or padded with digits to reach the length, such as "123456123456".
COMMON_PASSWORDS = (
    "123456", "123456789", "picture1", "password", "12345678", "111111", "123123",
    "12345", "1234567890", "senha", "1234567", "qwerty", "abc123", "million2",
    "000000", "1234", "iloveyou", "aaron431", "password1", "qqww1122",
)

_dummy_hash: str | None = None


def hash_password(password: str) -> str:
    return tpool.execute(HASHER.hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return whether ``password`` matches; a malformed stored hash never matches."""
    try:
        return tpool.execute(HASHER.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return HASHER.check_needs_rehash(password_hash)


def verify_dummy(password: str) -> None:
    """Verify ``password`` against a random hash, so an unknown e-mail costs as
    much time as a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    verify_password(_dummy_hash, password)


def weakness(password: str) -> str | None:
    """Return why ``password`` is too weak, or None; the length is checked elsewhere."""
    if len(set(password)) == 1:
        return "repeats a single character: use a longer phrase or a password manager"
    lowered = password.lower()
    for common in COMMON_PASSWORDS:
        repeats = len(lowered) // len(common)
        if lowered == common * repeats:
            return "repeats a commonly used password: choose another"
        if len(common) >= 6 and lowered.startswith(common) \
                and lowered[len(common):].isdigit():
            return "is a commonly used password followed by digits: choose another"
    return None

"""Password hashing parameters and the rules for new passwords."""

import pytest
from argon2 import PasswordHasher

from services.identity import passwords
from services.identity.schemas import PasswordField

PINNED_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


def test_hash_uses_pinned_argon2id_parameters():
    assert passwords.hash_password("correct horse battery").startswith(PINNED_PREFIX)


def test_hash_is_salted():
    assert passwords.hash_password("same password!") != passwords.hash_password(
        "same password!")


def test_verify_accepts_right_password():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse battery") is True


def test_verify_rejects_wrong_password():
    stored = passwords.hash_password("correct horse battery")
    assert passwords.verify_password(stored, "correct horse batterz") is False


def test_verify_rejects_malformed_hash():
    assert passwords.verify_password("not-a-hash", "correct horse battery") is False


def test_hash_with_other_parameters_needs_rehash():
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    assert passwords.needs_rehash(weaker.hash("correct horse battery")) is True
    assert passwords.needs_rehash(passwords.hash_password("correct horse battery")) \
        is False


@pytest.mark.parametrize("password, reason", [
    ("aaaaaaaaaaaaaa", "repeats a single character"),
    ("123456123456", "repeats a commonly used password"),
    ("PasswordPassword", "repeats a commonly used password"),
    ("qwertyqwertyqwerty", "repeats a commonly used password"),
    ("password2024123", "commonly used password followed by digits"),
    ("123456789012", "commonly used password followed by digits"),
])
def test_weak_password_is_rejected(password, reason):
    assert reason in passwords.weakness(password)


@pytest.mark.parametrize("password", [
    "correct horse battery staple", "Tr0ub4dor&3-extended", "password-manager-xyz",
])
def test_reasonable_password_is_accepted(password):
    assert passwords.weakness(password) is None


@pytest.mark.parametrize("length, accepted", [
    (11, False), (12, True), (128, True), (129, False),
])
def test_password_length_limits(length, accepted):
    candidate = ("abcdefghij" * 13)[:length]
    field = PasswordField()
    if accepted:
        assert field.deserialize(candidate) == candidate
    else:
        with pytest.raises(Exception, match=f"has {length}"):
            field.deserialize(candidate)

"""Signing keys: encryption at rest, the start-up migration, rotation and revocation.

The keys live in a mongomock collection; the verifier checks badges through
``Hosting``, as in ``test_verify``.
"""

import json
from types import SimpleNamespace
from unittest import mock

import mongomock
import pytest
from joserfc.jwk import RSAKey
from nameko.testing.services import worker_factory

from cities_common.errors import InvalidInput, NotFound
from cities_common.tenancy import CityRegistry
from services.badges import keys_cli

from services.badges.keys import (
    EDDSA,
    ENCRYPTION,
    RS256,
    KeyConfigurationError,
    KeyRing,
)
from services.badges.service import BadgesService
from services.badges.storage import BadgeDatabase, BadgeStore
from tests.unit.badges.conftest import BASE_URL
from tests.unit.badges.fakes import PASSPHRASE


@pytest.fixture
def collection():
    return mongomock.MongoClient().badges.signing_keys


def plain_key_document(city: str) -> dict:
    """A key stored the way releases before encryption stored it."""
    key = RSAKey.generate_key(2048, private=True)
    return {
        "_id": f"{city}:{RS256}",
        "city": city,
        "algorithm": RS256,
        "key_id": f"rs256-{key.thumbprint()[:22]}",
        "private_pem": key.as_pem(private=True).decode(),
        "created_at": "2026-01-01T00:00:00+00:00",
    }


@pytest.mark.parametrize("passphrase", [None, "", "short"])
def test_keyring_rejects_missing_passphrase(collection, passphrase):
    with pytest.raises(KeyConfigurationError, match="BADGES_KEY_PASSPHRASE"):
        KeyRing(collection, passphrase)


def test_keyring_stores_encrypted_pem(collection):
    KeyRing(collection, PASSPHRASE).keys("chicago")
    documents = list(collection.find({}))
    assert len(documents) == 2
    for document in documents:
        assert document["encryption"] == ENCRYPTION
        assert document["private_pem"].startswith(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----"
        )


def test_keyring_reads_keys_of_another_process(collection):
    first = KeyRing(collection, PASSPHRASE).key("chicago", EDDSA)
    second = KeyRing(collection, PASSPHRASE).key("chicago", EDDSA)
    assert second.key_id == first.key_id
    assert second.public_pem() == first.public_pem()


def test_keyring_wrong_passphrase_names_setting(collection):
    KeyRing(collection, PASSPHRASE).key("chicago", EDDSA)
    other = KeyRing(collection, "another-passphrase-entirely")
    with pytest.raises(KeyConfigurationError, match="does not decrypt"):
        other.key("chicago", EDDSA)
    with pytest.raises(KeyConfigurationError, match="BADGES_KEY_PASSPHRASE"):
        other.encrypt_stored_keys()


def test_plain_keys_encrypted_once(collection):
    plain = plain_key_document("dallas")
    collection.insert_one(dict(plain))
    ring = KeyRing(collection, PASSPHRASE)

    assert ring.encrypt_stored_keys() == 1
    assert ring.encrypt_stored_keys() == 0

    stored = collection.find_one({"_id": plain["_id"]})
    assert stored["encryption"] == ENCRYPTION
    assert stored["generation"] == 1
    assert "BEGIN PRIVATE KEY" not in stored["private_pem"]
    migrated = KeyRing(collection, PASSPHRASE).key("dallas", RS256)
    assert migrated.key_id == plain["key_id"]
    assert migrated.public_pem() == RSAKey.import_key(plain["private_pem"]).as_pem(
        private=False
    ).decode()


def test_rotation_signs_with_new_key(collection):
    ring = KeyRing(collection, PASSPHRASE)
    before = {key.algorithm: key for key in ring.keys("chicago")}
    rotated = ring.rotate("chicago")
    assert {key.algorithm for key in rotated} == {RS256, EDDSA}
    for key in rotated:
        assert key.generation == 2
        assert key.key_id != before[key.algorithm].key_id
        assert ring.key("chicago", key.algorithm).key_id == key.key_id
    statuses = {key.key_id: key.status for key in ring.keys("chicago")}
    assert [statuses[key.key_id] for key in before.values()] == ["retired", "retired"]
    assert len(ring.published("chicago")) == 4


def test_rotation_of_one_algorithm(collection):
    ring = KeyRing(collection, PASSPHRASE)
    eddsa = ring.key("chicago", EDDSA)
    ring.rotate("chicago", [RS256])
    assert ring.key("chicago", EDDSA).key_id == eddsa.key_id
    assert ring.key("chicago", RS256).generation == 2


def test_rotation_stays_in_city(collection):
    ring = KeyRing(collection, PASSPHRASE)
    dallas = ring.key("dallas", EDDSA)
    ring.rotate("chicago")
    assert ring.key("dallas", EDDSA).key_id == dallas.key_id


def test_revoking_key_in_use_rotates(collection):
    ring = KeyRing(collection, PASSPHRASE)
    compromised = ring.key("chicago", EDDSA)
    revoked = ring.revoke("chicago", compromised.key_id, "Key file leaked")
    assert revoked.status == "revoked"
    assert revoked.revocation_reason == "Key file leaked"
    assert ring.key("chicago", EDDSA).key_id != compromised.key_id
    published = {key.key_id for key in ring.published("chicago")}
    assert compromised.key_id not in published


def test_revoking_twice_keeps_first_reason(collection):
    ring = KeyRing(collection, PASSPHRASE)
    key_id = ring.key("chicago", RS256).key_id
    ring.revoke("chicago", key_id, "First reason")
    again = ring.revoke("chicago", key_id, "Second reason")
    assert again.revocation_reason == "First reason"
    assert ring.key("chicago", RS256).generation == 2


def test_revoking_unknown_key_returns_none(collection):
    ring = KeyRing(collection, PASSPHRASE)
    assert ring.revoke("chicago", "rs256-unknown", "Leaked") is None
    assert ring.revoke("dallas", ring.key("chicago", RS256).key_id, "Leaked") is None


# Through the hosted documents and the verifier ----------------------------------


def test_badges_signed_before_rotation_verify(platform, issued):
    hosting = platform["hosting"]
    credential = hosting.credential(issued["id"])
    signed = hosting.signed_assertion(issued["id"])
    platform["store"].keyring.rotate("chicago")

    for token in (credential, signed):
        report = platform["verifier"].verify(token)
        assert report["valid"], report
    assert hosting.credential(issued["id"]) != credential
    assert platform["verifier"].verify(hosting.credential(issued["id"]))["valid"]


def test_rotated_keys_stay_published(platform):
    hosting = platform["hosting"]
    keyring = platform["store"].keyring
    old = keyring.key("chicago", EDDSA)
    keyring.rotate("chicago")
    kids = [key["kid"] for key in hosting.jwks()["keys"]]
    assert platform["urls"].jwk(old.key_id) in kids
    assert len(kids) == 4
    assert "revoked" not in hosting.jwk(old.key_id)


def test_revoked_key_fails_verification_with_reason(platform, issued):
    hosting = platform["hosting"]
    keyring = platform["store"].keyring
    credential = hosting.credential(issued["id"])
    signed = hosting.signed_assertion(issued["id"])
    for algorithm in (EDDSA, RS256):
        key_id = keyring.key("chicago", algorithm).key_id
        keyring.revoke("chicago", key_id, "Key file leaked")

    for token in (credential, signed):
        report = platform["verifier"].verify(token)
        assert not report["valid"]
        assert report["failed_check"] == "key"
        assert "was revoked on" in report["reason"]
        assert "Key file leaked" in report["reason"]
    report = platform["verifier"].verify(hosting.credential(issued["id"]))
    assert report["valid"], report


def test_revoked_key_documents_marked(platform, issued):
    hosting = platform["hosting"]
    keyring = platform["store"].keyring
    key_id = keyring.key("chicago", RS256).key_id
    keyring.revoke("chicago", key_id, "Key file leaked")
    document = hosting.cryptographic_key(issued["issuer_id"], key_id)
    assert document["revocationReason"] == "Key file leaked"
    assert document["revoked"]
    issuer = hosting.issuer_document(issued["issuer_id"])
    assert document["id"] not in issuer["publicKey"]
    assert hosting.jwk(key_id)["revocation_reason"] == "Key file leaked"
    assert platform["urls"].jwk(key_id) not in [
        key["kid"] for key in hosting.jwks()["keys"]
    ]


# Start-up and the operator RPCs ---------------------------------------------------


def test_service_start_without_passphrase_fails(monkeypatch):
    monkeypatch.delenv("BADGES_KEY_PASSPHRASE", raising=False)
    provider = BadgeDatabase()
    provider.container = SimpleNamespace(
        config={"MONGO_URL": "mongodb://127.0.0.1:9/"}, service_name="badges"
    )
    with pytest.raises(KeyConfigurationError, match="BADGES_KEY_PASSPHRASE is not set"):
        provider.setup()


@pytest.fixture
def operator_worker():
    store = BadgeStore(mongomock.MongoClient().badges, PASSPHRASE)
    worker = worker_factory(
        BadgesService, store=store, config={"PUBLIC_BASE_URL": BASE_URL}
    )
    worker.tenant = mock.Mock(city="chicago")
    return worker


def test_rotate_rpc_lists_keys_without_secrets(operator_worker):
    before = operator_worker.signing_keys()["keys"]
    after = operator_worker.rotate_signing_keys({"algorithms": ["EdDSA"]})["keys"]
    assert [key["status"] for key in before] == ["active", "active"]
    statuses = sorted((key["algorithm"], key["status"]) for key in after)
    assert statuses == [("EdDSA", "active"), ("EdDSA", "retired"), ("RS256", "active")]
    for key in after:
        assert "private_pem" not in key
        assert key["url"].startswith(f"{BASE_URL}/v1/cities/chicago/badges/keys/")


def test_rotate_rpc_rejects_unknown_algorithm(operator_worker):
    with pytest.raises(InvalidInput) as caught:
        operator_worker.rotate_signing_keys({"algorithms": ["HS256"]})
    assert "algorithms" in caught.value.errors


def test_revoke_rpc_unknown_key_not_found(operator_worker):
    with pytest.raises(NotFound, match="rs256-unknown"):
        operator_worker.revoke_signing_key("rs256-unknown", {"reason": "Leaked"})


def test_revoke_rpc_needs_reason(operator_worker):
    key_id = operator_worker.signing_keys()["keys"][0]["key_id"]
    with pytest.raises(InvalidInput) as caught:
        operator_worker.revoke_signing_key(key_id, {})
    assert "reason" in caught.value.errors


def test_revoke_rpc_reports_revoked_key(operator_worker):
    key_id = operator_worker.signing_keys()["keys"][0]["key_id"]
    result = operator_worker.revoke_signing_key(key_id, {"reason": "Leaked"})
    assert result["revoked"]["key_id"] == key_id
    assert result["revoked"]["status"] == "revoked"
    assert len(result["keys"]) == 3


# The command line ------------------------------------------------------------------


@pytest.fixture
def cli_database(monkeypatch):
    monkeypatch.setenv("BADGES_KEY_PASSPHRASE", PASSPHRASE)
    database = mongomock.MongoClient().badges
    CityRegistry(database).add({"slug": "chicago", "name": "Chicago"})
    return database


def cli_reply(capsys, database, *argv) -> tuple[int, dict | str]:
    code = keys_cli.main(list(argv), database=database)
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else captured.err)


def test_cli_rotates_one_algorithm(capsys, cli_database):
    code, before = cli_reply(capsys, cli_database, "list", "--city", "chicago")
    assert code == 0
    code, after = cli_reply(
        capsys, cli_database, "rotate", "--city", "chicago", "--algorithm", "EdDSA"
    )
    assert code == 0
    statuses = sorted((key["algorithm"], key["status"]) for key in after["keys"])
    assert statuses == [("EdDSA", "active"), ("EdDSA", "retired"), ("RS256", "active")]
    assert len(before["keys"]) == 2


def test_cli_revokes_key(capsys, cli_database):
    _, listed = cli_reply(capsys, cli_database, "list", "--city", "chicago")
    key_id = listed["keys"][0]["key_id"]
    code, reply = cli_reply(
        capsys, cli_database, "revoke", "--city", "chicago", "--key-id", key_id,
        "--reason", "Leaked",
    )
    assert code == 0
    assert reply["revoked"]["status"] == "revoked"


@pytest.mark.parametrize(
    "argv, message",
    [
        (("list", "--city", "gotham"), "gotham"),
        (("revoke", "--city", "chicago", "--key-id", "rs256-x", "--reason", "r"),
         "rs256-x"),
    ],
)
def test_cli_reports_unknown_city_or_key(capsys, cli_database, argv, message):
    code, error = cli_reply(capsys, cli_database, *argv)
    assert code == 1
    assert message in error


def test_cli_without_passphrase_fails(capsys, cli_database, monkeypatch):
    monkeypatch.delenv("BADGES_KEY_PASSPHRASE")
    code, error = cli_reply(capsys, cli_database, "list", "--city", "chicago")
    assert code == 1
    assert "BADGES_KEY_PASSPHRASE is not set" in error

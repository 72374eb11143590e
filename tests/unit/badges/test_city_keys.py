"""Two cities using the same public ids, on the real ``BadgeStore`` over mongomock.

Each record is stored under ``<city>/<public id>``, so Chicago and Dallas can both
have an issuer ``city``, the same ``org-...`` issuer, badge class and playlist ids,
while URLs, documents and RPC results keep the bare public id.
"""

from unittest import mock

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common.errors import NotFound
from services.badges.service import BadgesService
from services.badges.storage import BadgeStore, record_key
from tests.unit.badges.conftest import BASE_URL
from tests.unit.badges.fakes import PASSPHRASE

CITIES = ("chicago", "dallas")
CLASS = {
    "id": "bc-maker",
    "issuer_id": "org-x",
    "name": "Maker",
    "description": "Builds and explains",
    "criteria": {"narrative": "Build a working robot and explain it"},
}
PLAYLIST = {
    "id": "pl-makers",
    "name": "Makers",
    "description": "Two maker programmes",
    "opportunity_ids": ["opp-1", "opp-2"],
    "badge_class_id": "bc-maker",
}


@pytest.fixture
def store():
    store = BadgeStore(mongomock.MongoClient().badges, PASSPHRASE)
    store.ensure_indexes()
    store.cities.add({"slug": "chicago", "name": "Chicago"})
    store.cities.add({"slug": "dallas", "name": "Dallas"})
    return store


@pytest.fixture
def workers(store):
    """One badges worker per city, sharing the store."""
    result = {}
    for city in CITIES:
        worker = worker_factory(
            BadgesService, store=store, config={"PUBLIC_BASE_URL": BASE_URL}
        )
        worker.tenant = mock.Mock(city=city)
        result[city] = worker
    return result


@pytest.fixture
def twins(workers):
    """The same issuer, class and playlist ids saved in each city, named by city."""
    for city, worker in workers.items():
        worker.save_issuer(
            {"id": "org-x", "name": f"X of {city}", "kind": "partner"}
        )
        worker.create_badge_class({**CLASS, "name": f"Maker in {city}"})
        worker.create_playlist({**PLAYLIST, "name": f"Makers of {city}"})
    return workers


def test_city_issuer_in_each_city(store, workers):
    for worker in workers.values():
        worker.list_issuers()
    assert store.get_issuer("chicago", "city")["name"] == "Chicago City of Learning"
    assert store.get_issuer("dallas", "city")["name"] == "Dallas City of Learning"


def test_city_issuer_stored_under_city_key(store, workers):
    workers["dallas"].list_issuers()
    stored = store.issuers.find_one({"_id": record_key("dallas", "city")})
    assert stored["city"] == "dallas"
    assert store.issuers.count_documents({"_id": "city"}) == 0


def test_same_issuer_id_saved_in_each_city(store, workers):
    for city, worker in workers.items():
        saved = worker.save_issuer(
            {"id": "org-x", "name": f"X of {city}", "kind": "partner"}
        )
        assert saved["created"] is True
        assert saved["id"] == "org-x"
    assert store.get_issuer("chicago", "org-x")["name"] == "X of chicago"
    assert store.get_issuer("dallas", "org-x")["name"] == "X of dallas"


def test_issuer_name_same_id_per_city(store, workers):
    request = {"name": "Robot Lab", "kind": "partner"}
    chicago = workers["chicago"].save_issuer({**request, "organization_id": "org-a"})
    dallas = workers["dallas"].save_issuer({**request, "organization_id": "org-b"})
    assert chicago["id"] == dallas["id"]
    assert chicago["id"].startswith("org-robot-lab-")
    assert dallas["created"] is True
    assert store.get_issuer("chicago", chicago["id"])["organization_id"] == "org-a"
    assert store.get_issuer("dallas", dallas["id"])["organization_id"] == "org-b"


def test_issuer_update_stays_in_its_city(store, twins):
    twins["dallas"].save_issuer({"id": "org-x", "name": "Renamed", "kind": "partner"})
    assert store.get_issuer("dallas", "org-x")["name"] == "Renamed"
    assert store.get_issuer("chicago", "org-x")["name"] == "X of chicago"


def test_each_city_lists_own_issuers(twins):
    for city, worker in twins.items():
        issuers = {item["id"]: item for item in worker.list_issuers()}
        assert sorted(issuers) == ["city", "org-x"]
        assert issuers["org-x"]["name"] == f"X of {city}"
        assert issuers["org-x"]["url_hosted"].endswith(
            f"/v1/cities/{city}/badges/issuers/org-x"
        )


def test_same_class_id_in_each_city(twins):
    for city, worker in twins.items():
        badge_class = worker.get_badge_class("bc-maker")
        assert badge_class["id"] == "bc-maker"
        assert badge_class["name"] == f"Maker in {city}"
        assert badge_class["url"].endswith(f"/v1/cities/{city}/badges/classes/bc-maker")
        listed = worker.list_badge_classes()
        assert [item["name"] for item in listed] == [f"Maker in {city}"]


def test_class_edit_versions_stay_in_city(store, twins):
    edit = {k: v for k, v in CLASS.items() if k not in ("id", "issuer_id")}
    twins["dallas"].update_badge_class(
        "bc-maker", {**edit, "name": "Maker v2", "expected_version": 1}
    )
    assert store.get_badge_class("dallas", "bc-maker")["version"] == 2
    assert store.get_badge_class("chicago", "bc-maker")["version"] == 1
    assert store.get_badge_class_version("chicago", "bc-maker", 2) is None
    first = store.get_badge_class_version("dallas", "bc-maker", 1)
    assert first["id"] == "bc-maker"
    assert first["name"] == "Maker in dallas"


def test_same_playlist_id_in_each_city(twins):
    for city, worker in twins.items():
        playlist = worker.get_playlist("pl-makers")
        assert playlist["id"] == "pl-makers"
        assert playlist["name"] == f"Makers of {city}"
        listed = worker.list_playlists()
        assert [item["name"] for item in listed] == [f"Makers of {city}"]


def test_hosted_documents_keep_public_ids(twins):
    for city, worker in twins.items():
        hosting = worker.hosting(city)
        issuer = hosting.issuer_document("org-x")
        badge_class = hosting.badge_class_document("bc-maker")
        assert issuer["id"] == f"{BASE_URL}/v1/cities/{city}/badges/issuers/org-x"
        assert issuer["name"] == f"X of {city}"
        assert badge_class["issuer"] == issuer["id"]


def test_awards_stay_in_city(twins):
    award = {
        "badge_class_id": "bc-maker",
        "youth_id": "yth-1",
        "opportunity_id": "opp-1",
        "award_id": "award-1",
        "awarded_by": {"name": "Ms Rivera"},
    }
    chicago = twins["chicago"].award_badge(award)
    dallas = twins["dallas"].award_badge(award)
    assert chicago["assertion_id"] != dallas["assertion_id"]
    assert dallas["created"] is True
    listed = twins["dallas"].list_badges("yth-1")
    assert [item["id"] for item in listed] == [dallas["assertion_id"]]
    with pytest.raises(NotFound):
        twins["chicago"].get_assertion(dallas["assertion_id"])


def test_issued_event_keeps_public_ids(store, twins):
    award = {
        "badge_class_id": "bc-maker",
        "youth_id": "yth-1",
        "opportunity_id": "opp-1",
        "awarded_by": {"name": "Ms Rivera"},
    }
    badge = twins["dallas"].award_badge(award)
    (event_type, city, data), _ = twins["dallas"].publish.call_args
    assert (event_type, city) == ("badge_issued", "dallas")
    assert data["assertion_id"] == badge["assertion_id"]
    assert data["badge_class_id"] == "bc-maker"
    assert data["assertion"]["badge"].endswith(
        "/v1/cities/dallas/badges/classes/bc-maker/versions/1"
    )
    assert store.get_assertion("dallas", badge["assertion_id"])["announced"] is True


def test_record_of_other_city_not_found(workers):
    workers["chicago"].save_issuer({"id": "org-y", "name": "Y", "kind": "partner"})
    with pytest.raises(NotFound):
        workers["dallas"].get_badge_class("bc-maker")
    assert "org-y" not in {item["id"] for item in workers["dallas"].list_issuers()}


def test_bare_ids_moved_to_city_keys(store):
    """Records stored under their public id alone move to their city's key."""
    store.issuers.insert_one({"_id": "city", "city": "chicago", "name": "Old"})
    store.playlists.insert_one({"_id": "pl-1", "city": "dallas", "name": "One"})
    store.ensure_indexes()
    store.ensure_indexes()
    assert store.get_issuer("chicago", "city")["name"] == "Old"
    assert store.get_playlist("dallas", "pl-1")["name"] == "One"
    assert store.issuers.count_documents({"_id": "city"}) == 0
    assert store.playlists.count_documents({}) == 1
    assert store.ensure_issuer({"id": "city", "city": "dallas", "name": "New"})

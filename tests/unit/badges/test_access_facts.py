"""The badges service's ``access_facts`` and issuer ownership.

The store is the real ``BadgeStore`` over mongomock, so the city filter of every
query and the owner condition of ``save_issuer`` run as written.
"""

from unittest import mock

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common.errors import Forbidden, InvalidInput, NotFound
from services.badges.service import BadgesService
from services.badges.storage import BadgeStore
from tests.unit.badges.conftest import BASE_URL
from tests.unit.badges.fakes import PASSPHRASE

LAB = "org-robot-lab"
ROBOTS = {
    "id": "robots",
    "name": "Robot Lab",
    "kind": "partner",
    "organization_id": LAB,
}
ACME = {"id": "acme", "name": "Acme", "kind": "employer", "organization_id": "org-acme"}
CLASS = {
    "id": "bc-maker",
    "issuer_id": "robots",
    "name": "Maker",
    "description": "Builds and explains",
    "criteria": {"narrative": "Build a working robot and explain it"},
}
AWARD = {
    "badge_class_id": "bc-maker",
    "youth_id": "yth-1",
    "opportunity_id": "opp-9",
    "award_id": "award-1",
    "awarded_by": {"name": "Ms Rivera"},
}
PLAYLIST = {
    "id": "pl-makers",
    "name": "Makers",
    "description": "Two maker programmes",
    "opportunity_ids": ["opp-1", "opp-2"],
}


@pytest.fixture
def store():
    store = BadgeStore(mongomock.MongoClient().badges, PASSPHRASE)
    store.ensure_indexes()
    store.cities.add({"slug": "chicago", "name": "Chicago"})
    return store


def badges_worker(store, city):
    worker = worker_factory(
        BadgesService, store=store, config={"PUBLIC_BASE_URL": BASE_URL}
    )
    worker.tenant = mock.Mock(city=city)
    return worker


@pytest.fixture
def chicago(store):
    return badges_worker(store, "chicago")


@pytest.fixture
def records(chicago):
    """One record of each kind in Chicago, owned by the Robot Lab; ids by kind."""
    chicago.save_issuer(ROBOTS)
    chicago.save_issuer(ACME)
    chicago.create_badge_class(CLASS)
    badge = chicago.award_badge(AWARD)
    chicago.create_playlist(
        {**PLAYLIST, "organization_id": LAB, "badge_class_id": "bc-maker"}
    )
    endorsement = chicago.endorse(
        {"endorser_id": "acme", "badge_class_id": "bc-maker", "comment": "Useful"}
    )
    return {
        "issuer": "robots",
        "badge_class": "bc-maker",
        "assertion": badge["assertion_id"],
        "playlist": "pl-makers",
        "endorsement": endorsement["id"].rsplit("/", 1)[-1],
    }


def test_access_facts_issuer(chicago, records):
    assert chicago.access_facts("issuer", "robots") == {
        "issuer_id": "robots",
        "organization_id": LAB,
        "kind": "partner",
    }


def test_access_facts_city_issuer_unowned(chicago):
    assert chicago.access_facts("issuer", "city") == {
        "issuer_id": "city",
        "organization_id": None,
        "kind": "city",
    }


def test_access_facts_badge_class(chicago, records):
    assert chicago.access_facts("badge_class", "bc-maker") == {
        "badge_class_id": "bc-maker",
        "issuer_id": "robots",
        "organization_id": LAB,
    }


def test_access_facts_assertion(chicago, records):
    assert chicago.access_facts("assertion", records["assertion"]) == {
        "assertion_id": records["assertion"],
        "youth_id": "yth-1",
        "badge_class_id": "bc-maker",
        "issuer_id": "robots",
        "organization_id": LAB,
    }


def test_access_facts_playlist(chicago, records):
    assert chicago.access_facts("playlist", "pl-makers") == {
        "playlist_id": "pl-makers",
        "organization_id": LAB,
    }


def test_access_facts_city_playlist_unowned(chicago):
    chicago.create_playlist(PLAYLIST)
    facts = chicago.access_facts("playlist", "pl-makers")
    assert facts == {"playlist_id": "pl-makers", "organization_id": None}


def test_access_facts_endorsement(chicago, records):
    assert chicago.access_facts("endorsement", records["endorsement"]) == {
        "endorsement_id": records["endorsement"],
        "endorser_id": "acme",
        "organization_id": "org-acme",
    }


def test_access_facts_class_follows_issuer_owner(chicago):
    chicago.save_issuer({**ROBOTS, "organization_id": None})
    chicago.create_badge_class(CLASS)
    assert chicago.access_facts("badge_class", "bc-maker")["organization_id"] is None

    chicago.save_issuer(ROBOTS)

    assert chicago.access_facts("badge_class", "bc-maker")["organization_id"] == LAB


@pytest.mark.parametrize(
    "kind", ["issuer", "badge_class", "assertion", "playlist", "endorsement"]
)
def test_access_facts_unknown_record_not_found(chicago, records, kind):
    with pytest.raises(NotFound) as caught:
        chicago.access_facts(kind, "missing-1")
    assert "'missing-1' not found in chicago" in str(caught.value)


@pytest.mark.parametrize(
    "kind", ["issuer", "badge_class", "assertion", "playlist", "endorsement"]
)
def test_access_facts_other_city_not_found(store, records, kind):
    dallas = badges_worker(store, "dallas")
    with pytest.raises(NotFound) as caught:
        dallas.access_facts(kind, records[kind])
    assert "not found in dallas" in str(caught.value)


@pytest.mark.parametrize("kind", [None, "", "youth", "Issuer", ["issuer"]])
def test_access_facts_rejects_kind(chicago, kind):
    with pytest.raises(InvalidInput) as caught:
        chicago.access_facts(kind, "robots")
    assert list(caught.value.errors) == ["kind"]
    assert "issuer, badge_class, assertion, playlist, endorsement" in str(caught.value)


@pytest.mark.parametrize("record_id", [None, "", 7, "x" * 101])
def test_access_facts_rejects_record_id(chicago, record_id):
    with pytest.raises(InvalidInput) as caught:
        chicago.access_facts("issuer", record_id)
    assert list(caught.value.errors) == ["record_id"]


def test_issuer_owner_cannot_change(chicago, store):
    chicago.save_issuer(ROBOTS)
    with pytest.raises(Forbidden) as caught:
        chicago.save_issuer({**ROBOTS, "organization_id": "org-other"})
    assert "belongs to organisation org-robot-lab" in str(caught.value)
    assert store.get_issuer("chicago", "robots")["organization_id"] == LAB


def test_issuer_save_without_owner_keeps_it(chicago, store):
    chicago.save_issuer(ROBOTS)
    saved = chicago.save_issuer({**ROBOTS, "organization_id": None, "name": "Robots"})
    assert saved["created"] is False
    assert saved["organization_id"] == LAB
    assert store.get_issuer("chicago", "robots")["name"] == "Robots"


def test_issuer_unowned_takes_first_owner(chicago):
    chicago.save_issuer({**ROBOTS, "organization_id": None})
    saved = chicago.save_issuer(ROBOTS)
    assert saved["organization_id"] == LAB
    assert chicago.access_facts("issuer", "robots")["organization_id"] == LAB


def test_issuer_store_keeps_other_owner(store):
    store.save_issuer({**ROBOTS, "city": "chicago"})
    other = {**ROBOTS, "city": "chicago", "name": "Mine", "organization_id": "org-x"}
    assert store.save_issuer(other) is None
    stored = store.get_issuer("chicago", "robots")
    assert stored["organization_id"] == LAB
    assert stored["name"] == "Robot Lab"


def test_issuer_id_reused_by_other_city(store, chicago):
    chicago.save_issuer(ROBOTS)
    saved = badges_worker(store, "dallas").save_issuer(
        {**ROBOTS, "name": "Dallas Robots", "organization_id": "org-dallas"}
    )
    assert saved["created"] is True
    assert saved["organization_id"] == "org-dallas"
    assert store.get_issuer("chicago", "robots")["organization_id"] == LAB
    assert store.get_issuer("chicago", "robots")["name"] == "Robot Lab"


def test_city_issuer_rejects_organization(chicago):
    with pytest.raises(InvalidInput) as caught:
        chicago.save_issuer(
            {"id": "city", "name": "Chicago", "kind": "city", "organization_id": LAB}
        )
    assert "organization_id" in caught.value.errors


@pytest.mark.parametrize(
    "issuer",
    [{**ROBOTS, "organization_id": "org-other"}, {**ROBOTS, "organization_id": None}],
)
def test_playlist_rejects_class_of_other_owner(chicago, issuer):
    chicago.save_issuer(issuer)
    chicago.create_badge_class(CLASS)
    with pytest.raises(Forbidden) as caught:
        chicago.create_playlist(
            {**PLAYLIST, "organization_id": LAB, "badge_class_id": "bc-maker"}
        )
    assert "badge_class_id" in str(caught.value)
    assert chicago.store.get_playlist("chicago", "pl-makers") is None

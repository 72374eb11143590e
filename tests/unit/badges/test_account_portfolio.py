"""``account_portfolio``: one person's badges from every city they had a profile in.

Runs on the real ``BadgeStore`` over mongomock with three cities: the youth
earned a badge in Chicago, moved to Dallas and earned another there.
"""

from unittest import mock

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common.errors import InvalidInput
from services.badges.service import BadgesService
from services.badges.storage import BadgeStore
from tests.unit.badges.conftest import BASE_URL
from tests.unit.badges.fakes import PASSPHRASE

CLASS = {
    "id": "bc-explorer",
    "issuer_id": "city",
    "name": "Explorer",
    "description": "Explored the libraries",
    "criteria": {"narrative": "Visit three libraries"},
}


@pytest.fixture
def store():
    store = BadgeStore(mongomock.MongoClient().badges, PASSPHRASE)
    store.ensure_indexes()
    for slug in ("chicago", "dallas", "pittsburgh"):
        store.cities.add({"slug": slug, "name": slug.title()})
    return store


def worker_in(store, city):
    worker = worker_factory(
        BadgesService, store=store, config={"PUBLIC_BASE_URL": BASE_URL}
    )
    worker.tenant = mock.Mock(city=city, registry=store.cities)
    return worker


@pytest.fixture
def moved(store):
    """Badges of yth-chi in Chicago and yth-dal in Dallas; another youth in Dallas."""
    badges = {}
    for city, youth_id in (("chicago", "yth-chi"), ("dallas", "yth-dal")):
        worker = worker_in(store, city)
        worker.create_badge_class({**CLASS, "name": f"Explorer of {city}"})
        badges[city] = worker.award_badge(
            {
                "badge_class_id": "bc-explorer",
                "youth_id": youth_id,
                "opportunity_id": "opp-1",
                "awarded_by": {"name": "Ms Rivera"},
            }
        )
    worker_in(store, "dallas").award_badge(
        {
            "badge_class_id": "bc-explorer",
            "youth_id": "yth-other",
            "opportunity_id": "opp-1",
            "awarded_by": {"name": "Ms Rivera"},
        }
    )
    return badges


PROFILES = [
    {"city": "chicago", "youth_id": "yth-chi"},
    {"city": "dallas", "youth_id": "yth-dal"},
]


def test_account_portfolio_gathers_cities(store, moved):
    result = worker_in(store, None).account_portfolio(PROFILES)
    assert [item["city"] for item in result["profiles"]] == ["chicago", "dallas"]
    held = {(badge["city"], badge["assertion_id"]) for badge in result["badges"]}
    assert held == {
        ("chicago", moved["chicago"]["assertion_id"]),
        ("dallas", moved["dallas"]["assertion_id"]),
    }
    names = {badge["city"]: badge["name"] for badge in result["badges"]}
    assert names == {"chicago": "Explorer of chicago", "dallas": "Explorer of dallas"}
    assert result["skipped"] == []


def test_account_portfolio_keeps_city_urls(store, moved):
    result = worker_in(store, None).account_portfolio(PROFILES)
    for badge in result["badges"]:
        assert badge["issuer"]["url"].startswith(
            f"{BASE_URL}/v1/cities/{badge['city']}/badges/issuers/"
        )
    record_urls = [item["record_url"] for item in result["profiles"]]
    assert record_urls == [
        f"{BASE_URL}/v1/cities/chicago/youth/yth-chi/record",
        f"{BASE_URL}/v1/cities/dallas/youth/yth-dal/record",
    ]


def test_account_portfolio_keeps_archived_city(store, moved):
    store.cities.archive("chicago", "2026-06-01T00:00:00+00:00")
    result = worker_in(store, None).account_portfolio(PROFILES)
    archived = {item["city"]: item["archived"] for item in result["profiles"]}
    assert archived == {"chicago": True, "dallas": False}
    assert len(result["badges"]) == 2
    assert result["skipped"] == []


def test_account_portfolio_skips_unknown_city(store, moved):
    result = worker_in(store, None).account_portfolio(
        [*PROFILES, {"city": "springfield", "youth_id": "yth-spr"}])
    assert [item["city"] for item in result["skipped"]] == ["springfield"]
    assert "not onboarded" in result["skipped"][0]["reason"]


def test_account_portfolio_empty_without_profiles(store):
    result = worker_in(store, None).account_portfolio([])
    assert result == {"profiles": [], "badges": [], "skipped": []}


@pytest.mark.parametrize(
    "profiles",
    [
        None,
        {"city": "chicago", "youth_id": "yth-chi"},
        [{"city": "chicago"}],
        [{"city": "chicago", "youth_id": 7}],
        [{"city": "chicago", "youth_id": "y"}] * 51,
    ],
)
def test_account_portfolio_rejects_bad_profiles(store, profiles):
    with pytest.raises(InvalidInput) as caught:
        worker_in(store, None).account_portfolio(profiles)
    assert "profiles" in caught.value.errors

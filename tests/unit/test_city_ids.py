"""Two cities using the same source, opportunity and youth ids in the stores that
derive ``_id`` from them: catalog, registration and notifications, over mongomock.

Each store puts the city into the ``_id`` (a hash of it, or a ``<city>:`` prefix),
so one city's record never blocks or overwrites another's.
"""

from datetime import datetime, timezone

import mongomock

from services.catalog.storage import CREATED, CatalogStore
from services.notifications.mail import MailStore
from services.registration.storage import RegistrationStore

NOW = datetime(2026, 7, 1, tzinfo=timezone.utc)


def test_catalog_source_id_per_city():
    store = CatalogStore(mongomock.MongoClient().catalog)
    store.ensure_indexes()
    ids = {}
    for city in ("chicago", "dallas"):
        row = {"city": city, "source": "partner-feed", "source_id": "row-1",
               "title": f"Robotics in {city}"}
        outcome, stored, _ = store.upsert("opportunities", row)
        assert outcome == CREATED
        ids[city] = stored["id"]
    assert ids["chicago"] != ids["dallas"]
    for city, identifier in ids.items():
        listed = store.list("opportunities", city)
        assert [item["title"] for item in listed] == [f"Robotics in {city}"]
        assert store.get("opportunities", city, identifier)["city"] == city


def test_registration_rule_per_city():
    store = RegistrationStore(mongomock.MongoClient().registration)
    store.set_rule("chicago", "opp-1", {"min_sessions": 2}, None, NOW)
    store.set_rule("dallas", "opp-1", {"min_sessions": 5}, None, NOW)
    assert store.get_rule("chicago", "opp-1")["min_sessions"] == 2
    assert store.get_rule("dallas", "opp-1")["min_sessions"] == 5


def test_mail_contact_per_city():
    store = MailStore(mongomock.MongoClient().notifications)
    store.ensure_indexes()
    store.remember_contact("chicago", "yth-1", "a@example.org", "en")
    store.remember_contact("dallas", "yth-1", "b@example.org", "es")
    store.remember_opportunity("chicago", "opp-1", "Robotics")
    store.remember_opportunity("dallas", "opp-1", "Cooking")
    store.erase_youth("chicago", "yth-1", [])
    assert store.contact("chicago", "yth-1") is None
    assert store.contact("dallas", "yth-1")["address"] == "b@example.org"
    assert store.is_erased("chicago", "yth-1")
    assert not store.is_erased("dallas", "yth-1")
    assert store.opportunity_title("chicago", "opp-1") == "Robotics"
    assert store.opportunity_title("dallas", "opp-1") == "Cooking"

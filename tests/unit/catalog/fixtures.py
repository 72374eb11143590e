"""Fixtures for the catalog service: a real ``CatalogStore`` over mongomock's
in-memory MongoDB, and a publisher that checks each event against its contract."""

import json
from pathlib import Path

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common.context import WorkerContext
from cities_common.events import make_event
from services.catalog.service import CatalogService
from services.catalog.storage import CatalogStore

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"
CITY_FIELDS = ("slug", "name", "time_zone", "default_locale", "locales", "centre",
               "bbox", "service_area_margin_km", "branding")


class RecordingPublisher:
    """Stand-in for ``EventPublisher``: builds each envelope, so contracts are checked."""

    def __init__(self):
        self.events: list[dict] = []

    def __call__(self, event_type, city, data, event_id=None):
        envelope = make_event(event_type, city, data, event_id=event_id)
        self.events.append(envelope)
        return envelope

    def types(self) -> list[str]:
        return [event["event_type"] for event in self.events]


def seed_city(slug: str) -> dict:
    """Return a seed city of ``data/cities.json`` as an onboarding request."""
    with open(DATA_ROOT / "cities.json", encoding="utf-8") as handle:
        cities = {entry["slug"]: entry for entry in json.load(handle)}
    return {key: cities[slug][key] for key in CITY_FIELDS}


@pytest.fixture
def catalog_db() -> CatalogStore:
    store = CatalogStore(mongomock.MongoClient().catalog)
    store.ensure_indexes()
    return store


@pytest.fixture
def published() -> RecordingPublisher:
    """The events the catalog worker dispatched, as validated envelopes."""
    return RecordingPublisher()


@pytest.fixture
def catalog_for(catalog_db, published):
    """Return a function that builds a catalog worker for one city (or none)."""

    def build(city: str | None):
        return worker_factory(CatalogService, store=catalog_db, publish=published,
                              request=WorkerContext(city, "request-1"))

    return build


@pytest.fixture
def chicago(catalog_for):
    """A catalog worker for Chicago, onboarded with an administrator.

    ``chicago.admin_id`` is the administrator's account id, for acting as it.
    """
    worker = catalog_for("chicago")
    onboarded = worker.onboard_city({**seed_city("chicago"), "admin": {
        "email": "admin@chicago.example", "name": "Chicago Admin"}})
    worker.admin_id = onboarded["admin"]["id"]
    return worker

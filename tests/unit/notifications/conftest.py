"""A notifications store over mongomock, and a scripted sender."""

import mongomock
import pytest

from services.notifications.storage import NotificationStore
from services.notifications.transport import AttemptResult

CITY = {"slug": "chicago", "name": "Chicago", "time_zone": "America/Chicago",
        "default_locale": "en", "locales": ["en", "es"],
        "centre": {"lat": 41.88, "lon": -87.63},
        "bbox": {"min_lat": 41.6, "min_lon": -87.9, "max_lat": 42.1, "max_lon": -87.5}}


class ScriptedSender:
    """Answer each URL with its configured status (204 unless told otherwise)."""

    def __init__(self):
        self.status = {}
        self.calls = []

    def post(self, url, body, headers):
        self.calls.append({"url": url, "body": body, "headers": headers})
        status = self.status.get(url, 204)
        if status is None:
            return AttemptResult(None, 1.0, error="ConnectionRefusedError: refused")
        return AttemptResult(status, 1.0, "ok")


@pytest.fixture
def database():
    return mongomock.MongoClient(tz_aware=False)["col_notifications"]


@pytest.fixture
def store(database):
    store = NotificationStore(database)
    store.ensure_indexes()
    for city in ("chicago", "dallas"):
        store.cities.add({**CITY, "slug": city, "name": city.title()})
    return store


@pytest.fixture
def sender():
    return ScriptedSender()

"""The identity service on nameko's ``worker_factory`` over a mongomock store.

The store and the signing keys are real, so unique indexes, single-use tokens,
refresh rotation and JWT signatures run as written. Dispatched events are
checked against their contracts and recorded.
"""

from types import SimpleNamespace

import mongomock
import pytest
from nameko.testing.services import worker_factory

from cities_common import events
from services.identity.providers import TokenSettings
from services.identity.service import IdentityService
from services.identity.signing import AccessTokens, KeyRing
from services.identity.storage import IdentityStore

ISSUER = "https://col.example"
PASSWORD = "correct horse battery staple"
KEY_PASSPHRASE = "identity key passphrase for tests"
CITIES = {
    slug: {"slug": slug, "name": slug.title(), "time_zone": "America/Chicago",
           "default_locale": locale, "locales": ["en", "es"],
           "centre": {"lat": 41.88, "lon": -87.63},
           "bbox": {"min_lat": 41.6, "min_lon": -87.9, "max_lat": 42.1,
                    "max_lon": -87.5}}
    for slug, locale in (("chicago", "en"), ("dallas", "es"))
}


class Identity:
    """A worker of the service with a mongomock store and recorded events."""

    def __init__(self, access_seconds: int = 600, refresh_seconds: int = 3600):
        self.database = mongomock.MongoClient()["col_identity"]
        self.store = IdentityStore(self.database)
        self.store.ensure_indexes()
        for city in CITIES.values():
            self.store.cities.add(city)
        keyring = KeyRing(self.database["signing_keys"], access_seconds, KEY_PASSPHRASE)
        self.signer = SimpleNamespace(
            settings=TokenSettings(access_seconds, refresh_seconds), keyring=keyring,
            access=AccessTokens(keyring, ISSUER, access_seconds))
        self.events = []
        self.service = self.worker("chicago")

    def worker(self, city: str | None):
        service = worker_factory(IdentityService, store=self.store, signer=self.signer)
        service.request.city = city
        service.publish.side_effect = self.publish
        service.inbox.seen.return_value = False
        return service

    def publish(self, event_type, city, data, event_id=None):
        envelope = events.make_event(event_type, city, data, event_id=event_id)
        self.events.append(envelope)
        return envelope

    def sent(self, event_type) -> list[dict]:
        return [item["data"] for item in self.events
                if item["event_type"] == event_type]

    def signup(self, email="ada@example.org", password=PASSWORD, **fields) -> dict:
        return self.service.signup({"email": email, "password": password, **fields})

    def verified_account(self, email="ada@example.org", password=PASSWORD) -> dict:
        """Sign up and verify ``email``; return the public account."""
        self.signup(email, password)
        token = self.sent(events.ACCOUNT_VERIFICATION_REQUESTED)[-1]["token"]
        return self.service.verify_email(token, password)

    def login(self, email="ada@example.org", password=PASSWORD,
              client="192.0.2.10") -> dict:
        return self.service.login(email, password, client)


@pytest.fixture
def identity():
    return Identity()

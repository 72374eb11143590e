"""Cities as tenants: which cities a service serves, and the city of each call.

Each service keeps its own ``cities`` collection, filled by the ``city_onboarded``
event (the catalog writes its own directly). A call or event whose city is missing,
malformed or not in that collection raises ``UnknownCity``, so no service reads or
writes data for a city it was never told about.
"""

import time

from nameko.extensions import DependencyProvider

from cities_common.config import load_settings
from cities_common.context import CITY_KEY, is_valid_city_slug
from cities_common.errors import UnknownCity
from cities_common.storage import mongo_client

# Seconds a positive lookup is cached; onboarding is rare and never undone in place.
_CACHE_SECONDS = 30.0


class CityRegistry:
    """The onboarded cities one service knows, stored in that service's database."""

    def __init__(self, database):
        self.collection = database["cities"]
        self._seen: dict[str, float] = {}

    def add(self, city: dict) -> None:
        """Record ``city`` (a ``CitySchema`` document); adding it again updates it."""
        self.collection.replace_one({"_id": city["slug"]}, {"_id": city["slug"], **city},
                                    upsert=True)
        self._seen[city["slug"]] = time.monotonic()

    def ping(self) -> None:
        """Send ``ping`` to the service's MongoDB server, raising when it fails or times out."""
        self.collection.database.command("ping")

    def get(self, slug: str) -> dict | None:
        document = self.collection.find_one({"_id": slug})
        if document is not None:
            document.pop("_id", None)
        return document

    def list(self) -> list[dict]:
        documents = list(self.collection.find({}, sort=[("_id", 1)]))
        for document in documents:
            document.pop("_id", None)
        return documents

    def require(self, slug) -> str:
        """Return ``slug`` if it names an onboarded city, else raise ``UnknownCity``."""
        if not slug:
            raise UnknownCity("no city given: every call must name its city")
        if not is_valid_city_slug(slug):
            raise UnknownCity(
                f"city {str(slug)[:40]!r} is invalid: a city slug is 2-40 lowercase "
                "letters, digits or hyphens, e.g. 'chicago'"
            )
        seen = self._seen.get(slug)
        if seen is not None and time.monotonic() - seen < _CACHE_SECONDS:
            return slug
        if self.collection.count_documents({"_id": slug}, limit=1) == 0:
            raise UnknownCity(f"city {slug!r} is not onboarded on this platform")
        self._seen[slug] = time.monotonic()
        return slug


class TenantScope:
    """The city of the current worker, checked against the service's registry."""

    def __init__(self, registry: CityRegistry, city: str | None):
        self.registry = registry
        self._city = city

    @property
    def city(self) -> str:
        """The worker's city; raises ``UnknownCity`` when it is missing or unknown."""
        return self.registry.require(self._city)


class Tenancy(DependencyProvider):
    """Inject a ``TenantScope`` for the worker's context-data city."""

    def setup(self):
        settings = load_settings(self.container.config)
        client = mongo_client(settings.mongo_url)
        database = client[settings.mongo_database(self.container.service_name)]
        self.registry = CityRegistry(database)

    def get_dependency(self, worker_ctx):
        return TenantScope(self.registry, worker_ctx.data.get(CITY_KEY))

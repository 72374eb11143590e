"""Cities as tenants: which cities a service serves, and the city of each call.

Each service keeps its own ``cities`` collection, filled by the ``city_onboarded``
event (the catalog writes its own directly). A call or event whose city is missing,
malformed or not in that collection raises ``UnknownCity``, so no service reads or
writes data for a city it was never told about.

The ``city_archived`` event marks the city archived in the same collection. From
then on ``require`` raises ``CityArchived`` for it, except where a caller passes
``include_archived=True`` to keep serving read-only documents (the badges service
hosts existing badges so that they still verify). Archiving is final: ``add``
raises ``CityArchived`` for an archived city, so a late ``city_onboarded`` event
is dropped and cannot bring the city back.

The process that handles ``city_archived`` rejects the city at once. Other
processes of the same service cache a positive lookup for ``_CACHE_SECONDS``, so
they may accept the city for at most that long after the event was handled.
"""

import time

from nameko.extensions import DependencyProvider
from pymongo.errors import DuplicateKeyError

from cities_common.config import load_settings
from cities_common.context import CITY_KEY, is_valid_city_slug
from cities_common.errors import CityArchived, UnknownCity
from cities_common.storage import mongo_client

# Seconds a positive lookup of an active city is cached. This is also how long
# another process may still accept a city after ``city_archived`` was handled.
_CACHE_SECONDS = 30.0
ARCHIVED = "archived"


class CityRegistry:
    """The onboarded cities one service knows, stored in that service's database."""

    def __init__(self, database):
        self.collection = database["cities"]
        self._seen: dict[str, float] = {}

    def add(self, city: dict) -> None:
        """Record ``city`` (a ``CitySchema`` document), or update it when it exists.

        Raises ``CityArchived``, and changes nothing, when the city is archived.
        """
        slug = city["slug"]
        try:
            self.collection.replace_one({"_id": slug, "status": {"$ne": ARCHIVED}},
                                        {"_id": slug, **city}, upsert=True)
        except DuplicateKeyError as exc:
            # The filter missed because the city is archived, and the upsert then
            # collided with its document.
            raise CityArchived(f"city {slug!r} is archived: onboarding events for "
                               "it are ignored") from exc
        self._seen[slug] = time.monotonic()

    def archive(self, slug: str, archived_at: str) -> bool:
        """Mark the city archived, and return True if this call archived it.

        Works for a city this service never saw onboarded, so a late
        ``city_onboarded`` cannot bring it back.
        """
        try:
            self.collection.update_one(
                {"_id": slug, "status": {"$ne": ARCHIVED}},
                {"$set": {"status": ARCHIVED, "archived_at": archived_at}}, upsert=True)
        except DuplicateKeyError:
            # The filter missed because the city is archived already, and the
            # upsert then collided with its document.
            return False
        finally:
            self._seen.pop(slug, None)
        return True

    def is_archived(self, slug: str) -> bool:
        return self.collection.count_documents({"_id": slug, "status": ARCHIVED},
                                               limit=1) > 0

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

    def require(self, slug, include_archived: bool = False) -> str:
        """Return ``slug`` if it names an onboarded city, else raise ``UnknownCity``.

        An archived city raises ``CityArchived``, unless ``include_archived`` is true.
        """
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
        document = self.collection.find_one({"_id": slug},
                                            {"status": 1, "archived_at": 1})
        if document is None:
            raise UnknownCity(f"city {slug!r} is not onboarded on this platform")
        if document.get("status") == ARCHIVED:
            if include_archived:
                return slug
            raise CityArchived(
                f"city {slug!r} was archived on {document.get('archived_at')}: it "
                "accepts no new requests or events; operators can still export its "
                "catalog")
        self._seen[slug] = time.monotonic()
        return slug


class TenantScope:
    """The city of the current worker, checked against the service's registry."""

    def __init__(self, registry: CityRegistry, city: str | None):
        self.registry = registry
        self._city = city

    @property
    def city(self) -> str:
        """The worker's city. Raises ``UnknownCity``, or ``CityArchived`` once archived."""
        return self.registry.require(self._city)

    @property
    def readable_city(self) -> str:
        """The worker's city, active or archived, for read-only public documents."""
        return self.registry.require(self._city, include_archived=True)


class Tenancy(DependencyProvider):
    """Inject a ``TenantScope`` for the worker's context-data city."""

    def setup(self):
        settings = load_settings(self.container.config)
        client = mongo_client(settings.mongo_url)
        database = client[settings.mongo_database(self.container.service_name)]
        self.registry = CityRegistry(database)

    def get_dependency(self, worker_ctx):
        return TenantScope(self.registry, worker_ctx.data.get(CITY_KEY))

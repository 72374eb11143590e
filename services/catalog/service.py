"""The catalog service: cities, partner organisations and their opportunities."""

import logging

from marshmallow import ValidationError
from nameko.rpc import rpc

from cities_common import events as contracts
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.errors import InvalidInput, NotFound, UnknownCity
from cities_common.metrics import Metrics
from cities_common.storage import MongoDatabase
from cities_common.tenancy import Tenancy
from services.catalog.events import opportunity_event, opportunity_payload
from services.catalog.schemas import (
    ImportRequestSchema, OpportunitySchema, OrganizationSchema,
)
from services.catalog.storage import UNCHANGED, CatalogStore

logger = logging.getLogger(__name__)

EXPECTED = (InvalidInput, NotFound, UnknownCity)
SCHEMAS = {"opportunities": OpportunitySchema, "organizations": OrganizationSchema}


class CatalogService:
    """Owns cities, organisations and opportunities, and announces their changes."""

    name = "catalog"

    store = MongoDatabase(CatalogStore)
    tenant = Tenancy()
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()

    @rpc
    def health(self):
        return {"service": self.name, "ok": True}

    @rpc(expected_exceptions=EXPECTED)
    def onboard_city(self, city):
        """Create or update a city and dispatch ``city_onboarded``; idempotent."""
        try:
            city = contracts.CitySchema().load(city)
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid city") from exc
        self.store.cities.add(city)
        self.publish(contracts.CITY_ONBOARDED, city["slug"], city)
        logger.info("onboarded city %s", city["slug"])
        return city

    @rpc
    def list_cities(self):
        """Return every onboarded city, ordered by slug."""
        return self.store.cities.list()

    @rpc(expected_exceptions=EXPECTED)
    def get_city(self, slug):
        """Return one city; raises ``UnknownCity`` when it is not onboarded."""
        self.store.cities.require(slug)
        return self.store.cities.get(slug)

    @rpc(expected_exceptions=EXPECTED)
    def import_records(self, kind, records):
        """Validate and upsert a batch of the context city's records.

        Each record is created, updated (its version bumped) or left unchanged, and
        the matching event is dispatched. Invalid records are returned with their
        field errors and index in the batch; they never stop the rest.
        """
        city = self.tenant.city
        try:
            request = ImportRequestSchema().load({"kind": kind, "records": records})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid import batch") from exc

        counts = {"created": 0, "updated": 0, "unchanged": 0}
        rejected, valid = [], []
        for position, record in enumerate(request["records"]):
            try:
                valid.append(self._validate(kind, city, record))
            except ValidationError as exc:
                rejected.append({"index": position, "source_id": record.get("source_id"),
                                 "errors": exc.messages})
        results = self.store.upsert_many(kind, valid) if valid else []
        for outcome, stored, previous in results:
            counts[outcome] += 1
            if outcome != UNCHANGED:
                self._announce(kind, city, stored, previous)

        logger.info("imported %s %s into %s: %s, %s rejected", len(records), kind, city,
                    counts, len(rejected))
        return {**counts, "rejected": rejected}

    @rpc(expected_exceptions=EXPECTED)
    def get_opportunity(self, opportunity_id):
        """Return one opportunity of the context city; raises ``NotFound``."""
        city = self.tenant.city
        opportunity = self.store.get("opportunities", city, str(opportunity_id))
        if opportunity is None:
            raise NotFound(f"opportunity {opportunity_id!r} not found in {city}")
        return opportunity

    @rpc(expected_exceptions=EXPECTED)
    def list_opportunities(self, status=None, after=None, limit=500):
        """Page through the context city's opportunities in id order."""
        city = self.tenant.city
        return self.store.list("opportunities", city, status, after, min(int(limit), 1000))

    @rpc(expected_exceptions=EXPECTED)
    def count_opportunities(self, status=None):
        return self.store.count("opportunities", self.tenant.city, status)

    def _validate(self, kind, city, record):
        document = SCHEMAS[kind]().load(record)
        if document["city"] != city:
            raise ValidationError({"city": [f"must be {city!r}, the city of this call"]})
        return document

    def _announce(self, kind, city, stored, previous):
        if kind == "organizations":
            self.publish(contracts.ORGANIZATION_PUBLISHED, city, {"organization": stored})
            return
        previous_status = previous["status"] if previous else None
        event_type = opportunity_event(previous_status, stored["status"])
        if event_type is not None:
            self.publish(event_type, city, opportunity_payload(stored))

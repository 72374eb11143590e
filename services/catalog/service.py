"""The catalog service: cities, partner organisations and their opportunities.

Entrypoints live in one mixin per concept (``cities``, ``organizations``,
``opportunities``, and ``access`` for the owner facts the gateway checks); this
class adds the dependencies and the import. Every entrypoint except onboarding,
the city list and archiving works on the city in the worker's context data, and
rejects a call whose city is missing, unknown or archived.
"""

import logging

from marshmallow import ValidationError
from cities_common.rpc import rpc

from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.errors import InvalidInput
from cities_common.metrics import Metrics
from cities_common.storage import MongoDatabase
from services.catalog import lifecycle
from services.catalog.access import AccessFactsEntrypoints, resolve_actor
from services.catalog.cities import CityEntrypoints
from services.catalog.exceptions import EXPECTED
from services.catalog.opportunities import OpportunityEntrypoints
from services.catalog.organizations import OrganizationEntrypoints
from services.catalog.schemas import (
    ImportedOpportunitySchema, ImportedOrganizationSchema, ImportRequestSchema,
)
from services.catalog.storage import UNCHANGED, CatalogStore

logger = logging.getLogger(__name__)

IMPORT_SCHEMAS = {"opportunities": ImportedOpportunitySchema,
                  "organizations": ImportedOrganizationSchema}


class CatalogService(CityEntrypoints, OrganizationEntrypoints, OpportunityEntrypoints,
                     AccessFactsEntrypoints):
    """Owns cities, organisations and opportunities, and announces their changes."""

    name = "catalog"

    store = MongoDatabase(CatalogStore)
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()

    @rpc
    def health(self):
        """Return the service status after a ping to its MongoDB server succeeds."""
        self.store.database.command("ping")
        return {"service": self.name, "ok": True}

    @rpc(expected_exceptions=EXPECTED)
    def import_records(self, kind, records, dry_run=False):
        """Validate and upsert a batch of the context city's imported records.

        Each record is created, updated (its version bumped) or left unchanged, and
        each created or updated one dispatches its event. Invalid records come back
        with their field errors and index in the batch; they never stop the rest.
        With ``dry_run`` nothing is written or dispatched, and the counts show what
        an import would do.
        """
        city = self._city()
        try:
            request = ImportRequestSchema().load({"kind": kind, "records": records})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid import batch") from exc
        schema = IMPORT_SCHEMAS[kind](city, self._vocabulary(city))

        counts = {"created": 0, "updated": 0, "unchanged": 0}
        rejected, valid = [], []
        for position, record in enumerate(request["records"]):
            try:
                valid.append(schema.load(record))
            except ValidationError as exc:
                rejected.append({"index": position, "source_id": record.get("source_id"),
                                 "errors": exc.messages})
        results = self.store.upsert_many(kind, valid, dry_run=bool(dry_run)) \
            if valid else []
        for outcome, stored, previous in results:
            counts[outcome] += 1
            if outcome != UNCHANGED and not dry_run:
                self._announce_import(kind, stored, previous)

        logger.info("%s %s %s into %s: %s, %s rejected",
                    "checked" if dry_run else "imported", len(records), kind,
                    city["slug"], counts, len(rejected))
        return {**counts, "rejected": rejected, "dry_run": bool(dry_run)}

    def _announce_import(self, kind: str, stored: dict, previous: dict | None) -> None:
        if kind == "organizations":
            self._announce_organization(stored)
        else:
            self._announce_opportunity(previous["status"] if previous else None, stored)

    def _announce_opportunity(self, previous_status: str | None, stored: dict) -> None:
        event_type = lifecycle.opportunity_event(previous_status, stored["status"])
        self.publish(event_type, stored["city"], lifecycle.opportunity_payload(stored))

    def _city(self) -> dict:
        """Return the worker's city; raise ``UnknownCity`` or ``CityArchived``."""
        return self.store.cities.require_active(self.request.city)

    def _vocabulary(self, city: dict) -> list[str]:
        return self.store.interests.slugs(city["slug"])

    def _actor(self, city: dict, account_id):
        return resolve_actor(self.store, city["slug"], account_id)

    @staticmethod
    def _load(schema, data, message: str) -> dict:
        if not isinstance(data, dict):
            raise InvalidInput({"_schema": ["must be a JSON object"]}, message)
        try:
            return schema.load(data)
        except ValidationError as exc:
            raise InvalidInput(exc.messages, message) from exc

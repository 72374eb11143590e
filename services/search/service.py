"""The search service: keeps each city's index in step with the catalog, and queries it."""

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from marshmallow import ValidationError

from cities_common import events
from cities_common.context import RequestContext
from cities_common.errors import InvalidInput
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.rpc import rpc
from cities_common.storage import ElasticsearchClient
from cities_common.tenancy import Tenancy
from services.search.cursors import CursorKeys, query_key
from services.search.schemas import (
    CURSOR_ERROR, AutocompleteRequestSchema, RelatedRequestSchema, SearchRequestSchema,
    SiteSearchRequestSchema,
)
from services.search.storage import SearchStore

logger = logging.getLogger(__name__)

# Built once: a marshmallow schema copies its fields when it is made, which
# cost more than loading a request, and ``load`` keeps no state between calls.
SCHEMAS = {schema: schema() for schema in (SearchRequestSchema, RelatedRequestSchema,
                                           AutocompleteRequestSchema,
                                           SiteSearchRequestSchema)}


class SearchService:
    """Indexes published opportunities and provider sites; answers searches."""

    name = "search"

    index = ElasticsearchClient(SearchStore)
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    cursors = CursorKeys()

    @rpc
    def health(self):
        """Return the service status after a ping to its MongoDB server succeeds."""
        self.tenant.registry.ping()
        return {"service": self.name, "ok": True}

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.tenant.registry.add(event["data"])
        self.index.ensure_city(event["city"])

    @durable_event_handler("catalog", events.CITY_ARCHIVED)
    @consumes(events.CITY_ARCHIVED)
    def handle_city_archived(self, event):
        """Mark the city archived and delete its indexes and aliases.

        Searches and catalog events for the city raise ``CityArchived`` from then
        on. The catalog keeps the records, so its export still contains them.
        """
        city = event["city"]
        self.tenant.registry.archive(city, event["data"]["archived_at"])
        deleted = self.index.remove_city(city)
        logger.info("city %s archived: deleted indexes %s", city,
                    ", ".join(deleted) or "(none)")

    @durable_event_handler("catalog", events.OPPORTUNITY_PUBLISHED)
    @consumes(events.OPPORTUNITY_PUBLISHED)
    def handle_opportunity_published(self, event):
        self._index(event)

    @durable_event_handler("catalog", events.OPPORTUNITY_UPDATED)
    @consumes(events.OPPORTUNITY_UPDATED)
    def handle_opportunity_updated(self, event):
        self._index(event)

    @durable_event_handler("catalog", events.OPPORTUNITY_WITHDRAWN)
    @consumes(events.OPPORTUNITY_WITHDRAWN)
    def handle_opportunity_withdrawn(self, event):
        self._index(event)

    @durable_event_handler("catalog", events.ORGANIZATION_PUBLISHED)
    @consumes(events.ORGANIZATION_PUBLISHED)
    def handle_organization_published(self, event):
        city = self.tenant.registry.require(event["city"])
        organization = event["data"]["organization"]
        # The city's indexes may not exist yet when this event overtakes the
        # handling of ``city_onboarded``, which registers the city first.
        self.index.ensure_city(city)
        self.index.index_site({**organization, "city": city})

    @rpc
    def search_opportunities(self, query):
        """Search the context city's published opportunities; see SearchRequestSchema.

        Raises ``InvalidInput`` naming the parameter, and ``StoreUnavailable`` when
        Elasticsearch is unreachable.
        """
        city = self.tenant.city
        request = self._load(SearchRequestSchema, query)
        key = query_key(query)
        if request.get("cursor") and not self.cursors.verify(city, key,
                                                             request["cursor"]):
            raise InvalidInput({"cursor": [f"{CURSOR_ERROR} with these parameters in "
                                           f"{city}; repeat the search without a "
                                           "cursor"]}, "invalid search")
        today = self._today(city) if request["registration_open"] else date.today()
        result = self.index.search(city, request, today)
        if result["next_cursor"]:
            result["next_cursor"] = self.cursors.sign(city, key, result["next_cursor"])
        return result

    @rpc
    def related_opportunities(self, opportunity_id, query=None):
        """Return published opportunities that share interests or text with one, nearest
        first among equals; raises ``NotFound`` when it is not published in the city."""
        city = self.tenant.city
        request = self._load(RelatedRequestSchema, query)
        return self.index.related(city, str(opportunity_id), request["page_size"])

    @rpc
    def autocomplete(self, query):
        """Suggest the context city's opportunity titles and interests for a prefix."""
        city = self.tenant.city
        request = self._load(AutocompleteRequestSchema, query)
        return self.index.autocomplete(city, request["prefix"], request["size"])

    @rpc
    def search_sites(self, query):
        """Search the context city's provider sites by text and distance."""
        city = self.tenant.city
        request = self._load(SiteSearchRequestSchema, query)
        return self.index.search_sites(city, request)

    @rpc
    def index_counts(self):
        """Return how many published opportunities and sites the city's index holds."""
        return self.index.count(self.tenant.city)

    def _index(self, event):
        city = self.tenant.registry.require(event["city"])
        opportunity = event["data"]["opportunity"]
        if opportunity["city"] != city:
            raise InvalidInput({"data": {"opportunity": {"city": ["differs from the "
                                                                  "event's city"]}}})
        self.index.ensure_city(city)
        if self.index.index_opportunity(opportunity):
            logger.info("indexed %s of %s at version %s", event["event_type"],
                        opportunity["id"], opportunity["version"])
        else:
            logger.info("ignored %s of %s version %s: that or a newer version is "
                        "indexed", event["event_type"], opportunity["id"],
                        opportunity["version"])

    def _today(self, city: str) -> date:
        """Return today's date in the city's time zone."""
        record = self.tenant.registry.get(city) or {}
        return datetime.now(ZoneInfo(record.get("time_zone") or "UTC")).date()

    @staticmethod
    def _load(schema, query):
        try:
            return SCHEMAS[schema].load(query or {})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid search") from exc

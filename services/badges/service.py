"""The badges service: issues a badge for each completed programme."""

import logging
from datetime import datetime, timezone

from nameko.dependency_providers import Config
from nameko.rpc import rpc

from cities_common import events
from cities_common.config import load_settings
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.errors import InvalidInput, NotFound, UnknownCity
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.storage import MongoDatabase
from cities_common.tenancy import Tenancy
from services.badges.assertions import badge_class_for, build_assertion
from services.badges.storage import BadgeStore, assertion_id

logger = logging.getLogger(__name__)

EXPECTED = (InvalidInput, NotFound, UnknownCity)


class BadgesService:
    """Issues badges on ``program_completed`` and lists a youth's badges."""

    name = "badges"

    store = MongoDatabase(BadgeStore)
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()
    config = Config()

    @rpc
    def health(self):
        return {"service": self.name, "ok": True}

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.tenant.registry.add(event["data"])

    @durable_event_handler("registration", events.PROGRAM_COMPLETED)
    @consumes(events.PROGRAM_COMPLETED)
    def handle_program_completed(self, event):
        """Issue the completion's badge and dispatch ``badge_issued``, both at most once."""
        city = self.tenant.registry.require(event["city"])
        completion = event["data"]
        base_url = load_settings(self.config).public_base_url
        badge_class = badge_class_for(base_url, city, completion)
        self.store.save_badge_class(badge_class)

        identifier = assertion_id(city, completion["completion_id"])
        issued_on = datetime.now(timezone.utc).isoformat()
        assertion, created = self.store.add_assertion(build_assertion(
            base_url, city, identifier, badge_class, completion, issued_on))
        if assertion.get("announced"):
            return
        self.publish(events.BADGE_ISSUED, city, {
            "assertion_id": assertion["id"],
            "youth_id": assertion["youth_id"],
            "badge_class_id": assertion["badge_class_id"],
            "opportunity_id": assertion["opportunity_id"],
            "completion_id": assertion["completion_id"],
            "issued_on": assertion["issued_on"],
            "assertion": assertion["open_badge"],
        }, event_id=f"badge-issued-{assertion['id']}")
        self.store.mark_announced(city, assertion["id"])
        logger.info("issued badge %s for %s", assertion["id"], assertion["opportunity_id"])

    @rpc(expected_exceptions=EXPECTED)
    def list_badges(self, youth_id):
        """Return the context city's badges of one youth, newest first."""
        return self.store.list_for_youth(self.tenant.city, str(youth_id))

    @rpc(expected_exceptions=EXPECTED)
    def get_assertion(self, identifier):
        city = self.tenant.city
        assertion = self.store.get_assertion(city, str(identifier))
        if assertion is None:
            raise NotFound(f"badge assertion {identifier!r} not found in {city}")
        return assertion

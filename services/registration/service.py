"""The registration service: youth sign up for opportunities, attend and complete.

The entrypoints live in mixins by topic: ``enrolment`` (register, cancel, rosters),
``guardians`` (profiles and guardian consent), ``completion`` (attendance and
completion), ``erasure`` ("delete my data"), ``access`` (the owner facts the
gateway checks) and ``announcements`` (the sweep that dispatches events a dying
process left behind). ``work`` contains the steps they share.
"""

import logging

from nameko.dependency_providers import Config
from nameko.rpc import RpcProxy

from cities_common.rpc import rpc

from cities_common import events
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.storage import MongoDatabase
from cities_common.tenancy import Tenancy
from services.registration.access import AccessFactsEntrypoints
from services.registration.announcements import AnnouncementSweep
from services.registration.completion import CompletionEntrypoints
from services.registration.enrolment import EnrolmentEntrypoints
from services.registration.erasure import ErasureEntrypoints
from services.registration.guardians import GuardianEntrypoints
from services.registration.storage import RegistrationStore
from services.registration.work import RegistrationWork

logger = logging.getLogger(__name__)


class RegistrationService(EnrolmentEntrypoints, GuardianEntrypoints,
                          CompletionEntrypoints, ErasureEntrypoints,
                          AccessFactsEntrypoints, AnnouncementSweep, RegistrationWork):
    """Registers youth for opportunities and records attendance and completion."""

    name = "registration"

    store = MongoDatabase(RegistrationStore)
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()
    config = Config()
    catalog_rpc = RpcProxy("catalog")
    badges_rpc = RpcProxy("badges")

    @rpc
    def health(self):
        """Return the service status after a ping to its MongoDB server succeeds."""
        self.tenant.registry.ping()
        return {"service": self.name, "ok": True}

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.tenant.registry.add(event["data"])

    @durable_event_handler("catalog", events.CITY_ARCHIVED)
    @consumes(events.CITY_ARCHIVED)
    def handle_city_archived(self, event):
        """Mark the city archived: registering, attendance and every other RPC or
        event for it raises ``CityArchived`` from now on."""
        if self.tenant.registry.archive(event["city"], event["data"]["archived_at"]):
            logger.info("city %s archived", event["city"])

    @durable_event_handler("catalog", events.OPPORTUNITY_UPDATED)
    @consumes(events.OPPORTUNITY_UPDATED)
    def handle_opportunity_updated(self, event):
        """Give seats that a raised capacity freed to the waitlist, in order."""
        city = self.tenant.registry.require(event["city"])
        self._fill_freed_seats(city, event["data"]["opportunity"]["id"])

    @durable_event_handler("catalog", events.OPPORTUNITY_WITHDRAWN)
    @consumes(events.OPPORTUNITY_WITHDRAWN)
    def handle_opportunity_withdrawn(self, event):
        """Cancel every confirmed and waitlisted registration of the opportunity."""
        city = self.tenant.registry.require(event["city"])
        self._cancel_all(city, event["data"]["opportunity"]["id"],
                         "opportunity_withdrawn")

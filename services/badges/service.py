"""The badges service: issues Open Badges for completions, awards and playlists,
and hosts the documents that let anyone verify them."""

import logging

from nameko.dependency_providers import Config
from cities_common.rpc import rpc

from cities_common import events
from cities_common.config import load_settings
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.erasure import acknowledge_erasure
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.tenancy import Tenancy
from services.badges import erasure
from services.badges.access import AccessFactsEntrypoints
from services.badges.hosting import Hosting
from services.badges.issuing import Issuance
from services.badges.keyadmin import KeyAdminEntrypoints
from services.badges.portfolio import PortfolioEntrypoints
from services.badges.public import PublicEntrypoints
from services.badges.staff import StaffEntrypoints
from services.badges.storage import BadgeDatabase
from services.badges.urls import BadgeUrls

logger = logging.getLogger(__name__)


class BadgesService(
    StaffEntrypoints,
    PublicEntrypoints,
    PortfolioEntrypoints,
    AccessFactsEntrypoints,
    KeyAdminEntrypoints,
):
    """Issues badges on ``program_completed``, by staff award and for playlists.

    Dispatches ``badge_issued`` and ``badge_revoked``. The RPCs live in the
    mixins: ``staff`` (issuers, classes, awards), ``public`` (hosted documents,
    verification), ``portfolio`` (a youth's badges), ``access`` (the owner
    facts the gateway checks) and ``keyadmin`` (signing key rotation).
    """

    name = "badges"

    store = BadgeDatabase()
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()
    config = Config()

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
        """Mark the city archived: issuing for it raises ``CityArchived`` from now on.

        Hosted assertions, keys and status lists stay readable, so badges issued
        before archiving still verify.
        """
        if self.tenant.registry.archive(event["city"], event["data"]["archived_at"]):
            logger.info("city %s archived", event["city"])

    @durable_event_handler("registration", events.PROGRAM_COMPLETED)
    @consumes(events.PROGRAM_COMPLETED)
    def handle_program_completed(self, event):
        """Issue the completion's badge by the opportunity's rule, then check playlists.

        The assertion id derives from the completion id, so a redelivered event,
        or a second completion event for the same registration, finds the badge
        already issued.
        """
        city = self.tenant.registry.require(event["city"])
        self.issuance(city).on_completion(event["data"])

    @durable_event_handler("registration", events.YOUTH_ERASED)
    @consumes(events.YOUTH_ERASED)
    def handle_youth_erased(self, event):
        """Erase the youth's badge data with ``erasure.erase_youth``.

        Dispatches ``badge_revoked`` per revoked badge, then
        ``youth_erasure_acknowledged``. The city is not looked up in the registry,
        so the youth of an archived city is erased too.
        """
        data = event["data"]
        counts = erasure.erase_youth(
            self.store,
            self.issuance(event["city"]),
            data["erasure_id"],
            data["youth_id"],
        )
        acknowledge_erasure(self.publish, event, self.name, counts)

    # Per-call helpers ----------------------------------------------------------

    def settings(self):
        return load_settings(self.config)

    def urls(self, city: str) -> BadgeUrls:
        return BadgeUrls(self.settings().public_base_url, city)

    def issuance(self, city: str) -> Issuance:
        return Issuance(self.store, self.urls(city), self.publish, city)

    def hosting(self, city: str) -> Hosting:
        return Hosting(self.store, self.urls(city), city)

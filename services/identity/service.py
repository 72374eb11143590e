"""The identity service: accounts, sessions and tokens, role grants, API keys.

Accounts are platform-wide, because one person may act in several cities;
grants and API keys belong to one city. The entrypoints live in mixins:
``accounts`` (sign-up, verification, passwords), ``sessions`` (login, refresh,
logout, authenticate) and ``access`` (grants and API keys). The gateway calls
``authenticate`` on every request that carries a credential.
"""

import logging

from cities_common import events
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.erasure import acknowledge_erasure
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.rpc import rpc
from cities_common.storage import MongoDatabase
from services.identity.access import AccessEntrypoints
from services.identity.accounts import AccountEntrypoints
from services.identity.providers import Signer
from services.identity.schemas import GUARDIAN, YOUTH
from services.identity.sessions import SessionEntrypoints
from services.identity.storage import IdentityStore

logger = logging.getLogger(__name__)


class IdentityService(AccountEntrypoints, SessionEntrypoints, AccessEntrypoints):
    """Authenticates callers and records the roles each account has in each city."""

    name = "identity"

    store = MongoDatabase(IdentityStore)
    signer = Signer()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()

    @rpc
    def health(self):
        """Return the service status after a ping to its MongoDB server succeeds."""
        self.store.cities.ping()
        return {"service": self.name, "ok": True}

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.store.cities.add(event["data"])

    @durable_event_handler("catalog", events.CITY_ARCHIVED)
    @consumes(events.CITY_ARCHIVED)
    def handle_city_archived(self, event):
        """Revoke the city's API keys and grants; the accounts stay."""
        city = event["city"]
        self.store.archive_city(city)
        keys = self.store.api_keys.revoke_city(city)
        grants = self.store.grants.remove_city(city)
        logger.info("city archived: %s API keys revoked, %s grants removed", keys,
                    grants)

    @durable_event_handler("registration", events.YOUTH_ERASED)
    @consumes(events.YOUTH_ERASED)
    def handle_youth_erased(self, event):
        """Remove the youth and guardian grants on the erased youth.

        Dispatches ``youth_erasure_acknowledged`` with ``grants_removed``.
        """
        youth_id = event["data"]["youth_id"]
        removed = self.store.grants.remove_scope(event["city"], (YOUTH, GUARDIAN),
                                                 youth_id)
        logger.info("youth %s erased: %s grants removed", youth_id, removed)
        acknowledge_erasure(self.publish, event, self.name, {"grants_removed": removed})

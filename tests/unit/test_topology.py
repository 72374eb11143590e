"""The deployment's queue table must match the handlers services declare."""

from cities_common import events
from cities_common.handlers import DurableEventHandler
from cities_common.topology import ROUTES, Route, consumers as consumers_of
from gateway.service import GatewayService
from services.badges.service import BadgesService
from services.catalog.service import CatalogService
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
from services.registration.erasure import ACKNOWLEDGING_SERVICES
from services.registration.service import RegistrationService
from services.search.service import SearchService

SERVICES = [CatalogService, SearchService, RegistrationService, BadgesService,
            NotificationsService, IdentityService, GatewayService]


def declared_routes():
    routes = set()
    for service in SERVICES:
        for name in dir(service):
            method = getattr(service, name)
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, DurableEventHandler):
                    routes.add(Route(entrypoint.source_service, entrypoint.event_type,
                                     service.name, name))
    return routes


def test_topology_matches_declared_handlers():
    assert declared_routes() == set(ROUTES)


def test_topology_has_no_duplicate_routes():
    assert len(ROUTES) == len(set(ROUTES))


def test_erasure_acknowledged_by_every_consumer():
    consumers = set(consumers_of(events.YOUTH_ERASED))
    acknowledging = {route.source for route in ROUTES
                     if route.event_type == events.YOUTH_ERASURE_ACKNOWLEDGED
                     and route.service == "registration"}
    assert consumers == {"identity", "badges", "notifications"}
    assert acknowledging == consumers
    assert set(ACKNOWLEDGING_SERVICES) == consumers

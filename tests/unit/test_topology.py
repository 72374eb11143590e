"""The deployment's queue table must match the handlers services declare."""

from cities_common.handlers import DurableEventHandler
from cities_common.topology import ROUTES, Route
from gateway.service import GatewayService
from services.badges.service import BadgesService
from services.catalog.service import CatalogService
from services.identity.service import IdentityService
from services.notifications.service import NotificationsService
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

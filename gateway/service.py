"""The HTTP gateway: the only public door, routing JSON requests to the services."""

import logging

from nameko.dependency_providers import Config
from nameko.exceptions import RemoteError

from cities_common.context import RequestContext
from cities_common.metrics import Metrics
from gateway.dependencies import TimedRpcProxy
from gateway.access import PUBLIC, route
from gateway.errors import ServiceUnavailable
from gateway.routes.badges import BadgesRoutes
from gateway.routes.catalog import CatalogRoutes
from gateway.routes.docs import DocsRoutes
from gateway.routes.identity import IdentityRoutes
from gateway.routes.notifications import NotificationsRoutes
from gateway.routes.registration import RegistrationRoutes
from gateway.routes.search import SearchRoutes

logger = logging.getLogger(__name__)

SERVICES = ("catalog", "search", "registration", "badges", "notifications", "identity")


class GatewayService(IdentityRoutes, CatalogRoutes, SearchRoutes, RegistrationRoutes,
                     BadgesRoutes, NotificationsRoutes, DocsRoutes):
    """JSON over HTTP under ``/v1``, with the city in the path of every tenant route."""

    name = "gateway"

    catalog_rpc = TimedRpcProxy("catalog")
    search_rpc = TimedRpcProxy("search")
    registration_rpc = TimedRpcProxy("registration")
    badges_rpc = TimedRpcProxy("badges")
    notifications_rpc = TimedRpcProxy("notifications")
    identity_rpc = TimedRpcProxy("identity")
    request_context = RequestContext()
    metrics = Metrics()
    config = Config()

    @route("GET", "/health", access=PUBLIC)
    def health(self, request):
        """Report whether every service replies to its health check; 503 names those that fail."""
        report = {}
        for service in SERVICES:
            proxy = getattr(self, f"{service}_rpc")
            try:
                proxy.health()
                report[service] = "ok"
            except ServiceUnavailable as exc:
                report[service] = exc.detail
            except RemoteError as exc:
                # The service runs but its own check failed, e.g. MongoDB is down.
                report[service] = f"health check failed: {exc.exc_type}"
        healthy = all(value == "ok" for value in report.values())
        return (200 if healthy else 503), {"ok": healthy, "services": report}

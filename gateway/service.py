"""The HTTP gateway: the only public door, routing JSON requests to the services."""

import json
import logging

from nameko.dependency_providers import Config
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from werkzeug.wrappers import Response

from cities_common.context import RequestContext
from cities_common.metrics import Metrics
from gateway.dependencies import TimedRpcProxy
from gateway.entrypoints import http
from gateway.errors import BadRequest, ServiceUnavailable
from gateway.schemas import query_parameters

logger = logging.getLogger(__name__)

SERVICES = ("catalog", "search", "registration", "badges", "notifications")
MAX_BODY_BYTES = 64 * 1024


def json_body(request) -> dict:
    """Parse a JSON object body; raise ``BadRequest`` when it is absent or malformed."""
    if request.content_length and request.content_length > MAX_BODY_BYTES:
        raise BadRequest({"body": [f"must be at most {MAX_BODY_BYTES} bytes"]})
    raw = request.get_data(cache=False)
    if not raw:
        raise BadRequest({"body": ["is missing: send a JSON object"]})
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest({"body": [f"is not valid JSON ({exc})"]}) from exc
    if not isinstance(body, dict):
        raise BadRequest({"body": ["must be a JSON object"]})
    return body


class GatewayService:
    """JSON over HTTP under ``/v1``, with the city in the path of every tenant route."""

    name = "gateway"

    catalog_rpc = TimedRpcProxy("catalog")
    search_rpc = TimedRpcProxy("search")
    registration_rpc = TimedRpcProxy("registration")
    badges_rpc = TimedRpcProxy("badges")
    notifications_rpc = TimedRpcProxy("notifications")
    request_context = RequestContext()
    metrics = Metrics()
    config = Config()

    @http("GET", "/health")
    def health(self, request):
        """Report whether every service answers; 503 names those that do not."""
        report = {}
        for service in SERVICES:
            proxy = getattr(self, f"{service}_rpc")
            try:
                proxy.health()
                report[service] = "ok"
            except ServiceUnavailable as exc:
                report[service] = exc.detail
        healthy = all(value == "ok" for value in report.values())
        return (200 if healthy else 503), {"ok": healthy, "services": report}

    @http("GET", "/metrics")
    def prometheus_metrics(self, request):
        return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

    @http("GET", "/v1/cities")
    def list_cities(self, request):
        return {"cities": self.catalog_rpc.list_cities()}

    @http("GET", "/v1/cities/<string:city>")
    def get_city(self, request, city):
        return self.catalog_rpc.get_city(city)

    @http("GET", "/v1/cities/<string:city>/opportunities")
    def search_opportunities(self, request, city):
        """Search by text, interest, age, cost, format and distance from lat/lon."""
        return self.search_rpc.search_opportunities(query_parameters(request.args))

    @http("GET", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>")
    def get_opportunity(self, request, city, opportunity_id):
        return self.catalog_rpc.get_opportunity(opportunity_id)

    @http("GET", "/v1/cities/<string:city>/sites")
    def search_sites(self, request, city):
        """Provider sites (libraries, recreation centres) near a point or by name."""
        return self.search_rpc.search_sites(query_parameters(request.args))

    @http("GET", "/v1/cities/<string:city>/index")
    def index_counts(self, request, city):
        return self.search_rpc.index_counts()

    @http("POST", "/v1/cities/<string:city>/registrations")
    def register(self, request, city):
        """Register a youth; 201 for a new registration, 200 for the existing one."""
        registration = self.registration_rpc.register(json_body(request))
        return (201 if registration.pop("created") else 200), registration

    @http("GET", "/v1/cities/<string:city>/registrations/<string:registration_id>")
    def get_registration(self, request, city, registration_id):
        return self.registration_rpc.get_registration(registration_id)

    @http("POST", "/v1/cities/<string:city>/registrations/<string:registration_id>/completion")
    def complete(self, request, city, registration_id):
        body = json_body(request) if request.content_length else {}
        return self.registration_rpc.complete(registration_id, body)

    @http("GET", "/v1/cities/<string:city>/youth/<string:youth_id>/badges")
    def list_badges(self, request, city, youth_id):
        return {"badges": self.badges_rpc.list_badges(youth_id)}

    @http("GET", "/v1/cities/<string:city>/badges/assertions/<string:assertion_id>")
    def get_assertion(self, request, city, assertion_id):
        """The hosted Open Badges 2.0 assertion, for verifiers."""
        return self.badges_rpc.get_assertion(assertion_id)["open_badge"]

    @http("POST", "/v1/cities/<string:city>/webhooks")
    def subscribe(self, request, city):
        """Subscribe a partner endpoint; the response shows the secret this once."""
        return 201, self.notifications_rpc.subscribe(json_body(request))

    @http("GET", "/v1/cities/<string:city>/webhooks/<string:subscription_id>/deliveries")
    def list_deliveries(self, request, city, subscription_id):
        return {"deliveries": self.notifications_rpc.list_deliveries(subscription_id)}

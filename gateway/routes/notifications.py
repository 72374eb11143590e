"""Partner webhook subscriptions and deliveries, from the notifications service."""

from gateway.entrypoints import http
from gateway.requests import json_body


class NotificationsRoutes:
    """Routes under ``/v1/cities/<city>`` served by the notifications service."""

    @http("POST", "/v1/cities/<string:city>/webhooks")
    def subscribe(self, request, city):
        """Subscribe a partner endpoint; the response shows the secret this once."""
        return 201, self.notifications_rpc.subscribe(json_body(request))

    @http("GET", "/v1/cities/<string:city>/webhooks/<string:subscription_id>/deliveries")
    def list_deliveries(self, request, city, subscription_id):
        return {"deliveries": self.notifications_rpc.list_deliveries(subscription_id)}

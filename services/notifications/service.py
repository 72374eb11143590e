"""The notifications service: signed partner webhooks for a city's events."""

import logging
from datetime import timedelta

import eventlet
import requests
from marshmallow import Schema, ValidationError, fields, validate
from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.timer import timer

from cities_common import events
from cities_common.context import RequestContext
from cities_common.errors import InvalidInput, NotFound, UnknownCity
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.storage import MongoDatabase
from cities_common.tenancy import Tenancy
from services.notifications.delivery import attempt
from services.notifications.signing import cloud_event, new_secret
from services.notifications.storage import NotificationStore
from services.notifications.urls import UnsafeUrl, check_webhook_url

logger = logging.getLogger(__name__)

EXPECTED = (InvalidInput, NotFound, UnknownCity)
WEBHOOK_TYPES = ["badge.issued"]
DELIVERY_BATCH = 50
DELIVERY_CONCURRENCY = 10
DELIVERY_LEASE = timedelta(seconds=60)


class SubscriptionSchema(Schema):
    partner = fields.String(required=True, validate=validate.Length(min=1, max=100))
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    event_types = fields.List(fields.String(validate=validate.OneOf(WEBHOOK_TYPES)),
                              required=True, validate=validate.Length(min=1))


class NotificationsService:
    """Queues a signed delivery per matching subscription and sends it, with retries."""

    name = "notifications"

    store = MongoDatabase(NotificationStore)
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    config = Config()

    @rpc
    def health(self):
        return {"service": self.name, "ok": True}

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.tenant.registry.add(event["data"])

    @durable_event_handler("badges", events.BADGE_ISSUED)
    @consumes(events.BADGE_ISSUED)
    def handle_badge_issued(self, event):
        """Queue a delivery of the badge to each subscriber in the event's city only."""
        city = self.tenant.registry.require(event["city"])
        body = cloud_event(event, "badges", "badge.issued")
        for subscription in self.store.matching_subscriptions(city, "badge.issued"):
            self.store.add_delivery(city, subscription, event["event_id"],
                                    "badge.issued", body)

    @rpc(expected_exceptions=EXPECTED)
    def subscribe(self, request):
        """Subscribe a partner endpoint to the context city's events.

        Returns the subscription with its signing secret, which is shown only here.
        Raises ``InvalidInput`` for an unknown event type or an unsafe URL.
        """
        city = self.tenant.city
        try:
            subscription = SubscriptionSchema().load(request or {})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid webhook subscription") from exc
        try:
            check_webhook_url(
                subscription["url"],
                allow_loopback=bool(self.config.get("WEBHOOKS_ALLOW_LOOPBACK")),
                require_https=bool(self.config.get("WEBHOOKS_REQUIRE_HTTPS")),
            )
        except UnsafeUrl as exc:
            raise InvalidInput({"url": [str(exc)]}, "invalid webhook subscription") from exc

        stored = self.store.add_subscription(city, {**subscription,
                                                    "secret": new_secret()})
        logger.info("subscription %s for partner %s", stored["id"], stored["partner"])
        return stored

    @rpc(expected_exceptions=EXPECTED)
    def list_deliveries(self, subscription_id):
        return self.store.list_deliveries(self.tenant.city, str(subscription_id))

    @timer(interval=0.5)
    def deliver_due(self):
        """Send every due delivery, several endpoints at a time."""
        due = self.store.claim_due(DELIVERY_BATCH, DELIVERY_LEASE)
        if not due:
            return
        pool = eventlet.GreenPool(DELIVERY_CONCURRENCY)
        with requests.Session() as session:
            for delivery in due:
                pool.spawn(attempt, self.store, session, delivery)
            pool.waitall()

"""The notifications service: partner webhooks and e-mail for a city's events.

Every RPC that manages webhooks takes the partner id as its first argument. The
gateway passes the partner named by the request (see
``gateway/routes/notifications``). When gateway API keys exist, only that lookup
changes, not this service.
"""

import logging
from datetime import timedelta

from marshmallow import ValidationError

from cities_common import events
from cities_common.config import load_settings
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.erasure import acknowledge_erasure
from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, UnknownCity,
)
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.rpc import rpc
from cities_common.storage import MongoDatabase
from cities_common.tenancy import Tenancy
from services.notifications import people
from services.notifications.account_mail import queue_account_link
from services.notifications.consent_mail import queue_consent_request
from services.notifications.dead_letters import DeadLetterEntrypoints
from services.notifications.providers import Deliveries
from services.notifications.schemas import (
    AttemptQuerySchema, DeliveryQuerySchema, ReplaySchema, RotateSecretSchema,
    SubscriptionCreateSchema, SubscriptionUpdateSchema, partner_field,
)
from services.notifications.signing import cloud_event, new_secret
from services.notifications.storage import NotificationStore, utcnow
from services.notifications.urls import UnsafeUrl, check_webhook_url
from services.notifications.views import attempt_view, delivery_view, subscription_view
from services.notifications.webhook_types import matches, webhook_type

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, InvalidInput, NotFound, UnknownCity)
MAX_SUBSCRIPTIONS_PER_PARTNER = 100
MAX_REPLAY_EVENTS = 10_000


def load(schema, payload, message: str) -> dict:
    try:
        return schema().load(payload or {})
    except ValidationError as exc:
        raise InvalidInput(exc.messages, message) from exc


class NotificationsService(DeadLetterEntrypoints):
    """Fans city events out to partner endpoints, and e-mails people about them."""

    name = "notifications"

    store = MongoDatabase(NotificationStore)
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    deliveries = Deliveries()
    publish = EventPublisher()

    @rpc
    def health(self):
        """Return the service status after a ping to its MongoDB server succeeds."""
        self.tenant.registry.ping()
        return {"service": self.name, "ok": True}

    # Events

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.tenant.registry.add(event["data"])

    @durable_event_handler("catalog", events.CITY_ARCHIVED)
    @consumes(events.CITY_ARCHIVED)
    def handle_city_archived(self, event):
        """Stop the city's webhooks and e-mail: later events for it are dropped.

        Disables its endpoints and cancels their queued deliveries and its unsent
        e-mail, with reason ``city_archived``. The delivery history and the
        attempts log are kept.
        """
        city, now = event["city"], utcnow()
        self.tenant.registry.archive(city, event["data"]["archived_at"])
        disabled = self.store.disable_city(city, now)
        cancelled = self.store.cancel_city(city, now)
        mail = self.deliveries.mail_store.cancel_city(city)
        logger.info("city %s archived: %s endpoints disabled, %s deliveries and %s "
                    "e-mails cancelled", city, disabled, cancelled, mail)

    @durable_event_handler("badges", events.BADGE_ISSUED)
    @consumes(events.BADGE_ISSUED)
    def handle_badge_issued(self, event):
        """Queue ``badge.issued`` for the city's subscribers and the "badge earned" e-mail."""
        self._fan_out(event, "badges")
        base_url = load_settings(self.deliveries.container.config).public_base_url
        people.badge_earned(self.deliveries.mail_store, self._city(event), event,
                            base_url)

    @durable_event_handler("badges", events.BADGE_REVOKED)
    @consumes(events.BADGE_REVOKED)
    def handle_badge_revoked(self, event):
        self._fan_out(event, "badges")

    @durable_event_handler("catalog", events.OPPORTUNITY_PUBLISHED)
    @consumes(events.OPPORTUNITY_PUBLISHED)
    def handle_opportunity_published(self, event):
        opportunity = event["data"]["opportunity"]
        self.deliveries.mail_store.remember_opportunity(
            event["city"], opportunity["id"], opportunity["title"],
            people.first_date(opportunity), people.place(opportunity))
        self._fan_out(event, "catalog")

    @durable_event_handler("registration", events.YOUTH_REGISTERED)
    @consumes(events.YOUTH_REGISTERED)
    def handle_youth_registered(self, event):
        """Queue ``registration.<status>`` and the confirmation or waitlist e-mail."""
        self._fan_out(event, "registration")
        people.registration_confirmed(self.deliveries.mail_store, self._city(event),
                                      event)

    @durable_event_handler("registration", events.REGISTRATION_CANCELLED)
    @consumes(events.REGISTRATION_CANCELLED)
    def handle_registration_cancelled(self, event):
        """Queue ``registration.cancelled`` and the cancellation e-mail.

        The ``youth_erased`` handler erases contacts; a cancellation for an erasure
        sends no e-mail.
        """
        self._fan_out(event, "registration")
        people.registration_cancelled(self.deliveries.mail_store, self._city(event),
                                      event)

    @durable_event_handler("registration", events.YOUTH_ERASED)
    @consumes(events.YOUTH_ERASED)
    def handle_youth_erased(self, event):
        """Forget the youth's contact and delete unsent mail about them and guardians.

        Webhook deliveries and their event copies stay, because partners got them.
        Dispatches ``youth_erasure_acknowledged``.
        """
        data = event["data"]
        counts = self.deliveries.mail_store.erase_youth(
            event["city"], data["youth_id"], data["guardian_ids"])
        logger.info("erased the mail data of youth %s (erasure %s): %s",
                    data["youth_id"], data["erasure_id"], counts)
        acknowledge_erasure(self.publish, event, self.name, counts)

    @durable_event_handler("registration", events.WAITLIST_PROMOTED)
    @consumes(events.WAITLIST_PROMOTED)
    def handle_waitlist_promoted(self, event):
        """Queue the e-mail telling the youth's contact that a place opened."""
        people.waitlist_promoted(self.deliveries.mail_store, self._city(event), event)

    @durable_event_handler("registration", events.GUARDIAN_CONSENT_REQUESTED)
    @consumes(events.GUARDIAN_CONSENT_REQUESTED)
    def handle_guardian_consent_requested(self, event):
        """Queue the e-mail with the consent link to the guardian (transactional)."""
        queue_consent_request(self.deliveries.mail_store, self._city(event), event)

    @durable_event_handler("identity", events.ACCOUNT_VERIFICATION_REQUESTED)
    @consumes(events.ACCOUNT_VERIFICATION_REQUESTED)
    def handle_account_verification_requested(self, event):
        """Queue the e-mail with the link that verifies a new account's address."""
        self._account_link(event)

    @durable_event_handler("identity", events.ACCOUNT_SETUP_REQUESTED)
    @consumes(events.ACCOUNT_SETUP_REQUESTED)
    def handle_account_setup_requested(self, event):
        """Queue the e-mail with the link where an invited person sets a password."""
        self._account_link(event)

    @durable_event_handler("identity", events.ACCOUNT_PASSWORD_RESET_REQUESTED)
    @consumes(events.ACCOUNT_PASSWORD_RESET_REQUESTED)
    def handle_account_password_reset_requested(self, event):
        """Queue the e-mail with the link that sets a forgotten password."""
        self._account_link(event)

    def _account_link(self, event) -> None:
        base_url = load_settings(self.deliveries.container.config).public_base_url
        queue_account_link(self.deliveries.mail_store, self._city(event), event,
                           base_url)

    def _city(self, event) -> dict:
        return self.store.cities.get(self.tenant.registry.require(event["city"])) or {}

    def _fan_out(self, event, source_service: str) -> int:
        """Queue one delivery per active subscription whose filters match the event.

        The event is also kept for replays when any subscription of the city,
        active or disabled, wants its type. Returns the number of deliveries queued.
        """
        city = self.tenant.registry.require(event["city"])
        kind = webhook_type(event)
        interested = [subscription for subscription in self.store.any_subscription(city)
                      if matches(subscription["event_types"], kind)]
        if not interested:
            return 0
        body = cloud_event(event, source_service, kind)
        self.store.record_event(city, event["event_id"], kind, event["occurred_at"], body)
        active = [subscription for subscription in self.store.active_subscriptions(city)
                  if matches(subscription["event_types"], kind)]
        queued = self.store.enqueue_many(active, event["event_id"], kind, body, utcnow())
        logger.info("queued %s %s deliveries", queued, kind)
        return queued

    # Subscriptions

    @rpc(expected_exceptions=EXPECTED)
    def create_subscription(self, partner, request):
        """Subscribe a partner endpoint to the context city's events.

        Returns the subscription with its signing secret, which is shown only here
        and on rotation. Raises ``InvalidInput`` for an unknown event type, an
        unsafe URL or a partner id that disagrees with ``request["partner"]``.
        """
        city = self.tenant.city
        fields = load(SubscriptionCreateSchema, request, "invalid webhook subscription")
        partner = self._partner(partner, fields.pop("partner", None))
        self._check_url(fields["url"])
        if self.store.count_subscriptions(city, partner) >= MAX_SUBSCRIPTIONS_PER_PARTNER:
            raise Conflict(f"partner {partner!r} already has "
                           f"{MAX_SUBSCRIPTIONS_PER_PARTNER} endpoints in {city}")
        secret = new_secret()
        document = self.store.add_subscription(city, partner, fields, secret)
        logger.info("subscription %s for partner %s", document["_id"], partner)
        return subscription_view(document, utcnow(), secret)

    @rpc(expected_exceptions=EXPECTED)
    def list_subscriptions(self, partner):
        city = self.tenant.city
        partner = self._partner(partner, None)
        now = utcnow()
        return [subscription_view(document, now)
                for document in self.store.list_subscriptions(city, partner)]

    @rpc(expected_exceptions=EXPECTED)
    def get_subscription(self, partner, subscription_id):
        return subscription_view(self._subscription(partner, subscription_id), utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def update_subscription(self, partner, subscription_id, request):
        """Change an endpoint's URL, filters, contact or status.

        Setting ``status`` to ``active`` enables a disabled endpoint again and
        clears its failure record. Deliveries dead-lettered meanwhile come back only
        through a replay.
        """
        subscription = self._subscription(partner, subscription_id)
        changes = load(SubscriptionUpdateSchema, request, "invalid webhook update")
        if "url" in changes:
            self._check_url(changes["url"])
        if changes.get("status") == "active":
            changes.update(disabled_reason=None, disabled_at=None, failing_since=None)
        elif changes.get("status") == "disabled" and subscription["status"] == "active":
            changes.update(disabled_reason="partner", disabled_at=utcnow())
        document = self.store.update_subscription(subscription["_id"], changes)
        logger.info("subscription %s updated: %s", subscription["_id"],
                    ", ".join(sorted(changes)))
        return subscription_view(document, utcnow())

    @rpc(expected_exceptions=EXPECTED)
    def delete_subscription(self, partner, subscription_id):
        """Delete an endpoint; its queued deliveries are dropped, its history kept."""
        subscription = self._subscription(partner, subscription_id)
        dropped = self.store.delete_subscription(subscription["_id"])
        logger.info("subscription %s deleted with %s queued deliveries",
                    subscription["_id"], dropped)
        return {"id": subscription["_id"], "deleted": True, "dropped_deliveries": dropped}

    @rpc(expected_exceptions=EXPECTED)
    def rotate_secret(self, partner, subscription_id, request=None):
        """Make a new signing secret; sign with old and new until the overlap ends.

        Returns the subscription with the new ``secret``. ``overlap_seconds``
        (default ``WEBHOOKS_ROTATION_OVERLAP_SECONDS``, 0 for none) sets how long
        the previous secret still signs. Secrets from earlier rotations stop at once.
        """
        subscription = self._subscription(partner, subscription_id)
        options = load(RotateSecretSchema, request, "invalid secret rotation")
        overlap = options["overlap_seconds"]
        if overlap is None:
            overlap = self.deliveries.webhook_settings.rotation_overlap_seconds
        now = utcnow()
        secret = new_secret()
        signing = [{"secret": secret, "expires_at": None}]
        if overlap > 0:
            current = subscription["secrets"][0]["secret"]
            signing.append({"secret": current,
                            "expires_at": now + timedelta(seconds=overlap)})
        document = self.store.update_subscription(subscription["_id"],
                                                  {"secrets": signing})
        logger.info("subscription %s secret rotated, overlap %s s", subscription["_id"],
                    overlap)
        return subscription_view(document, now, secret)

    # Deliveries, attempts and replays

    @rpc(expected_exceptions=EXPECTED)
    def list_deliveries(self, partner, subscription_id, query=None):
        subscription = self._subscription(partner, subscription_id)
        options = load(DeliveryQuerySchema, query, "invalid delivery query")
        documents = self.store.list_deliveries(subscription, options.get("status"),
                                               options["limit"])
        return [delivery_view(document) for document in documents]

    @rpc(expected_exceptions=EXPECTED)
    def list_attempts(self, partner, subscription_id, query=None):
        """Return the endpoint's attempts, oldest first: status, latency, excerpt."""
        subscription = self._subscription(partner, subscription_id)
        options = load(AttemptQuerySchema, query, "invalid attempt query")
        documents = self.store.list_attempts(subscription, options.get("event_id"),
                                             options.get("since"), options["limit"])
        return [attempt_view(document) for document in documents]

    @rpc(expected_exceptions=EXPECTED)
    def replay(self, partner, subscription_id, request):
        """Send one event, or every matching event received in a time range, again.

        Replayed messages keep their ``webhook-id``. Raises ``NotFound`` for an
        unknown event and ``Conflict`` for a disabled endpoint.
        """
        subscription = self._subscription(partner, subscription_id)
        if subscription["status"] != "active":
            raise Conflict(f"endpoint {subscription['_id']} is {subscription['status']}; "
                           "enable it before replaying")
        options = load(ReplaySchema, request, "invalid replay")
        city = subscription["city"]
        now = utcnow()
        if "event_id" in options:
            event = self.store.get_event(city, options["event_id"])
            if event is None or not matches(subscription["event_types"], event["type"]):
                raise NotFound(f"event {options['event_id']!r} not found for endpoint "
                               f"{subscription['_id']} in {city}")
            selected = [event]
        else:
            until = options.get("until") or now
            found = self.store.events_between(city, options["since"], until,
                                              MAX_REPLAY_EVENTS + 1)
            if len(found) > MAX_REPLAY_EVENTS:
                raise InvalidInput({"since": [f"the range contains more than "
                                              f"{MAX_REPLAY_EVENTS} events; split it"]},
                                   "invalid replay")
            selected = [event for event in found
                        if matches(subscription["event_types"], event["type"])]
        for event in selected:
            self.store.requeue(subscription, event, now)
        logger.info("replay of %s events to %s", len(selected), subscription["_id"])
        return {"queued": len(selected),
                "event_ids": [event["_id"] for event in selected][:100]}

    @rpc
    def list_dead_letters(self, city=None, partner=None, limit=100):
        """Return dead-lettered deliveries, newest first, for operators (all cities)."""
        limit = max(1, min(int(limit), 1000))
        return [delivery_view(document)
                for document in self.store.list_dead_letters(city, partner, limit)]

    @rpc(expected_exceptions=EXPECTED)
    def youth_mail_status(self, youth_id):
        """Return what the service stores for mail to a youth, as flags and counts.

        For operators and tests checking an erasure; it returns no address.
        """
        city = self.tenant.city
        youth_id = str(youth_id)
        return {"city": city, "youth_id": youth_id,
                **self.deliveries.mail_store.youth_mail_status(city, youth_id)}

    # Unsubscribing from e-mail

    @rpc(expected_exceptions=EXPECTED)
    def unsubscribe(self, token, confirm=False):
        """Return whether the token's address is unsubscribed; with ``confirm``, do it."""
        city = self.tenant.city
        mail = self.deliveries.mail_store
        preference = (mail.unsubscribe(city, str(token)) if confirm
                      else mail.preference_by_token(city, str(token)))
        if preference is None:
            raise NotFound(f"unsubscribe link not found in {city}")
        if confirm:
            logger.info("an address unsubscribed from e-mail")
        return {"city": city, "unsubscribed": preference["unsubscribed_at"] is not None}

    # Helpers

    def _partner(self, caller, in_body) -> str:
        partner = caller or in_body
        if not partner:
            raise InvalidInput({"partner": ["is missing: call with the partner's API key "
                                            "or as its org admin"]},
                               "invalid webhook request")
        if in_body and caller and in_body != caller:
            raise InvalidInput({"partner": ["differs from the calling partner"]},
                               "invalid webhook request")
        try:
            partner_field.deserialize(partner)
        except ValidationError as exc:
            raise InvalidInput({"partner": exc.messages}, "invalid webhook request") \
                from exc
        return partner

    def _subscription(self, partner, subscription_id) -> dict:
        city = self.tenant.city
        subscription = self.store.get_subscription(city, partner or None,
                                                   str(subscription_id))
        if subscription is None:
            raise NotFound(f"webhook subscription {subscription_id!r} not found in {city}")
        return subscription

    def _check_url(self, url: str) -> None:
        settings = self.deliveries.webhook_settings
        try:
            check_webhook_url(url, allow_loopback=settings.allow_loopback,
                              require_https=settings.require_https)
        except UnsafeUrl as exc:
            raise InvalidInput({"url": [str(exc)]}, "invalid webhook subscription") \
                from exc

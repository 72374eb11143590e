"""Operator entrypoints for webhook deliveries that can no longer be sent; mixed
into the service.

A delivery is dead-lettered when its retries ran out or its endpoint was disabled
(``engine.DeliveryEngine``). Operators see every city's dead letters, page
through them and send one again once its endpoint works. The gateway serves
these RPCs to operators only.
"""

import logging

from marshmallow import ValidationError

from cities_common.errors import Conflict, InvalidInput, NotFound
from cities_common.rpc import rpc
from services.notifications.schemas import DeadLetterQuerySchema
from services.notifications.storage import utcnow
from services.notifications.views import delivery_view

logger = logging.getLogger(__name__)

EXPECTED = (Conflict, InvalidInput, NotFound)


class DeadLetterEntrypoints:
    """List and requeue dead-lettered deliveries of every city."""

    @rpc(expected_exceptions=EXPECTED)
    def dead_letter_page(self, query=None):
        """Return one page of dead letters of every city (or ``city``), newest first.

        Pass the page's ``next_after`` as ``after`` for the next page. Raises
        ``InvalidInput`` for a bad filter, or an ``after`` no longer dead-lettered.
        """
        try:
            options = DeadLetterQuerySchema().load(query or {})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid dead-letter query") from exc
        after = None
        if options.get("after"):
            after = self.store.get_dead_letter(options["after"])
            if after is None:
                raise InvalidInput({"after": [
                    f"dead letter {options['after']!r} is no longer listed (it was "
                    "requeued or never existed); start again without after"]},
                    "invalid dead-letter query")
        limit = options["limit"]
        documents = self.store.list_dead_letters(options.get("city"),
                                                 options.get("partner"), limit, after)
        next_after = documents[-1]["_id"] if len(documents) == limit else None
        return {"dead_letters": [delivery_view(document) for document in documents],
                "next_after": next_after}

    @rpc(expected_exceptions=EXPECTED)
    def requeue_dead_letter(self, delivery_id):
        """Queue a dead-lettered delivery again now, under its ``webhook-id``.

        Its retry window starts again. Raises ``NotFound`` for an unknown id, and
        ``Conflict`` when its endpoint was deleted or is disabled, or its event is
        no longer stored.
        """
        dead = self.store.get_dead_letter(str(delivery_id))
        if dead is None:
            raise NotFound(f"dead letter {str(delivery_id)[:100]!r} not found")
        city = dead["city"]
        subscription = self.store.get_subscription(city, None, dead["subscription_id"])
        if subscription is None:
            raise Conflict(f"endpoint {dead['subscription_id']} of dead letter "
                           f"{dead['_id']} was deleted; nothing to send it to")
        if subscription["status"] != "active":
            raise Conflict(f"endpoint {subscription['_id']} is "
                           f"{subscription['status']}; enable it before requeueing "
                           f"dead letter {dead['_id']}")
        event = self.store.get_event(city, dead["event_id"])
        if event is None:
            raise Conflict(f"event {dead['event_id']} of dead letter {dead['_id']} is "
                           "no longer stored")
        outcome = self.store.requeue(subscription, event, utcnow())
        logger.info("dead letter %s requeued for %s in %s (%s)", dead["_id"],
                    subscription["_id"], city, outcome)
        return {"id": dead["_id"], "city": city,
                "subscription_id": subscription["_id"], "event_id": event["_id"],
                "outcome": outcome}

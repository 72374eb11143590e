"""The event routes of the platform, declared on RabbitMQ at deployment time.

nameko declares a handler's queue only when its service starts, so an event sent
earlier would be routed nowhere and lost. ``declare`` creates every exchange, queue,
binding and dead-letter queue up front; services then find their queues waiting.
``tests/unit/test_topology.py`` checks that this table matches the handlers the
services really declare, because nameko derives the queue name from the handler's
method name: renaming a handler without updating this table would orphan its queue.

Run ``python -m cities_common.topology`` (with ``AMQP_URI`` set) to declare it.
"""

import logging
from typing import NamedTuple

from kombu import Connection, Exchange, Queue

from cities_common import events
from cities_common.config import load_settings
from cities_common.handlers import (
    DEAD_LETTER_EXCHANGE, dead_letter_queue_name, handler_queue,
)

logger = logging.getLogger(__name__)


class Route(NamedTuple):
    source: str
    event_type: str
    service: str
    method: str


ROUTES = [
    Route("catalog", events.CITY_ONBOARDED, "search", "handle_city_onboarded"),
    Route("catalog", events.CITY_ONBOARDED, "registration", "handle_city_onboarded"),
    Route("catalog", events.OPPORTUNITY_UPDATED, "registration",
          "handle_opportunity_updated"),
    Route("catalog", events.OPPORTUNITY_WITHDRAWN, "registration",
          "handle_opportunity_withdrawn"),
    Route("catalog", events.CITY_ONBOARDED, "badges", "handle_city_onboarded"),
    Route("catalog", events.CITY_ONBOARDED, "notifications", "handle_city_onboarded"),
    Route("catalog", events.ORGANIZATION_PUBLISHED, "search",
          "handle_organization_published"),
    Route("catalog", events.OPPORTUNITY_PUBLISHED, "search",
          "handle_opportunity_published"),
    Route("catalog", events.OPPORTUNITY_UPDATED, "search", "handle_opportunity_updated"),
    Route("catalog", events.OPPORTUNITY_WITHDRAWN, "search",
          "handle_opportunity_withdrawn"),
    Route("registration", events.PROGRAM_COMPLETED, "badges",
          "handle_program_completed"),
    Route("badges", events.BADGE_ISSUED, "notifications", "handle_badge_issued"),
    Route("badges", events.BADGE_REVOKED, "notifications", "handle_badge_revoked"),
    Route("catalog", events.OPPORTUNITY_PUBLISHED, "notifications",
          "handle_opportunity_published"),
    Route("registration", events.YOUTH_REGISTERED, "notifications",
          "handle_youth_registered"),
    Route("registration", events.REGISTRATION_CANCELLED, "notifications",
          "handle_registration_cancelled"),
    Route("catalog", events.CITY_ONBOARDED, "identity", "handle_city_onboarded"),
    Route("catalog", events.CITY_ARCHIVED, "identity", "handle_city_archived"),
    Route("catalog", events.CITY_ARCHIVED, "search", "handle_city_archived"),
    Route("catalog", events.CITY_ARCHIVED, "registration", "handle_city_archived"),
    Route("catalog", events.CITY_ARCHIVED, "badges", "handle_city_archived"),
    Route("catalog", events.CITY_ARCHIVED, "notifications", "handle_city_archived"),
    Route("registration", events.YOUTH_ERASED, "identity", "handle_youth_erased"),
    Route("registration", events.YOUTH_ERASED, "badges", "handle_youth_erased"),
    Route("registration", events.YOUTH_ERASED, "notifications", "handle_youth_erased"),
    Route("identity", events.YOUTH_ERASURE_ACKNOWLEDGED, "registration",
          "handle_youth_erasure_acknowledged"),
    Route("badges", events.YOUTH_ERASURE_ACKNOWLEDGED, "registration",
          "handle_youth_erasure_acknowledged"),
    Route("notifications", events.YOUTH_ERASURE_ACKNOWLEDGED, "registration",
          "handle_youth_erasure_acknowledged"),
    Route("identity", events.ACCOUNT_VERIFICATION_REQUESTED, "notifications",
          "handle_account_verification_requested"),
    Route("identity", events.ACCOUNT_SETUP_REQUESTED, "notifications",
          "handle_account_setup_requested"),
    Route("identity", events.ACCOUNT_PASSWORD_RESET_REQUESTED, "notifications",
          "handle_account_password_reset_requested"),
    Route("registration", events.WAITLIST_PROMOTED, "notifications",
          "handle_waitlist_promoted"),
    Route("registration", events.GUARDIAN_CONSENT_REQUESTED, "notifications",
          "handle_guardian_consent_requested"),
]


def consumers(event_type: str) -> tuple[str, ...]:
    """Return the services that handle ``event_type``, in the order of ``ROUTES``."""
    return tuple(dict.fromkeys(route.service for route in ROUTES
                               if route.event_type == event_type))


def declare(amqp_uri: str) -> list[str]:
    """Declare every route's exchange, queue and dead-letter queue; return queue names.

    Declaring is idempotent: RabbitMQ accepts a declaration equal to the existing one.
    """
    dead_letters = Exchange(DEAD_LETTER_EXCHANGE, type="direct", durable=True)
    declared = []
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        dead_letters(channel).declare()
        for route in ROUTES:
            queue = handler_queue(*route)
            queue(channel).declare()
            dead_letter = Queue(dead_letter_queue_name(queue.name), exchange=dead_letters,
                                routing_key=queue.name, durable=True)
            dead_letter(channel).declare()
            declared.append(queue.name)
    return declared


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    settings = load_settings()
    names = declare(settings.amqp_uri)
    logger.info("declared %s event queues and their dead-letter queues", len(names))


if __name__ == "__main__":
    main()

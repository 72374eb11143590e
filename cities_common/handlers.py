"""Durable, idempotent event handling with retries and a dead-letter queue.

``durable_event_handler`` is nameko's ``event_handler`` with two changes:

* its queue carries ``x-dead-letter-exchange`` arguments, and ``topology`` declares
  the same queue when the platform is deployed, so events sent before a consumer
  first starts wait in its queue;
* a message whose handler failed is rejected without requeue, which moves it to the
  handler's dead-letter queue (``dlq.<queue>``) instead of acknowledging it away.

``consumes`` wraps the handler body: it validates the envelope, binds the city and
event id for logging, skips an event id the handler has already processed, retries
transient failures with backoff, and records the event id once the body succeeded.
A validation error is not retried: the event goes straight to the dead-letter queue.

An event for an archived city (the handler raised ``CityArchived``) is neither
retried nor dead-lettered. Archiving is final and the catalog keeps the city's
records for export, so there is nothing to apply the event to later: the event
is acknowledged, recorded as processed, logged once and counted as
``dropped_archived`` in ``col_events_handled_total``.
"""

import functools
import logging

import elastic_transport
import pymongo.errors
from kombu import Queue
from nameko.events import SERVICE_POOL, EventHandler
from nameko.messaging import Consumer
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from tenacity import (
    Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter,
)

from cities_common import context
from cities_common.errors import CityArchived, UnknownCity
from cities_common.events import parse_event
from cities_common.metrics import EVENTS_HANDLED

logger = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "dead-letters"

# Failures worth retrying: the store was unreachable, or the city's own
# ``city_onboarded`` event is still on its way through another queue.
TRANSIENT_ERRORS = (
    pymongo.errors.AutoReconnect,
    pymongo.errors.ServerSelectionTimeoutError,
    pymongo.errors.NetworkTimeout,
    elastic_transport.ConnectionError,
    elastic_transport.ConnectionTimeout,
    UnknownCity,
)
RETRY_ATTEMPTS = 6


def handler_queue_name(source: str, event_type: str, service: str, method: str) -> str:
    """Return the queue name nameko gives a service-pool event handler."""
    return f"evt-{source}-{event_type}--{service}.{method}"


def dead_letter_queue_name(queue_name: str) -> str:
    return f"dlq.{queue_name}"


def handler_queue(source: str, event_type: str, service: str, method: str) -> Queue:
    """Build the durable queue of one handler, as both nameko and deployment declare it."""
    name = handler_queue_name(source, event_type, service, method)
    return Queue(
        name,
        exchange=get_event_exchange(source, {}),
        routing_key=event_type,
        durable=True,
        auto_delete=False,
        exclusive=False,
        queue_arguments={
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
        },
    )


class DurableEventHandler(EventHandler):
    """A service-pool event handler whose failed messages are dead-lettered."""

    def __init__(self, source_service, event_type, **kwargs):
        super().__init__(source_service, event_type, handler_type=SERVICE_POOL,
                         reliable_delivery=True, requeue_on_error=False, **kwargs)

    def setup(self):
        self.queue = handler_queue(self.source_service, self.event_type,
                                   self.container.service_name, self.method_name)
        Consumer.setup(self)

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        if message.channel.connection:
            # The broker routes a rejected message to the dead-letter exchange.
            message.reject(requeue=False)


durable_event_handler = DurableEventHandler.decorator


class EventInbox(DependencyProvider):
    """Remember which event ids each handler has processed, in the service's database."""

    def setup(self):
        from cities_common.config import load_settings
        from cities_common.storage import mongo_client

        settings = load_settings(self.container.config)
        database = mongo_client(settings.mongo_url)[
            settings.mongo_database(self.container.service_name)
        ]
        self.collection = database["processed_events"]

    def get_dependency(self, worker_ctx):
        return self

    def seen(self, key: str) -> bool:
        return self.collection.count_documents({"_id": key}, limit=1) > 0

    def mark(self, key: str, event_type: str) -> None:
        self.collection.update_one(
            {"_id": key}, {"$setOnInsert": {"event_type": event_type}}, upsert=True
        )


def consumes(event_type: str, retry_attempts: int = RETRY_ATTEMPTS, wait_max: float = 4.0):
    """Wrap an event handler method that takes the validated envelope.

    The service must declare ``inbox = EventInbox()``. Raises the handler's last error
    after the retries, so ``DurableEventHandler`` dead-letters the message.
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, payload):
            service = self.name
            try:
                envelope = parse_event(payload, event_type)
            except Exception:
                EVENTS_HANDLED.labels(service, event_type, "dead_lettered").inc()
                logger.warning("dead-lettering an invalid %s event", event_type,
                               exc_info=True)
                raise
            context.bind(city=envelope["city"], event_id=envelope["event_id"],
                         request_id=envelope.get("request_id"))
            key = f"{envelope['event_id']}:{method.__name__}"
            if self.inbox.seen(key):
                EVENTS_HANDLED.labels(service, event_type, "duplicate").inc()
                logger.debug("skipping %s: already processed", event_type)
                return None
            retrying = Retrying(
                stop=stop_after_attempt(retry_attempts),
                wait=wait_exponential_jitter(multiplier=0.2, max=wait_max),
                retry=retry_if_exception_type(TRANSIENT_ERRORS),
                before_sleep=lambda state: logger.warning(
                    "retrying %s after %s (attempt %s)", event_type,
                    state.outcome.exception(), state.attempt_number,
                ),
                reraise=True,
            )
            try:
                result = retrying(method, self, envelope)
            except CityArchived as exc:
                self.inbox.mark(key, event_type)
                EVENTS_HANDLED.labels(service, event_type, "dropped_archived").inc()
                logger.warning("dropping %s %s: %s", event_type,
                               envelope["event_id"], exc)
                return None
            except Exception:
                EVENTS_HANDLED.labels(service, event_type, "dead_lettered").inc()
                logger.exception("dead-lettering %s after failure", event_type)
                raise
            self.inbox.mark(key, event_type)
            EVENTS_HANDLED.labels(service, event_type, "processed").inc()
            return result

        return wrapper

    return decorate

"""Dispatch events in the platform's envelope, persistent and with publisher confirms."""

from nameko.events import EventDispatcher

from cities_common.context import REQUEST_ID_KEY
from cities_common.events import make_event
from cities_common.metrics import EVENTS_DISPATCHED


class EventPublisher(EventDispatcher):
    """Inject ``publish(event_type, city, data, event_id=None) -> envelope``.

    nameko's dispatcher publishes to the durable ``<service>.events`` exchange with
    persistent delivery and waits for the broker's confirm, so ``publish`` returns
    only once RabbitMQ has taken the message. Raises ``InvalidInput`` when ``data``
    breaks the event's contract.
    """

    def get_dependency(self, worker_ctx):
        dispatch = super().get_dependency(worker_ctx)
        service = self.container.service_name

        def publish(event_type, city, data, event_id=None):
            envelope = make_event(event_type, city, data,
                                  request_id=worker_ctx.data.get(REQUEST_ID_KEY),
                                  event_id=event_id)
            dispatch(event_type, envelope)
            EVENTS_DISPATCHED.labels(service, event_type).inc()
            return envelope

        return publish

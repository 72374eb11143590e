"""The dependency provider that runs the delivery engine and the e-mail sender.

Both run as managed threads of the service container, beside the nameko workers
that handle events and RPC calls. A slow partner or SMTP server therefore never
occupies a worker that the event queues need.
"""

import logging
from urllib.parse import urlsplit

from nameko.extensions import DependencyProvider

from cities_common.config import load_settings
from cities_common.storage import mongo_client
from services.notifications.engine import DeliveryEngine
from services.notifications.mail import MailStore, Postman
from services.notifications.settings import MailSettings, WebhookSettings
from services.notifications.storage import NotificationStore, aware
from services.notifications.transport import HttpSender

logger = logging.getLogger(__name__)


class Deliveries(DependencyProvider):
    """Start the delivery engine and the postman; inject this provider.

    Workers use its ``webhook_settings``, ``mail_store`` and ``tell_owner``.
    """

    def setup(self):
        config = self.container.config
        settings = load_settings(config)
        database = mongo_client(settings.mongo_url)[
            settings.mongo_database(self.container.service_name)]
        self.webhook_settings = WebhookSettings.from_config(config)
        self.mail_settings = MailSettings.from_config(config)
        self.store = NotificationStore(database)
        self.mail_store = MailStore(database)
        self.mail_store.ensure_indexes()
        self.sender = HttpSender(
            self.webhook_settings.timeout_seconds,
            pool_size=self.webhook_settings.endpoint_concurrency,
            allow_loopback=self.webhook_settings.allow_loopback,
            require_https=self.webhook_settings.require_https,
        )
        self.engine = DeliveryEngine(self.store, self.sender, self.webhook_settings,
                                     on_disabled=self.tell_owner)
        self.postman = Postman(self.mail_store, self.mail_settings,
                               settings.public_base_url,
                               poll_seconds=min(1.0, self.webhook_settings.poll_seconds))

    def start(self):
        self.engine.start(spawn=self._spawn)
        self.postman.start(spawn=self._spawn)
        logger.debug("webhook engine started with %s workers",
                     self.webhook_settings.workers)

    def stop(self):
        self.engine.stop()
        self.postman.stop()
        self.sender.close()

    def kill(self):
        self.engine.running = False
        self.postman.running = False

    def get_dependency(self, worker_ctx):
        return self

    def _spawn(self, function):
        return self.container.spawn_managed_thread(function)

    def tell_owner(self, subscription: dict) -> bool:
        """Queue the "endpoint disabled" e-mail to the subscription's contact, if any."""
        address = subscription.get("contact_email")
        if not address:
            logger.warning("endpoint %s was disabled but has no contact e-mail",
                           subscription["_id"])
            return False
        city = subscription["city"]
        city_record = self.store.cities.get(city) or {}
        url = subscription["url"]
        variables = {
            "partner": subscription["partner"], "subscription_id": subscription["_id"],
            "endpoint_url": url, "endpoint_host": urlsplit(url).hostname or url,
            "city": city, "city_name": city_record.get("name", city),
            "failing_since": aware(subscription["failing_since"]).isoformat(
                timespec="minutes"),
        }
        reference = f"{subscription['_id']}:{aware(subscription['disabled_at']).isoformat()}"
        return self.mail_store.queue(city, "endpoint_disabled", reference, address,
                                     subscription.get("language") or "en", variables)

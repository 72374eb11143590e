"""The delivery engine: claims due webhook deliveries, sends them, records outcomes.

One dispatcher greenthread leases due deliveries from the queue in batches and
hands each to a bounded pool of ``workers`` greenthreads, never letting more than
``endpoint_concurrency`` of them work on one endpoint. A slow or broken endpoint
therefore occupies at most that many workers, each for at most the timeout, and
the other workers keep serving every other endpoint. A flusher greenthread writes the
outcomes in batches: attempts, finished deliveries, retries and endpoint health.

NOTE: the concurrency cap is per notifications process; N processes allow up to
N times ``endpoint_concurrency`` requests at once to one endpoint.
"""

import logging
import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import eventlet
from eventlet.event import Event
from prometheus_client import Counter as PrometheusCounter, Histogram

from services.notifications.settings import WebhookSettings
from services.notifications.signing import signature_header
from services.notifications.storage import (
    CITY_ARCHIVED, NotificationStore, aware, utcnow,
)
from services.notifications.transport import AttemptResult

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 0.1

ATTEMPTS = PrometheusCounter(
    "col_webhook_attempts_total",
    "Webhook delivery attempts by outcome: delivered, failed or unsafe.",
    ["outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "col_webhook_attempt_duration_seconds",
    "Time from the start of a webhook attempt to its response or error, in seconds.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
FINISHED = PrometheusCounter(
    "col_webhook_deliveries_finished_total",
    "Webhook deliveries that left the queue, by status: delivered, dead or cancelled.",
    ["status"],
)


def backoff_seconds(failed_attempts: int, base: float, maximum: float,
                    rng: random.Random | None = None) -> float:
    """Return the wait before the next attempt after ``failed_attempts`` failures.

    The ceiling doubles from ``base`` up to ``maximum``. The wait is drawn
    uniformly from the upper half of it ("equal jitter"), so retries to a
    recovering endpoint spread out but never come sooner than half the schedule.
    """
    exponent = min(max(failed_attempts - 1, 0), 40)
    ceiling = min(maximum, base * 2.0 ** exponent)
    return (rng or random).uniform(ceiling / 2, ceiling)


def cancelled_details(delivery: dict, subscription: dict | None) -> dict:
    """Return the history details of a delivery whose endpoint is gone or disabled."""
    details = {"attempts": delivery["attempts"], "last_status_code": None,
               "last_error": "subscription deleted or disabled"}
    if subscription is not None and subscription.get("disabled_reason") == CITY_ARCHIVED:
        details["reason"] = CITY_ARCHIVED
    return details


def signing_secrets(subscription: dict, now: datetime) -> list[str]:
    """Return the secrets to sign with: the current one and any still in overlap."""
    return [item["secret"] for item in subscription["secrets"]
            if item["expires_at"] is None or aware(item["expires_at"]) > now]


def signed_headers(subscription: dict, delivery: dict, now: datetime) -> dict:
    webhook_id = delivery.get("webhook_id", delivery["_id"])
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header(signing_secrets(subscription, now),
                                              webhook_id, now, delivery["body"]),
    }


@dataclass
class Outcome:
    delivery: dict
    subscription: dict | None
    result: AttemptResult | None
    attempted_at: datetime


class DeliveryEngine:
    """Send queued deliveries until stopped; see the module docstring.

    ``sender`` has ``post(url, body, headers) -> AttemptResult``;
    ``on_disabled(subscription)`` runs after an endpoint was disabled for failing.
    """

    def __init__(self, store: NotificationStore, sender, settings: WebhookSettings,
                 on_disabled: Callable[[dict], None] | None = None):
        self.store = store
        self.sender = sender
        self.settings = settings
        self.on_disabled = on_disabled
        self.pool = eventlet.GreenPool(settings.workers)
        self.in_flight: Counter[str] = Counter()
        self.outcomes: list[Outcome] = []
        self.running = False
        self.stopped = Event()
        self._threads: list = []

    def start(self, spawn=eventlet.spawn) -> None:
        self.running = True
        self._threads = [spawn(self._dispatch_loop), spawn(self._flush_loop)]

    def stop(self, timeout: float | None = None) -> None:
        """Stop claiming, let attempts in flight finish, and record them."""
        self.running = False
        with eventlet.Timeout(timeout or self.settings.timeout_seconds + 5, False):
            self.pool.waitall()
        for thread in self._threads:
            thread.wait()
        self.flush()

    # Dispatching

    def _dispatch_loop(self) -> None:
        while self.running:
            try:
                claimed = self.dispatch_once()
            except Exception:
                logger.exception("claiming due webhook deliveries failed; retrying")
                claimed = 0
            if not claimed:
                eventlet.sleep(self.settings.poll_seconds)

    def dispatch_once(self) -> int:
        """Lease due deliveries for free workers and start them; return how many."""
        free = self.pool.free()
        if free <= 0:
            eventlet.sleep(0.01)
            return 0
        cap = self.settings.endpoint_concurrency
        saturated = {key for key, count in self.in_flight.items() if count >= cap}
        now = utcnow()
        candidates = self.store.due_candidates(now, self.settings.batch_size, saturated)
        planned = Counter(self.in_flight)
        picked = []
        for candidate in candidates:
            if len(picked) >= free:
                break
            if planned[candidate["subscription_id"]] >= cap:
                continue
            planned[candidate["subscription_id"]] += 1
            picked.append(candidate["_id"])
        if not picked:
            return 0

        lease = timedelta(seconds=self.settings.lease_seconds)
        deliveries = self.store.claim(picked, now, lease)
        subscriptions = self.store.subscriptions_by_id(
            {delivery["subscription_id"] for delivery in deliveries})
        for delivery in deliveries:
            subscription = subscriptions.get(delivery["subscription_id"])
            if subscription is None or subscription["status"] != "active":
                self.outcomes.append(Outcome(delivery, subscription, None, now))
                continue
            self.in_flight[subscription["_id"]] += 1
            self.pool.spawn_n(self._attempt, delivery, subscription)
        return len(deliveries)

    def _attempt(self, delivery: dict, subscription: dict) -> None:
        now = utcnow()
        try:
            headers = signed_headers(subscription, delivery, now)
            result = self.sender.post(subscription["url"], delivery["body"].encode(),
                                      headers)
        except Exception as exc:
            logger.exception("webhook attempt %s failed unexpectedly", delivery["_id"])
            result = AttemptResult(None, 0.0, error=f"internal error: {type(exc).__name__}")
        finally:
            self.in_flight[subscription["_id"]] -= 1
            if self.in_flight[subscription["_id"]] <= 0:
                del self.in_flight[subscription["_id"]]
        ATTEMPT_SECONDS.observe(result.latency_ms / 1000)
        self.outcomes.append(Outcome(delivery, subscription, result, now))

    # Recording

    def _flush_loop(self) -> None:
        while self.running:
            eventlet.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:
                logger.exception("recording webhook outcomes failed; retrying")

    def flush(self) -> int:
        """Record every outcome collected so far; return how many.

        On a store error the outcomes go back to the list for the next flush.
        Their leases keep other processes from sending them meanwhile.
        """
        batch, self.outcomes = self.outcomes, []
        if not batch:
            return 0
        try:
            self._record(batch, utcnow())
        except Exception:
            self.outcomes = batch + self.outcomes
            raise
        return len(batch)

    def _record(self, batch: list[Outcome], now: datetime) -> None:
        attempts, retries, finished = [], [], []
        succeeded, failed = set(), {}
        for outcome in batch:
            delivery, result = outcome.delivery, outcome.result
            if result is None:
                finished.append((delivery, "cancelled",
                                 cancelled_details(delivery, outcome.subscription)))
                continue
            number = delivery["attempts"] + 1
            attempts.append(self._attempt_record(outcome, number))
            details = {"attempts": number, "last_status_code": result.status_code,
                       "last_error": result.error}
            if result.succeeded:
                ATTEMPTS.labels("delivered").inc()
                finished.append((delivery, "delivered", details))
                succeeded.add(delivery["subscription_id"])
                continue
            ATTEMPTS.labels("unsafe" if (result.error or "").startswith("unsafe")
                            else "failed").inc()
            failed[delivery["subscription_id"]] = outcome.subscription
            window = now - aware(delivery["window_started_at"])
            if window.total_seconds() >= self.settings.retry_for_seconds:
                finished.append((delivery, "dead", details))
                logger.warning("webhook delivery %s to %s is dead after %s attempts",
                               delivery["_id"], delivery["subscription_id"], number)
                continue
            wait = backoff_seconds(number, self.settings.backoff_base_seconds,
                                   self.settings.backoff_max_seconds)
            error = result.error or f"HTTP {result.status_code}"
            retries.append((delivery, now + timedelta(seconds=wait), error))

        self.store.record_attempts(attempts)
        self.store.finish(finished, now)
        self.store.reschedule(retries)
        for _, status, _ in finished:
            FINISHED.labels(status).inc()
        self._update_health(succeeded, failed, now)
        if retries:
            logger.info("%s webhook attempts failed; retrying them with backoff",
                        len(retries))

    @staticmethod
    def _attempt_record(outcome: Outcome, number: int) -> dict:
        delivery, result = outcome.delivery, outcome.result
        return {
            "delivery_id": delivery["_id"],
            "webhook_id": delivery.get("webhook_id", delivery["_id"]),
            "city": delivery["city"],
            "partner": delivery["partner"],
            "subscription_id": delivery["subscription_id"],
            "event_id": delivery["event_id"], "attempt": number,
            "at": outcome.attempted_at, "status_code": result.status_code,
            "latency_ms": round(result.latency_ms, 1),
            "response_excerpt": result.response_excerpt, "error": result.error,
        }

    def _update_health(self, succeeded: set, failed: dict, now: datetime) -> None:
        """Track when endpoints started failing, and disable those failing too long."""
        if succeeded:
            self.store.mark_succeeded(succeeded)
        failing = {key: value for key, value in failed.items() if key not in succeeded}
        if not failing:
            return
        self.store.mark_failing(failing, now)
        threshold = now - timedelta(seconds=self.settings.disable_after_seconds)
        for subscription_id, snapshot in failing.items():
            since = aware(snapshot.get("failing_since")) if snapshot else None
            if since is None or since > threshold:
                continue
            disabled = self.store.disable_if_failing(subscription_id, threshold, now)
            if disabled is not None:
                self.disable(disabled, now)

    def disable(self, subscription: dict, now: datetime) -> None:
        """Dead-letter a disabled endpoint's queued deliveries and tell its owner."""
        queued = self.store.queued_for(subscription["_id"])
        self.store.finish([(delivery, "dead", {
            "attempts": delivery["attempts"], "last_status_code": None,
            "last_error": delivery.get("last_error"), "reason": "endpoint_disabled",
        }) for delivery in queued], now)
        logger.warning("disabled webhook endpoint %s of partner %s after failing "
                       "since %s; dead-lettered %s queued deliveries",
                       subscription["_id"], subscription["partner"],
                       aware(subscription["failing_since"]).isoformat(), len(queued))
        if self.on_disabled is not None:
            try:
                self.on_disabled(subscription)
            except Exception:
                logger.exception("could not tell the owner of %s it was disabled",
                                 subscription["_id"])

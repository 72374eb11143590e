"""Sending one webhook delivery and deciding when to try again."""

import logging
import random
import time
from datetime import timedelta

import requests

from services.notifications.signing import sign
from services.notifications.storage import utcnow

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
GIVE_UP_AFTER = timedelta(hours=26)
MAX_BACKOFF_SECONDS = 3600.0


def backoff_seconds(attempts: int) -> float:
    """Return the wait before the next attempt: exponential, capped, with full jitter."""
    ceiling = min(MAX_BACKOFF_SECONDS, 2.0 ** min(attempts, 20))
    return random.uniform(ceiling / 2, ceiling)


def send(session: requests.Session, delivery: dict, subscription: dict):
    """POST a delivery to its endpoint; return (status code or None, excerpt, error).

    Redirects are not followed, because a redirect could lead to an internal address
    that the subscription check never saw.
    """
    timestamp = utcnow()
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery["_id"],
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": sign(subscription["secret"], delivery["_id"], timestamp,
                                  delivery["body"]),
    }
    try:
        response = session.post(subscription["url"], data=delivery["body"].encode(),
                                headers=headers, timeout=TIMEOUT_SECONDS,
                                allow_redirects=False)
    except requests.RequestException as exc:
        return None, "", f"{type(exc).__name__}: {exc}"[:300]
    return response.status_code, response.text[:200], None


def attempt(store, session: requests.Session, delivery: dict) -> str:
    """Make one attempt, record it, and schedule the next; return the new status."""
    subscription = store.get_subscription(delivery["subscription_id"])
    if subscription is None or not subscription.get("active"):
        store.finish(delivery, "cancelled")
        return "cancelled"
    started = time.perf_counter()
    status_code, excerpt, error = send(session, delivery, subscription)
    latency_ms = (time.perf_counter() - started) * 1000
    store.record_attempt(delivery, status_code, latency_ms, excerpt, error)
    if status_code is not None and 200 <= status_code < 300:
        store.finish(delivery, "delivered")
        return "delivered"
    created_at = delivery["created_at"]
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=utcnow().tzinfo)
    if utcnow() - created_at > GIVE_UP_AFTER:
        store.finish(delivery, "dead")
        logger.warning("webhook delivery %s is dead after %s attempts", delivery["_id"],
                       delivery["attempts"] + 1)
        return "dead"
    wait = backoff_seconds(delivery["attempts"] + 1)
    store.finish(delivery, "pending", utcnow() + timedelta(seconds=wait))
    logger.info("webhook delivery %s failed (%s); next attempt in %.0f s",
                delivery["_id"], status_code or error, wait)
    return "pending"

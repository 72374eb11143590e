"""The notifications service's store: webhook subscriptions, deliveries and attempts."""

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import pymongo
from pymongo.errors import DuplicateKeyError

from cities_common.tenancy import CityRegistry


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def message_id(subscription_id: str, event_id: str) -> str:
    """Return the stable ``webhook-id`` of one event sent to one endpoint."""
    digest = hashlib.sha1(f"{subscription_id}\x1f{event_id}".encode()).hexdigest()
    return f"msg_{digest[:24]}"


class NotificationStore:
    def __init__(self, database):
        self.cities = CityRegistry(database)
        self.subscriptions = database["subscriptions"]
        self.deliveries = database["deliveries"]
        self.attempts = database["delivery_attempts"]

    def ensure_indexes(self) -> None:
        self.subscriptions.create_index([("city", 1), ("event_types", 1)],
                                        name="by_city_event_type")
        self.deliveries.create_index([("status", 1), ("next_attempt_at", 1)],
                                     name="due")
        self.attempts.create_index([("delivery_id", 1)], name="by_delivery")

    def add_subscription(self, city: str, subscription: dict) -> dict:
        document = {"_id": f"sub-{uuid.uuid4().hex[:20]}", "city": city,
                    **subscription, "active": True, "created_at": utcnow()}
        self.subscriptions.insert_one(document)
        return self._public(document)

    def matching_subscriptions(self, city: str, webhook_type: str) -> list[dict]:
        cursor = self.subscriptions.find({"city": city, "active": True,
                                          "event_types": webhook_type})
        return [self._public(document) for document in cursor]

    def add_delivery(self, city: str, subscription: dict, event_id: str,
                     webhook_type: str, body: str) -> bool:
        """Queue one delivery; return False when this event was already queued."""
        now = utcnow()
        try:
            self.deliveries.insert_one({
                "_id": message_id(subscription["id"], event_id), "city": city,
                "subscription_id": subscription["id"], "event_id": event_id,
                "type": webhook_type, "body": body, "status": "pending", "attempts": 0,
                "created_at": now, "next_attempt_at": now,
            })
        except DuplicateKeyError:
            return False
        return True

    def claim_due(self, limit: int, lease: timedelta) -> list[dict]:
        """Lease up to ``limit`` due deliveries, so two workers never send one at once."""
        now = utcnow()
        claimed = []
        for _ in range(limit):
            document = self.deliveries.find_one_and_update(
                {"status": "pending", "next_attempt_at": {"$lte": now}},
                {"$set": {"next_attempt_at": now + lease}},
                sort=[("next_attempt_at", 1)],
                return_document=pymongo.ReturnDocument.AFTER,
            )
            if document is None:
                break
            claimed.append(document)
        return claimed

    def get_subscription(self, subscription_id: str) -> dict | None:
        document = self.subscriptions.find_one({"_id": subscription_id})
        return self._public(document) if document else None

    def record_attempt(self, delivery: dict, status_code: int | None, latency_ms: float,
                       excerpt: str, error: str | None) -> None:
        self.attempts.insert_one({
            "delivery_id": delivery["_id"], "city": delivery["city"],
            "subscription_id": delivery["subscription_id"], "at": utcnow(),
            "status_code": status_code, "latency_ms": round(latency_ms, 1),
            "response_excerpt": excerpt, "error": error,
        })

    def finish(self, delivery: dict, status: str, next_attempt_at=None) -> None:
        changes = {"status": status, "attempts": delivery["attempts"] + 1,
                   "updated_at": utcnow()}
        if next_attempt_at is not None:
            changes["next_attempt_at"] = next_attempt_at
        self.deliveries.update_one({"_id": delivery["_id"]}, {"$set": changes})

    def list_deliveries(self, city: str, subscription_id: str) -> list[dict]:
        cursor = self.deliveries.find({"city": city, "subscription_id": subscription_id},
                                      {"body": 0}, sort=[("created_at", 1)])
        return [self._public(document) for document in cursor]

    @staticmethod
    def _public(document: dict) -> dict:
        public = {key: value for key, value in document.items() if key != "_id"}
        public["id"] = document["_id"]
        for key, value in public.items():
            if isinstance(value, datetime):
                public[key] = value.isoformat()
        return public

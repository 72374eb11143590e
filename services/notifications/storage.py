"""The notifications service's webhook store.

Collections:

* ``subscriptions``: one partner endpoint each, with its filters and secrets;
* ``events``: the CloudEvents body of every event some subscription could want,
  kept for replays;
* ``queue``: deliveries still to be sent, one per (event, endpoint), with the
  lease and schedule of the next attempt;
* ``deliveries``: deliveries that left the queue (delivered, dead or cancelled);
* ``attempts``: one record per HTTP attempt;
* ``dead_letters``: deliveries that can no longer be sent, for operators.

FerretDB 1.24 scans the whole collection for most queries, even by ``_id`` (about
30 ms at 20,000 documents, measured on the development machine). The hot path
therefore reads and updates only ``queue``, which contains just the pending work.
The growing collections get inserts only, except when a replayed delivery
finishes again.
"""

import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import eventlet
import pymongo
from pymongo.errors import BulkWriteError, DuplicateKeyError

from cities_common.tenancy import CityRegistry


CLAIM_CONCURRENCY = 10
# Reason recorded on endpoints and deliveries stopped because their city was archived.
CITY_ARCHIVED = "city_archived"
# How long cancelling a city's deliveries may hold them before they leave the queue.
ARCHIVE_LEASE = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime | None) -> datetime | None:
    """Return ``value`` as UTC-aware; pymongo returns naive UTC datetimes."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


def message_id(subscription_id: str, event_id: str) -> str:
    """Return the stable ``webhook-id`` of one event sent to one endpoint."""
    digest = hashlib.sha1(f"{subscription_id}\x1f{event_id}".encode()).hexdigest()
    return f"msg_{digest[:24]}"


def queue_entry(subscription: dict, event_id: str, webhook_type: str, body: str,
                now: datetime) -> dict:
    """Return a new queue entry that sends one event to one endpoint now."""
    identifier = message_id(subscription["_id"], event_id)
    return {"_id": identifier, "webhook_id": identifier, "city": subscription["city"],
            "partner": subscription["partner"], "subscription_id": subscription["_id"],
            "event_id": event_id, "type": webhook_type, "body": body, "attempts": 0,
            "created_at": now, "window_started_at": now, "next_attempt_at": now,
            "lease_token": None}


def public(document: dict) -> dict:
    """Return a stored document as an API object: ``id`` and ISO 8601 times."""
    result = {key: value for key, value in document.items() if key != "_id"}
    result["id"] = document["_id"]
    for key, value in result.items():
        if isinstance(value, datetime):
            result[key] = aware(value).isoformat()
    return result


class NotificationStore:
    """Plain store over the service's database; the provider builds one per process."""

    def __init__(self, database):
        self.database = database
        self.cities = CityRegistry(database)
        self.subscriptions = database["subscriptions"]
        self.events = database["events"]
        self.queue = database["queue"]
        self.deliveries = database["deliveries"]
        self.attempts = database["attempts"]
        self.dead_letters = database["dead_letters"]

    def ensure_indexes(self) -> None:
        self.subscriptions.create_index([("city", 1), ("partner", 1)], name="by_partner")
        self.events.create_index([("city", 1), ("received_at", 1)], name="by_time")
        self.queue.create_index([("next_attempt_at", 1)], name="due")
        self.queue.create_index([("lease_token", 1)], name="by_lease")
        self.deliveries.create_index([("subscription_id", 1), ("created_at", 1)],
                                     name="by_subscription")
        self.attempts.create_index([("subscription_id", 1), ("at", 1)],
                                   name="by_subscription")
        self.dead_letters.create_index([("dead_at", 1)], name="by_time")

    # Subscriptions

    def add_subscription(self, city: str, partner: str, fields: dict,
                         secret: str) -> dict:
        now = utcnow()
        document = {"_id": f"sub_{uuid.uuid4().hex[:24]}", "city": city,
                    "partner": partner, **fields,
                    "secrets": [{"secret": secret, "expires_at": None}],
                    "status": "active", "disabled_reason": None, "disabled_at": None,
                    "failing_since": None, "created_at": now, "updated_at": now}
        self.subscriptions.insert_one(document)
        return document

    def count_subscriptions(self, city: str, partner: str) -> int:
        return self.subscriptions.count_documents({"city": city, "partner": partner})

    def list_subscriptions(self, city: str, partner: str) -> list[dict]:
        return list(self.subscriptions.find({"city": city, "partner": partner},
                                            sort=[("created_at", 1)]))

    def get_subscription(self, city: str, partner: str | None,
                         subscription_id: str) -> dict | None:
        """Return a subscription of the city (and of ``partner`` when given)."""
        query = {"_id": subscription_id, "city": city}
        if partner is not None:
            query["partner"] = partner
        return self.subscriptions.find_one(query)

    def update_subscription(self, subscription_id: str, changes: dict) -> dict | None:
        return self.subscriptions.find_one_and_update(
            {"_id": subscription_id}, {"$set": {**changes, "updated_at": utcnow()}},
            return_document=pymongo.ReturnDocument.AFTER)

    def delete_subscription(self, subscription_id: str) -> int:
        """Delete a subscription and its queued deliveries; return how many were queued."""
        self.subscriptions.delete_one({"_id": subscription_id})
        return self.queue.delete_many({"subscription_id": subscription_id}).deleted_count

    def active_subscriptions(self, city: str) -> list[dict]:
        return list(self.subscriptions.find({"city": city, "status": "active"}))

    def any_subscription(self, city: str) -> list[dict]:
        return list(self.subscriptions.find({"city": city}, {"event_types": 1}))

    def subscriptions_by_id(self, subscription_ids) -> dict[str, dict]:
        cursor = self.subscriptions.find({"_id": {"$in": list(subscription_ids)}})
        return {document["_id"]: document for document in cursor}

    def mark_succeeded(self, subscription_ids) -> None:
        self.subscriptions.update_many(
            {"_id": {"$in": list(subscription_ids)}, "failing_since": {"$ne": None}},
            {"$set": {"failing_since": None}})

    def mark_failing(self, subscription_ids, since: datetime) -> None:
        """Record when each endpoint started failing, unless it already is."""
        self.subscriptions.update_many(
            {"_id": {"$in": list(subscription_ids)}, "failing_since": None},
            {"$set": {"failing_since": since}})

    def disable_if_failing(self, subscription_id: str, failing_before: datetime,
                           now: datetime) -> dict | None:
        """Disable an active endpoint failing since ``failing_before`` or earlier.

        Returns the disabled subscription, or None when another process did it or
        the endpoint recovered; the single-document update decides the race.
        """
        return self.subscriptions.find_one_and_update(
            {"_id": subscription_id, "status": "active",
             "failing_since": {"$ne": None, "$lte": failing_before}},
            {"$set": {"status": "disabled", "disabled_reason": "failing",
                      "disabled_at": now, "updated_at": now}},
            return_document=pymongo.ReturnDocument.AFTER)

    # The event log, for replays

    def record_event(self, city: str, event_id: str, webhook_type: str,
                     occurred_at: str, body: str) -> None:
        try:
            self.events.insert_one({"_id": event_id, "city": city, "type": webhook_type,
                                    "occurred_at": occurred_at, "body": body,
                                    "received_at": utcnow()})
        except DuplicateKeyError:
            pass

    def get_event(self, city: str, event_id: str) -> dict | None:
        return self.events.find_one({"_id": event_id, "city": city})

    def events_between(self, city: str, since: datetime, until: datetime,
                       limit: int) -> list[dict]:
        return list(self.events.find(
            {"city": city, "received_at": {"$gte": since, "$lt": until}},
            sort=[("received_at", 1)], limit=limit))

    # The queue of pending deliveries

    def enqueue(self, subscription: dict, event_id: str, webhook_type: str, body: str,
                now: datetime) -> bool:
        """Queue one event for one endpoint; return False when it is already queued."""
        return self.enqueue_many([subscription], event_id, webhook_type, body, now) == 1

    def enqueue_many(self, subscriptions: list[dict], event_id: str, webhook_type: str,
                     body: str, now: datetime) -> int:
        """Queue one event for each endpoint in one write; return how many were new."""
        if not subscriptions:
            return 0
        documents = [queue_entry(subscription, event_id, webhook_type, body, now)
                     for subscription in subscriptions]
        try:
            return len(self.queue.insert_many(documents, ordered=False).inserted_ids)
        except BulkWriteError as exc:
            errors = exc.details["writeErrors"]
            if any(error.get("code") != 11000 for error in errors):
                raise
            return len(documents) - len(errors)

    def requeue(self, subscription: dict, event: dict, now: datetime) -> str:
        """Send ``event`` to the endpoint again now, under its usual ``webhook-id``.

        Each replay is a new queue entry with its own retry window, even when the
        first delivery is still pending or in flight: changing that entry would race
        with the attempt that finishes it, and FerretDB 1.x can lose one of two
        concurrent writes to a document. Two entries for one event mean at most one
        extra request, under the same ``webhook-id``, which receivers drop.
        Returns ``queued``.
        """
        entry = queue_entry(subscription, event["_id"], event["type"], event["body"],
                            now)
        identifier = entry["webhook_id"]
        entry["_id"] = f"{identifier}.r{uuid.uuid4().hex[:12]}"
        self.queue.insert_one(entry)
        self.dead_letters.delete_many(
            {"$or": [{"_id": identifier}, {"webhook_id": identifier}]})
        return "queued"

    def due_candidates(self, now: datetime, limit: int, excluded) -> list[dict]:
        """Return ids and endpoints of due deliveries, oldest schedule first."""
        query = {"next_attempt_at": {"$lte": now}}
        if excluded:
            query["subscription_id"] = {"$nin": list(excluded)}
        return list(self.queue.find(query, {"subscription_id": 1},
                                    sort=[("next_attempt_at", 1)], limit=limit))

    def claim(self, identifiers: list[str], now: datetime,
              lease: timedelta) -> list[dict]:
        """Lease the given deliveries that are still due; return those this call won.

        The lease moves ``next_attempt_at`` past the attempt, so another process's
        claim no longer matches them. Each document's update is atomic, which is all
        the exclusion FerretDB needs here.
        """
        token = uuid.uuid4().hex
        change = {"$set": {"next_attempt_at": now + lease, "lease_token": token}}

        def claim_one(identifier):
            return self.queue.update_one(
                {"_id": identifier, "next_attempt_at": {"$lte": now}}, change
            ).modified_count

        # One update per delivery, several at a time: FerretDB 1.24 took about
        # 30 ms per document for the same claim as one update_many.
        won = sum(eventlet.GreenPool(CLAIM_CONCURRENCY).imap(claim_one, identifiers))
        if not won:
            return []
        return list(self.queue.find({"lease_token": token}))

    def reschedule(self, retries: list[tuple[dict, datetime, str]]) -> None:
        """Set each ``(delivery, next_attempt_at, last_error)``'s next attempt."""
        # One update per delivery, because each has its own jittered time; a bulk
        # write measured no faster on FerretDB 1.24.
        for delivery, next_at, last_error in retries:
            self.queue.update_one(
                {"_id": delivery["_id"], "lease_token": delivery["lease_token"]},
                {"$set": {"next_attempt_at": next_at,
                          "attempts": delivery["attempts"] + 1,
                          "last_error": last_error, "lease_token": None}})

    def finish(self, finished: list[tuple[dict, str, dict]], now: datetime) -> None:
        """Move deliveries out of the queue into the history.

        Each item of ``finished`` is ``(delivery, status, details)``, where status is
        ``delivered``, ``dead`` or ``cancelled`` and details has ``attempts``,
        ``last_status_code`` and ``last_error``. Dead ones are also dead-lettered.
        """
        if not finished:
            return
        history, dead = [], []
        for delivery, status, details in finished:
            record = {key: delivery[key] for key in (
                "_id", "city", "partner", "subscription_id", "event_id", "type",
                "created_at")}
            record["webhook_id"] = delivery.get("webhook_id", delivery["_id"])
            record.update(status=status, finished_at=now, **details)
            history.append(record)
            if status == "dead":
                dead.append({**record, "dead_at": now,
                             "reason": details.get("reason", "retries_exhausted")})
        self._insert_or_replace(self.deliveries, history)
        self._insert_or_replace(self.dead_letters, dead)
        # Delete only entries still under the lease they were sent with: when a
        # lease ran out and another process claimed the entry, that one finishes it.
        by_lease: dict[str | None, list[str]] = {}
        for delivery, _, _ in finished:
            by_lease.setdefault(delivery.get("lease_token"), []).append(delivery["_id"])
        for token, identifiers in by_lease.items():
            self.queue.delete_many({"_id": {"$in": identifiers}, "lease_token": token})

    def queued_for(self, subscription_id: str) -> list[dict]:
        return list(self.queue.find({"subscription_id": subscription_id}))

    # Archiving a city

    def disable_city(self, city: str, now: datetime) -> int:
        """Disable the city's active endpoints with reason ``city_archived``."""
        return self.subscriptions.update_many(
            {"city": city, "status": "active"},
            {"$set": {"status": "disabled", "disabled_reason": CITY_ARCHIVED,
                      "disabled_at": now, "updated_at": now}}).modified_count

    def cancel_city(self, city: str, now: datetime) -> int:
        """Cancel the city's queued deliveries with reason ``city_archived``.

        Leases them first, so no engine claims one meanwhile. A delivery whose
        attempt is in flight keeps its lease: the engine records that attempt and
        then cancels the delivery, because its endpoint is disabled. The attempts
        log stays. Returns how many deliveries were cancelled.
        """
        token = uuid.uuid4().hex
        self.queue.update_many(
            {"city": city, "lease_token": None},
            {"$set": {"lease_token": token, "next_attempt_at": now + ARCHIVE_LEASE}})
        leased = list(self.queue.find({"lease_token": token}))
        self.finish([(delivery, "cancelled", {
            "attempts": delivery["attempts"], "last_status_code": None,
            "last_error": delivery.get("last_error"), "reason": CITY_ARCHIVED,
        }) for delivery in leased], now)
        return len(leased)

    @staticmethod
    def _insert_or_replace(collection, documents: list[dict]) -> None:
        """Insert documents; replace those whose id exists, as after a replay."""
        if not documents:
            return
        try:
            collection.insert_many(documents, ordered=False)
        except BulkWriteError as exc:
            duplicates = {error["index"] for error in exc.details["writeErrors"]
                          if error.get("code") == 11000}
            if len(duplicates) != len(exc.details["writeErrors"]):
                raise
            for index in duplicates:
                document = documents[index]
                collection.replace_one({"_id": document["_id"]}, document, upsert=True)

    # Attempts and history, for partners and operators

    def record_attempts(self, attempts: list[dict]) -> None:
        if attempts:
            self.attempts.insert_many(attempts, ordered=False)

    def list_deliveries(self, subscription: dict, status: str | None,
                        limit: int) -> list[dict]:
        """Return the endpoint's deliveries, pending and finished, oldest first."""
        query = {"subscription_id": subscription["_id"], "city": subscription["city"]}
        pending = []
        if status in (None, "pending"):
            pending = [{**document, "status": "pending"} for document in self.queue.find(
                query, {"body": 0, "lease_token": 0})]
        finished = []
        if status != "pending":
            finished_query = {**query, **({"status": status} if status else {})}
            finished = list(self.deliveries.find(finished_query))
        merged = sorted(pending + finished, key=lambda item: aware(item["created_at"]))
        return merged[-limit:]

    def list_attempts(self, subscription: dict, event_id: str | None,
                      since: datetime | None, limit: int) -> list[dict]:
        query = {"subscription_id": subscription["_id"], "city": subscription["city"]}
        if event_id:
            query["event_id"] = event_id
        if since:
            query["at"] = {"$gte": since}
        documents = list(self.attempts.find(query, sort=[("at", -1)], limit=limit))
        return list(reversed(documents))

    def list_dead_letters(self, city: str | None, partner: str | None,
                          limit: int, after: dict | None = None) -> list[dict]:
        """Return dead letters, newest first, that follow ``after`` when given."""
        query = {}
        if city:
            query["city"] = city
        if partner:
            query["partner"] = partner
        if after is not None:
            query["$or"] = [{"dead_at": {"$lt": after["dead_at"]}},
                            {"dead_at": after["dead_at"], "_id": {"$lt": after["_id"]}}]
        return list(self.dead_letters.find(query, sort=[("dead_at", -1), ("_id", -1)],
                                           limit=limit))

    def get_dead_letter(self, delivery_id: str) -> dict | None:
        return self.dead_letters.find_one({"_id": delivery_id})

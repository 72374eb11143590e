"""Seats and the first-in, first-out waitlist of each opportunity.

Every change to an opportunity's registrations happens while holding that
opportunity's lock (``locks.Mutex``), because FerretDB 1.x loses concurrent
updates of one document. Under the lock a counter document holds ``taken``
(confirmed and completed registrations), ``waiting`` (waitlisted ones) and
``sequence`` (the last sequence number given). Each decision gives the next
sequence number and, in the same step, a seat or a waitlist place, so sequence
numbers have no gaps and give the arrival order, and nobody takes a seat while
someone is waiting.

Each change that other services must hear about (a registration decided,
cancelled or promoted) writes its event into the registration document in the
same update as the change: ``unannounced`` maps the event id to the event, and
``announce_pending`` is true. FerretDB 1.x has no transactions, so this is how an
event survives a process that dies between the change and the dispatch. The
worker that made the change dispatches the event after the lock and records the
event id in ``announced_events``. ``announcements.AnnouncementSweep`` later
dispatches any event whose id was not recorded and clears the document under
the lock.
"""

from contextlib import contextmanager
from datetime import datetime

from pymongo.errors import BulkWriteError

from services.registration.clock import iso
from services.registration.locks import Mutex

from cities_common import events

PENDING, CONFIRMED, WAITLISTED = "pending", "confirmed", "waitlisted"
CANCELLED = "cancelled"
HOLDS_SEAT = (CONFIRMED, "completed")


class PlaceLedger:
    """The per-opportunity lock and seat counters over the registration database."""

    def __init__(self, database):
        self.counters = database["place_counters"]
        self.registrations = database["registrations"]
        self.announced = database["announced_events"]
        self.mutex = Mutex(database["locks"])

    def ensure_indexes(self) -> None:
        # No index on ``announce_pending``: each would slow every seat change,
        # and only the sweep reads it, twice a minute per process.
        self.mutex.ensure_indexes()

    def mark_announced(self, city: str, event_ids: list[str], now: datetime) -> None:
        """Record that the events were dispatched; an insert, so it needs no lock."""
        documents = [{"_id": event_id, "city": city, "at": now} for event_id in event_ids]
        if documents:
            try:
                self.announced.insert_many(documents, ordered=False)
            except BulkWriteError:
                pass  # recorded before: a retry of the same dispatch

    def find_registrations(self, city: str, registration_ids: list[str]) -> list[dict]:
        """Return the registrations with these ids, in one query."""
        return [_public(document) for document in self.registrations.find(
            {"_id": {"$in": list(registration_ids)}, "city": city})]

    def pending_announcements(self, limit: int) -> list[dict]:
        """Return registrations whose events may not have been dispatched."""
        return [_public(document) for document in self.registrations.find(
            {"announce_pending": True},
            {"city": 1, "opportunity_id": 1}, limit=limit)]

    @contextmanager
    def opportunity(self, city: str, opportunity_id: str):
        """Hold the opportunity's lock and yield its ``Places``; save them on exit.

        After taking over from a dead holder, or after an error under the lock, the
        counts are rebuilt from the registration documents, which are written
        before the counter.
        """
        key = counter_key(city, opportunity_id)
        with self.mutex.hold(key) as took_over:
            with self._places(city, opportunity_id, took_over) as places:
                yield places

    def decide(self, city: str, opportunity_id: str, registration_id: str,
               capacity: int | None, now: datetime) -> tuple[dict, list[dict]]:
        """Decide a pending registration; return it and any registrations promoted.

        The lock holder decides every pending registration of the opportunity in
        the order they were queued, so one turn of the lock serves a whole burst,
        and then fills seats that a raised capacity freed. A worker whose
        registration another holder decided meanwhile leaves the queue without
        taking its turn.
        """
        promoted = []
        key = counter_key(city, opportunity_id)
        generation = self.mutex.take_ticket(key)
        took_over = self.mutex.wait_turn(
            key, generation, stop=lambda: self._decided(city, registration_id))
        if took_over is not None:
            try:
                with self._places(city, opportunity_id, took_over) as places:
                    pending = self.registrations.find(
                        {"city": city, "opportunity_id": opportunity_id,
                         "status": PENDING}, sort=[("queued_at", 1), ("_id", 1)])
                    for registration in list(pending):
                        places.admit(_public(registration), capacity, now)
                    promoted = places.promote(capacity, now)
            finally:
                self.mutex.release(key, generation)
        return _public(self.registrations.find_one({"_id": registration_id,
                                                    "city": city})), promoted

    @contextmanager
    def _places(self, city: str, opportunity_id: str, took_over: bool):
        key = counter_key(city, opportunity_id)
        counter = None if took_over else self.counters.find_one({"_id": key})
        places = Places(self, city, opportunity_id,
                        counter or self._recount(city, opportunity_id))
        try:
            yield places
        except BaseException:
            # Documents may be ahead of the counter now: make the next holder
            # recount instead of trusting it.
            self.counters.delete_one({"_id": key})
            raise
        places.save()

    def _decided(self, city: str, registration_id: str) -> bool:
        found = self.registrations.find_one({"_id": registration_id, "city": city},
                                            projection={"status": 1})
        return found is not None and found["status"] != PENDING

    def counts(self, city: str, opportunity_id: str) -> dict:
        """Return the counter as last saved; read without the lock."""
        counter = self.counters.find_one({"_id": counter_key(city, opportunity_id)}) or {}
        return {"seats_taken": counter.get("taken", 0),
                "waiting": counter.get("waiting", 0),
                "last_sequence": counter.get("sequence", 0)}

    def _recount(self, city: str, opportunity_id: str) -> dict:
        query = {"city": city, "opportunity_id": opportunity_id}
        last = self.registrations.find_one({**query, "sequence": {"$exists": True}},
                                           sort=[("sequence", -1)])
        return {
            "_id": counter_key(city, opportunity_id), "city": city,
            "opportunity_id": opportunity_id,
            "taken": self.registrations.count_documents(
                {**query, "status": {"$in": list(HOLDS_SEAT)}}),
            "waiting": self.registrations.count_documents({**query, "status": WAITLISTED}),
            "sequence": last["sequence"] if last else 0,
        }


class Places:
    """One opportunity's seats while its lock is held; write only through these."""

    def __init__(self, ledger: PlaceLedger, city: str, opportunity_id: str,
                 counter: dict):
        self.ledger = ledger
        self.city = city
        self.opportunity_id = opportunity_id
        self.counter = dict(counter)

    def admit(self, registration: dict, capacity: int | None, now: datetime,
              changes: dict | None = None) -> dict:
        """Give a pending or cancelled registration the next sequence number, and a
        seat when one is free and nobody waits, else a waitlist place."""
        self.counter["sequence"] += 1
        seat_free = capacity is None or self.counter["taken"] < capacity
        if self.counter["waiting"] <= 0 and seat_free:
            status = CONFIRMED
            self.counter["taken"] += 1
        else:
            status = WAITLISTED
            self.counter["waiting"] += 1
        sequence = self.counter["sequence"]
        return self._update(registration, {
            **(changes or {}), "status": status, "sequence": sequence,
            f"{status}_at": iso(now), "updated_at": iso(now),
            **announcement(events.YOUTH_REGISTERED,
                           f"registered-{registration['id']}-{sequence}", {
                               "registration_id": registration["id"],
                               "youth_id": registration["youth_id"],
                               "opportunity_id": self.opportunity_id,
                               "status": status}, now)},
            unset=("cancelled_at", "cancel_reason", "cancelled_by", "previous_status"))

    def release(self, registration: dict, reason: str, actor: str | None,
                now: datetime) -> dict:
        """Cancel a confirmed or waitlisted registration and free its place."""
        previous = registration["status"]
        if previous == CONFIRMED:
            self.counter["taken"] -= 1
        else:
            self.counter["waiting"] -= 1
        return self._update(registration, {
            "status": CANCELLED, "previous_status": previous, "cancel_reason": reason,
            "cancelled_by": actor, "cancelled_at": iso(now), "updated_at": iso(now),
            **announcement(events.REGISTRATION_CANCELLED,
                           f"cancelled-{registration['id']}-{registration['sequence']}", {
                               "registration_id": registration["id"],
                               "youth_id": registration["youth_id"],
                               "opportunity_id": self.opportunity_id,
                               "previous_status": previous, "reason": reason,
                               "cancelled_at": iso(now)}, now)})

    def promote(self, capacity: int | None, now: datetime) -> list[dict]:
        """Move waitlisted registrations to free seats, lowest sequence first."""
        promoted = []
        while self.counter["waiting"] > 0 and (capacity is None or
                                               self.counter["taken"] < capacity):
            head = self.ledger.registrations.find_one(
                {"city": self.city, "opportunity_id": self.opportunity_id,
                 "status": WAITLISTED}, sort=[("sequence", 1)])
            if head is None:
                self.counter["waiting"] = 0  # the count had drifted; the documents rule
                break
            self.counter["taken"] += 1
            self.counter["waiting"] -= 1
            head = _public(head)
            promoted.append(self._update(head, {
                "status": CONFIRMED, "promoted_at": iso(now), "updated_at": iso(now),
                **announcement(events.WAITLIST_PROMOTED,
                               f"promoted-{head['id']}-{head['sequence']}", {
                                   "registration_id": head["id"],
                                   "youth_id": head["youth_id"],
                                   "opportunity_id": self.opportunity_id,
                                   "sequence": head["sequence"],
                                   "promoted_at": iso(now)}, now)}))
        return promoted

    def update(self, registration: dict, changes: dict) -> dict:
        """Apply changes that do not move seats (completion, erasure)."""
        return self._update(registration, changes)

    def active(self) -> list[dict]:
        """Return the confirmed and waitlisted registrations, in sequence order."""
        return [_public(document) for document in self.ledger.registrations.find(
            {"city": self.city, "opportunity_id": self.opportunity_id,
             "status": {"$in": [CONFIRMED, WAITLISTED]}}, sort=[("sequence", 1)])]

    def get_many(self, registration_ids: list[str]) -> list[dict]:
        """Return the registrations with these ids, in one query."""
        return self.ledger.find_registrations(self.city, registration_ids)

    def clear_announcements(self, registration: dict) -> dict:
        """Remove the dispatched events kept in the registration document."""
        return self._update(registration, {"announce_pending": False},
                            unset=("unannounced",))

    def get(self, registration_id: str) -> dict | None:
        found = self.ledger.registrations.find_one({"_id": registration_id,
                                                     "city": self.city})
        return _public(found) if found else None

    def save(self) -> None:
        self.ledger.counters.replace_one({"_id": self.counter["_id"]}, self.counter,
                                         upsert=True)

    def _update(self, registration: dict, changes: dict, unset=()) -> dict:
        """Write ``changes`` and return the registration as it now is.

        No other worker writes the document while the lock is held, so the result
        is built here instead of read back.
        """
        update = {"$set": changes}
        removed = [name for name in unset if name in registration]
        if removed:
            update["$unset"] = {name: "" for name in removed}
        self.ledger.registrations.update_one(
            {"_id": registration["id"], "city": self.city}, update)
        updated = {key: value for key, value in registration.items()
                   if key not in removed}
        for key, value in changes.items():
            name, _, inner = key.partition(".")
            if inner:
                updated[name] = {**(updated.get(name) or {}), inner: value}
            else:
                updated[key] = value
        return updated


def announcement(event_type: str, event_id: str, data: dict, now: datetime) -> dict:
    """Return the fields that keep an event with the change that causes it."""
    return {"announce_pending": True,
            f"unannounced.{event_id}": {"event_type": event_type, "data": data,
                                        "at": iso(now)}}


def counter_key(city: str, opportunity_id: str) -> str:
    return f"{city}:{opportunity_id}"


def _public(document: dict) -> dict:
    public = {key: value for key, value in document.items() if key != "_id"}
    public["id"] = document["_id"]
    return public

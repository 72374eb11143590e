"""Dispatch registration events that a dying process left undispatched.

A change of seats writes its event into the registration document (see
``places``). The worker that made the change dispatches it and records the event
id in ``announced_events``. Every ``SWEEP_SECONDS`` each registration process
takes the registrations still marked ``announce_pending`` whose events are older
than ``GRACE_SECONDS``, dispatches every event whose id was not recorded, and
then clears the marks under their opportunity's lock, a few per turn. An event is thus dispatched at least
once; consumers drop a second copy by its event id.
"""

import logging
from collections import defaultdict
from datetime import timedelta

import eventlet
from nameko.timer import timer
from prometheus_client import Counter

from cities_common.errors import CityArchived, UnknownCity
from services.registration.clock import iso, utc_now
from services.registration.contacts import mail_contact

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 30
# A worker dispatches its events right after the lock; give it this long first.
GRACE_SECONDS = 30
BATCH = 500
# Registrations cleared per turn of an opportunity's lock.
CLEAR_PER_TURN = 10

SWEPT = Counter(
    "col_registration_events_recovered_total",
    "Registration events dispatched by the sweep because the worker that made the "
    "change did not record them.", ["event_type"])


class AnnouncementSweep:
    """Mixed into ``RegistrationService``: the periodic sweep."""

    @timer(interval=SWEEP_SECONDS)
    def sweep_announcements(self):
        """Dispatch and clear the pending events of one batch; return how many
        events were dispatched."""
        by_opportunity = defaultdict(list)
        for registration in self.store.places.pending_announcements(BATCH):
            by_opportunity[(registration["city"], registration["opportunity_id"])] \
                .append(registration["id"])
        dispatched = 0
        for (city, opportunity_id), registration_ids in by_opportunity.items():
            try:
                self.tenant.registry.require(city)
            except (CityArchived, UnknownCity) as exc:
                logger.info("not sweeping events of %s in %s: %s", opportunity_id, city,
                            exc)
                continue
            dispatched += self._sweep(city, opportunity_id, registration_ids)
        return dispatched

    def _sweep(self, city: str, opportunity_id: str, registration_ids: list) -> int:
        """Dispatch the unrecorded events of one opportunity's registrations, then
        clear their marks a few registrations per turn of the lock.

        Reading and dispatching happen without the lock. Clearing needs it, and
        short turns keep registrations that wait for the lock within their
        deadline during a burst.
        """
        cutoff = iso(utc_now() - timedelta(seconds=GRACE_SECONDS))
        due = {}
        for registration in self.store.places.find_registrations(city, registration_ids):
            pending = registration.get("unannounced") or {}
            if all(item["at"] <= cutoff for item in pending.values()):
                due[registration["id"]] = pending
        event_ids = [event_id for pending in due.values() for event_id in pending]
        recorded = {document["_id"] for document in self.store.places.announced.find(
            {"_id": {"$in": event_ids}}, {"_id": 1})}
        dispatched = 0
        for pending in due.values():
            for event_id, item in sorted(pending.items(), key=lambda entry: entry[1]["at"]):
                if event_id in recorded:
                    continue
                self.publish(item["event_type"], city,
                             {**item["data"], **self._contact(city, item)},
                             event_id=event_id)
                recorded.add(event_id)
                SWEPT.labels(item["event_type"]).inc()
                dispatched += 1
                logger.warning("dispatched %s %s, which the worker that made the "
                               "change did not record", item["event_type"], event_id)
        cleared = []
        identifiers = list(due)
        for start in range(0, len(identifiers), CLEAR_PER_TURN):
            with self.store.places.opportunity(city, opportunity_id) as places:
                for registration in places.get_many(
                        identifiers[start:start + CLEAR_PER_TURN]):
                    pending = registration.get("unannounced") or {}
                    # An event added since the read above waits for the next sweep.
                    if set(pending) <= recorded:
                        places.clear_announcements(registration)
                        cleared.extend(pending)
            eventlet.sleep(0)
        self.store.places.announced.delete_many({"_id": {"$in": cleared}})
        return dispatched

    def _contact(self, city: str, item: dict) -> dict:
        if item["event_type"] == "registration_cancelled":
            return {}
        youth = self.store.people.get_youth(city, item["data"]["youth_id"])
        return mail_contact(youth) if youth else {}

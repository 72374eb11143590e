"""The "delete my data" entrypoints; mixed into the service.

Erasing a youth deletes the profile (guardians included), consent requests,
evidence links and peer assessments, and cuts the youth's registrations loose
from the youth instead of deleting them, so per-opportunity counts stay right.
Then it publishes ``youth_erased``, so that the other services erase their data
about the youth, and each of them dispatches ``youth_erasure_acknowledged``. The
erasure is completed once this service and every service in
``ACKNOWLEDGING_SERVICES`` are done.
"""

import logging
from datetime import datetime

from cities_common.rpc import rpc

from cities_common import events, topology
from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, UnknownCity,
)
from cities_common.handlers import consumes, durable_event_handler
from services.registration.clock import iso, utc_now
from services.registration.storage import ACTIVE

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, InvalidInput, NotFound, UnknownCity)
# The services that must acknowledge an erasure: those with a route for
# ``youth_erased``. ``test_erasure_acknowledged_by_every_consumer`` in
# ``tests/unit/test_topology.py`` checks that this service consumes the
# acknowledgement of each of them.
ACKNOWLEDGING_SERVICES = topology.consumers(events.YOUTH_ERASED)
EXPECTED_SERVICES = ("registration", *ACKNOWLEDGING_SERVICES)


class ErasureEntrypoints:
    """Erase a youth's personal data and report the erasure's status."""

    @rpc(expected_exceptions=EXPECTED)
    def erase_youth(self, youth_id):
        """Erase a youth; asking again returns the same erasure record.

        An interrupted erasure resumes where it stopped when asked again, because
        every step skips what is already done. Dispatches ``registration_cancelled``
        for active registrations, then ``youth_erased``.
        """
        city = self.tenant.city
        youth_id = str(youth_id)
        record = self.store.people.find_erasure(city, youth_id)
        if record is None:
            youth = self._youth(city, youth_id)
            guardian_ids = [guardian["id"] for guardian in youth["guardians"]]
            record, _ = self.store.people.start_erasure(city, youth_id, guardian_ids,
                                                        utc_now())
        if record["status"] == "completed":
            return self._erasure_view(city, record)

        summary = self._erase(city, youth_id)
        record = self.store.people.finish_erasure(city, record["id"], summary, utc_now())
        self.publish(events.YOUTH_ERASED, city, {
            "erasure_id": record["id"], "youth_id": youth_id,
            "requested_at": record["requested_at"],
            "guardian_ids": record.get("guardian_ids", []),
        }, event_id=f"erased-{record['id']}")
        logger.info("erased youth %s (erasure %s): %s", youth_id, record["id"], summary)
        return self._erasure_view(city, record)

    @rpc(expected_exceptions=EXPECTED)
    def get_erasure(self, erasure_id):
        """Return the erasure with the status of each service, including this one.

        ``status`` is ``completed`` once every service in ``EXPECTED_SERVICES``
        completed its part, and ``in_progress`` until then.
        """
        city = self.tenant.city
        record = self.store.people.get_erasure(city, str(erasure_id))
        if record is None:
            raise NotFound(f"erasure {erasure_id!r} not found in {city}")
        return self._erasure_view(city, record)

    @durable_event_handler("identity", events.YOUTH_ERASURE_ACKNOWLEDGED)
    @durable_event_handler("badges", events.YOUTH_ERASURE_ACKNOWLEDGED)
    @durable_event_handler("notifications", events.YOUTH_ERASURE_ACKNOWLEDGED)
    @consumes(events.YOUTH_ERASURE_ACKNOWLEDGED)
    def handle_youth_erasure_acknowledged(self, event):
        """Record that a service erased its data about the youth.

        An acknowledgement of an unknown erasure, for another youth or from a
        service not in ``ACKNOWLEDGING_SERVICES`` is logged and dropped.
        """
        city, data = event["city"], event["data"]
        record = self.store.people.get_erasure(city, data["erasure_id"])
        if record is None or record["youth_id"] != data["youth_id"]:
            logger.warning("dropping the acknowledgement of erasure %s by %s: the "
                           "erasure of that youth was not found", data["erasure_id"],
                           data["service"])
            return
        if data["service"] not in ACKNOWLEDGING_SERVICES:
            logger.warning("dropping an acknowledgement of erasure %s from %s, which "
                           "is not expected to acknowledge erasures",
                           data["erasure_id"], data["service"])
            return
        if self.store.people.add_acknowledgement(city, record["id"], data["service"],
                                                 data["acknowledged_at"],
                                                 data["summary"]):
            logger.info("erasure %s acknowledged by %s: %s", record["id"],
                        data["service"], data["summary"])

    def _erasure_view(self, city: str, record: dict) -> dict:
        acknowledgements = self.store.people.acknowledgements_of(city, record["id"])
        return erasure_view(record, acknowledgements)

    def _erase(self, city: str, youth_id: str) -> dict:
        registrations = self.store.list_for_youth(city, youth_id)
        cancelled = 0
        for registration in registrations:
            if registration["status"] in ACTIVE:
                self._cancel(city, registration, "erasure", None)
                cancelled += 1
        identifiers = [registration["id"] for registration in registrations]
        contributions = self.store.delete_contributions(city, identifiers)
        for registration in registrations:
            self._anonymise(city, registration)
        consent_requests = self.store.people.delete_consent_requests(city, youth_id)
        profiles = self.store.people.delete_youth(city, youth_id)
        return {"registrations_anonymised": len(identifiers),
                "registrations_cancelled": cancelled, **contributions,
                "consent_requests_deleted": consent_requests,
                "profiles_deleted": profiles}


    def _anonymise(self, city: str, registration: dict) -> None:
        """Cut a registration from its youth, keeping it for aggregate counts.

        ``youth_id`` becomes a per-registration placeholder, because the unique
        index on (city, opportunity, youth) allows one registration per value.
        """
        now = utc_now()
        with self.store.places.opportunity(city, registration["opportunity_id"]) \
                as places:
            current = places.get(registration["id"])
            completion = current.get("completion")
            if completion:
                completion = {key: value for key, value in completion.items()
                              if key in ("method", "sessions_attended")}
            places.update(current, {
                "youth_id": f"erased-{current['id']}", "erased_at": iso(now),
                "schedule": None, "completion": completion, "cancelled_by": None})


def erasure_view(record: dict, acknowledgements: dict[str, dict]) -> dict:
    """Build the public erasure status from the record and the acknowledgements.

    ``summary`` and ``services.registration`` describe this service's part. The
    top-level ``completed_at`` is the time the last expected service finished.
    """
    services = {"registration": {"status": record["status"],
                                 "completed_at": record.get("completed_at"),
                                 "summary": record.get("summary", {})}}
    for service in ACKNOWLEDGING_SERVICES:
        services[service] = acknowledged_status(acknowledgements.get(service))

    completed = all(item["status"] == "completed" for item in services.values())
    completed_at = None
    if completed:
        completed_at = max((item["completed_at"] for item in services.values()),
                           key=datetime.fromisoformat)
    return {"id": record["id"], "city": record["city"], "youth_id": record["youth_id"],
            "requested_at": record["requested_at"],
            "status": "completed" if completed else "in_progress",
            "completed_at": completed_at, "summary": record.get("summary", {}),
            "services": services}


def acknowledged_status(acknowledgement: dict | None) -> dict:
    """Return another service's part of the erasure status."""
    if acknowledgement is None:
        return {"status": "pending", "completed_at": None, "summary": {}}
    return {"status": "completed", "completed_at": acknowledgement["acknowledged_at"],
            "summary": acknowledgement["summary"]}

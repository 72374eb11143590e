"""The "delete my data" entrypoints; mixed into the service.

Erasing a youth deletes the profile (guardians included), consent requests,
evidence links and peer assessments, and cuts the youth's registrations loose
from the youth instead of deleting them, so per-opportunity counts stay right.
Then ``youth_erased`` asks other services to erase their data about the youth.
"""

import logging

from cities_common.rpc import rpc

from cities_common import events
from cities_common.errors import Conflict, InvalidInput, NotFound, UnknownCity
from services.registration.clock import iso, utc_now
from services.registration.storage import ACTIVE

logger = logging.getLogger(__name__)

EXPECTED = (Conflict, InvalidInput, NotFound, UnknownCity)
# Text of the erasure status about other services.
# TODO: record each service's acknowledgement of ``youth_erased`` and report it
# here; until then the status only covers the registration service.
OTHER_SERVICES_NOTE = ("other services receive the youth_erased event; their "
                       "acknowledgements are not tracked yet")


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
            self._youth(city, youth_id)
            record, _ = self.store.people.start_erasure(city, youth_id, utc_now())
        if record["status"] == "completed":
            return erasure_view(record)

        summary = self._erase(city, youth_id)
        record = self.store.people.finish_erasure(city, record["id"], summary, utc_now())
        self.publish(events.YOUTH_ERASED, city, {
            "erasure_id": record["id"], "youth_id": youth_id,
            "requested_at": record["requested_at"],
        }, event_id=f"erased-{record['id']}")
        logger.info("erased youth %s (erasure %s): %s", youth_id, record["id"], summary)
        return erasure_view(record)

    @rpc(expected_exceptions=EXPECTED)
    def get_erasure(self, erasure_id):
        city = self.tenant.city
        record = self.store.people.get_erasure(city, str(erasure_id))
        if record is None:
            raise NotFound(f"erasure {erasure_id!r} not found in {city}")
        return erasure_view(record)

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


def erasure_view(record: dict) -> dict:
    return {**record, "services": {"registration": record["status"]},
            "note": OTHER_SERVICES_NOTE}

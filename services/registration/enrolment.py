"""Entrypoints to register, cancel and list registrations; mixed into the service."""

import logging
from datetime import timezone

from cities_common.rpc import rpc

from cities_common import events
from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, Rejected, UnknownCity,
)
from services.registration import eligibility
from services.registration.clock import utc_now
from services.registration.contacts import mail_contact
from services.registration.schedule import first_overlap, occurrences
from services.registration.schemas import CancelRequestSchema, RegisterRequestSchema
from services.registration.storage import ACTIVE, PENDING, STATUSES
from services.registration.work import registration_view

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, InvalidInput, NotFound, UnknownCity)
MAX_PAGE = 1000


class EnrolmentEntrypoints:
    """Register, cancel, and read registrations and rosters."""

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("request.youth",))
    def register(self, request):
        """Register a youth (new profile or ``youth_id``) for a published opportunity.

        Registering again returns the existing registration with ``created`` false; a
        cancelled one is reopened at the back of the line. A full opportunity puts
        the youth on the waitlist. Raises ``Rejected`` with a reason code from
        ``eligibility`` when a rule forbids it. Dispatches ``youth_registered``.
        """
        city = self.tenant.city
        request = self._load(RegisterRequestSchema, request)
        opportunity = self._cached_opportunity(city, request["opportunity_id"])
        youth = self._youth_for(city, request)
        existing = None if request["youth"] else \
            self.store.find_registration(city, opportunity["id"], youth["id"])
        if existing is not None and not _reopenable(existing):
            return self._reply(city, existing, created=False)

        now = utc_now()
        time_zone = self._time_zone(city)
        self._check_eligible(opportunity, youth, now, time_zone)
        schedule = {"time_zone": time_zone, "sessions": opportunity.get("sessions") or []}
        capacity = opportunity.get("capacity")
        if existing is None:
            registration, created = self.store.add_registration(
                city, opportunity["id"], youth["id"], schedule, now)
        else:
            registration, created = existing, True
        if registration["status"] == PENDING:
            registration, promoted = self.store.places.decide(
                city, opportunity["id"], registration["id"], capacity, now)
            self._announce_promotions(city, promoted)
        elif registration["status"] == "cancelled":
            registration = self._reopen(city, registration, capacity, schedule, now)
        else:
            created = False
        if not created or registration is None:
            current = registration or self._registration(city, existing["id"])
            return self._reply(city, current, created=False)

        status, sequence = registration["status"], registration["sequence"]
        event_id = f"registered-{registration['id']}-{sequence}"
        self.publish(events.YOUTH_REGISTERED, city, {
            "registration_id": registration["id"], "youth_id": youth["id"],
            "opportunity_id": opportunity["id"], "status": status,
            **mail_contact(youth),
        }, event_id=event_id)
        self.store.places.mark_announced(city, [event_id], utc_now())
        logger.info("registration %s for %s is %s (sequence %s)", registration["id"],
                    opportunity["id"], status, sequence)
        warnings = self._overlap_warnings(city, registration)
        ended = eligibility.ended_on(opportunity, now.replace(tzinfo=timezone.utc),
                                     time_zone)
        if ended:
            warnings.append({
                "code": "opportunity_ended",
                "message": f"this opportunity's last session was on {ended}; ask its "
                           "provider whether it runs again before counting on a place",
                "ended_on": ended})
        return self._reply(city, registration, created=created, warnings=warnings)

    @rpc(expected_exceptions=EXPECTED)
    def get_registration(self, registration_id):
        """Return a registration with its waitlist position, evidence and assessments."""
        city = self.tenant.city
        registration = self._registration(city, registration_id)
        reply = self._reply(city, registration)
        reply["evidence"] = self.store.list_evidence(city, registration["id"])
        reply["peer_assessments"] = self.store.list_assessments(city, registration["id"])
        return reply

    @rpc(expected_exceptions=EXPECTED)
    def cancel_registration(self, registration_id, request=None, actor=None):
        """Cancel a registration; the next waitlisted youth takes a freed seat.

        Cancelling a cancelled registration returns it unchanged. Raises
        ``Rejected`` (``registration_completed``) for a completed one. Dispatches
        ``registration_cancelled`` and ``waitlist_promoted``.
        """
        city = self.tenant.city
        request = self._load(CancelRequestSchema, request)
        registration = self._registration(city, registration_id)
        if registration["status"] == "cancelled":
            return registration_view(registration)
        if registration["status"] == "completed":
            raise Rejected("registration_completed",
                           f"registration {registration['id']} is completed and cannot "
                           "be cancelled")
        if registration["status"] == PENDING:
            raise Conflict(f"registration {registration['id']} is still being "
                           "processed; retry in a few seconds")
        cancelled = self._cancel(city, registration, request["reason"], actor)
        return registration_view(cancelled)

    @rpc(expected_exceptions=EXPECTED)
    def list_registrations(self, opportunity_id, status=None, after_sequence=0,
                           limit=100):
        """List an opportunity's registrations in arrival (sequence) order, with counts.

        Page with ``after_sequence``: pass the ``next_after_sequence`` of a page to get
        the next one.
        """
        city = self.tenant.city
        errors = {}
        if status is not None and status not in STATUSES:
            errors["status"] = [f"must be one of {', '.join(STATUSES)}"]
        after_sequence, limit = _integer(after_sequence, "after_sequence", 0, errors), \
            _integer(limit, "limit", 1, errors, MAX_PAGE)
        if errors:
            raise InvalidInput(errors, "invalid registration list request")
        items = self.store.list_for_opportunity(city, str(opportunity_id), status,
                                                after_sequence, limit)
        summary = {**self.store.count_by_status(city, str(opportunity_id)),
                   **self.store.places.counts(city, str(opportunity_id))}
        return {"opportunity_id": str(opportunity_id), "summary": summary,
                "registrations": [registration_view(item) for item in items],
                "next_after_sequence": items[-1]["sequence"] if len(items) == limit
                else None}

    @rpc(expected_exceptions=EXPECTED)
    def list_youth_registrations(self, youth_id):
        city = self.tenant.city
        youth = self._youth(city, youth_id)
        return [registration_view(item)
                for item in self.store.list_for_youth(city, youth["id"])]

    def _reopen(self, city, registration, capacity, schedule, now) -> dict | None:
        """Put a cancelled registration back in line; None if it changed meanwhile."""
        with self.store.places.opportunity(city, registration["opportunity_id"]) \
                as places:
            current = places.get(registration["id"])
            if current["status"] != "cancelled":
                return None
            return places.admit(current, capacity, now, {"schedule": schedule})

    def _youth_for(self, city: str, request: dict) -> dict:
        if request["youth_id"]:
            return self._youth(city, request["youth_id"])
        self._check_interests(city, request["youth"], ("youth",))
        youth = self.store.people.create_youth(city, request["youth"], utc_now())
        logger.info("created youth %s", youth["id"])
        return youth

    def _check_eligible(self, opportunity, youth, now, time_zone) -> None:
        eligibility.check_open(opportunity, now.replace(tzinfo=timezone.utc), time_zone)
        eligibility.check_age(opportunity, youth, now.date())
        eligibility.check_consent(youth, now.date())
        required = opportunity.get("prerequisite_badges") or []
        if required:
            answer = self.badges_rpc.has_badges(youth["id"], required)
            eligibility.check_prerequisites(required, answer)

    def _reply(self, city: str, registration: dict, created: bool | None = None,
               warnings: list | None = None) -> dict:
        reply = registration_view(registration)
        if registration["status"] == "waitlisted":
            reply["waitlist_position"] = self.store.waitlist_position(
                city, registration["opportunity_id"], registration["sequence"])
        if created is not None:
            reply["created"] = created
            reply["warnings"] = warnings or []
        return reply

    def _overlap_warnings(self, city: str, registration: dict) -> list[dict]:
        """Warn about the youth's other active registrations whose sessions overlap."""
        mine = _occurrences(registration.get("schedule"))
        if not mine:
            return []
        warnings = []
        for other in self.store.list_for_youth(city, registration["youth_id"], ACTIVE):
            if other["id"] == registration["id"]:
                continue
            pair = first_overlap(mine, _occurrences(other.get("schedule")))
            if pair:
                warnings.append({
                    "code": "overlapping_sessions",
                    "message": f"the session at {pair[0].session_id} overlaps a session "
                               f"of opportunity {other['opportunity_id']} at "
                               f"{pair[1].session_id}",
                    "registration_id": other["id"],
                    "opportunity_id": other["opportunity_id"],
                    "session_id": pair[0].session_id,
                    "other_session_id": pair[1].session_id,
                })
        return warnings


def _reopenable(registration: dict) -> bool:
    """Return True for a registration still to decide: pending or cancelled.

    A registration stays pending when its worker died between inserting it and
    deciding it under the lock. The next lock holder for the opportunity decides
    it, or the next request for the same youth does.
    """
    return registration["status"] in (PENDING, "cancelled")


def _occurrences(schedule: dict | None) -> list:
    if not schedule or not schedule.get("sessions"):
        return []
    try:
        return occurrences(schedule["sessions"], schedule["time_zone"])
    except (ValueError, KeyError):
        logger.warning("skipping an unreadable session schedule in the overlap check")
        return []


def _integer(value, name: str, low: int, errors: dict, high: int | None = None) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[name] = ["must be a whole number"]
        return low
    if number < low or (high is not None and number > high):
        errors[name] = [f"must be between {low} and {high}" if high is not None
                        else f"must be at least {low}"]
    return number

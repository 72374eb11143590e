"""Entrypoints for attendance and completion; mixed into the service.

Partner staff record attendance per session occurrence. A registration completes
either when its attendance meets the opportunity's completion rule (at least N
sessions attended) or when staff sign it off. Either way ``program_completed`` is
dispatched once. Staff calls carry the acting account id (``actor``) of the
signed-in staff member, whom the gateway has checked.
"""

import logging
from datetime import timezone

from cities_common.rpc import rpc

from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, Rejected, UnknownCity,
)
from services.registration.clock import utc_now
from services.registration.schedule import occurrences
from services.registration.schemas import (
    AttendanceRequestSchema, CompletionRequestSchema, CompletionRuleSchema,
    EvidenceSchema, PeerAssessmentSchema,
)
from services.registration.work import registration_view

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, InvalidInput, NotFound, UnknownCity)
ATTENDING = ("confirmed", "completed")
MAX_EVIDENCE = 20


class CompletionEntrypoints:
    """Completion rules, attendance, staff sign-off, evidence and peer assessments."""

    @rpc(expected_exceptions=EXPECTED)
    def set_completion_rule(self, opportunity_id, rule, actor=None):
        """Complete registrations automatically after N attended sessions.

        Raises ``InvalidInput`` when the opportunity has fewer than N sessions.
        """
        city = self.tenant.city
        actor = self._actor(actor)
        rule = self._load(CompletionRuleSchema, rule, "invalid completion rule")
        opportunity = self.catalog_rpc.get_opportunity(str(opportunity_id))
        total = len(self._occurrences(city, opportunity))
        if rule["min_sessions_attended"] > total:
            raise InvalidInput({"min_sessions_attended": [
                f"must be at most {total}, the opportunity's number of sessions"]},
                "invalid completion rule")
        stored = self.store.set_rule(city, opportunity["id"], rule, actor, utc_now())
        logger.info("completion rule of %s set by %s", opportunity["id"], actor)
        return {**stored, "total_sessions": total}

    @rpc(expected_exceptions=EXPECTED)
    def get_completion_rule(self, opportunity_id):
        """Return the rule; ``min_sessions_attended`` None means staff sign-off only."""
        city = self.tenant.city
        rule = self.store.get_rule(city, str(opportunity_id))
        return rule or {"opportunity_id": str(opportunity_id),
                        "min_sessions_attended": None}

    @rpc(expected_exceptions=EXPECTED)
    def record_attendance(self, opportunity_id, request, actor=None):
        """Record attendance at one session for several registrations.

        Every record is checked before any is written. Registrations that reach the
        completion rule complete, dispatching ``program_completed``. Raises
        ``Rejected`` (``session_not_started``) for a session in the future.
        """
        city = self.tenant.city
        actor = self._actor(actor)
        request = self._load(AttendanceRequestSchema, request, "invalid attendance")
        opportunity = self.catalog_rpc.get_opportunity(str(opportunity_id))
        session = self._session(city, opportunity, request["session_id"])
        registrations = self._attendees(city, opportunity["id"], request["records"])

        now = utc_now()
        rule = self.store.get_rule(city, opportunity["id"]) or {}
        completed = []
        for record, registration in zip(request["records"], registrations):
            self.store.record_attendance(city, registration, session.session_id,
                                         record["status"], actor, now)
            if self._complete_by_rule(city, registration, opportunity, rule, actor):
                completed.append(registration["id"])
        logger.info("attendance at %s of %s recorded by %s: %s records", session.session_id,
                    opportunity["id"], actor, len(registrations))
        return {"opportunity_id": opportunity["id"], "session_id": session.session_id,
                "recorded": len(registrations), "completed_registration_ids": completed}

    @rpc(expected_exceptions=EXPECTED)
    def list_attendance(self, registration_id):
        city = self.tenant.city
        registration = self._registration(city, registration_id)
        rule = self.store.get_rule(city, registration["opportunity_id"]) or {}
        return {"registration_id": registration["id"],
                "attendance": self.store.list_attendance(city, registration["id"]),
                "attended": self.store.count_attended(city, registration["id"]),
                "min_sessions_attended": rule.get("min_sessions_attended")}

    @rpc(expected_exceptions=EXPECTED)
    def complete(self, registration_id, request=None, actor=None):
        """Sign off a confirmed registration as completed.

        Calling it again returns the completed registration, and
        ``program_completed`` is dispatched once whatever the retries. Raises
        ``Rejected`` (``registration_not_confirmed``) for a registration that is
        not confirmed.
        """
        city = self.tenant.city
        request = self._load(CompletionRequestSchema, request, "invalid completion")
        registration = self._registration(city, registration_id)
        if registration["status"] not in ATTENDING:
            raise _not_confirmed(registration)
        opportunity = self.catalog_rpc.get_opportunity(registration["opportunity_id"])
        completion = {"method": "sign_off", "signed_off_by": actor,
                      "evidence_url": request["evidence_url"],
                      "sessions_attended": self.store.count_attended(
                          city, registration["id"])}
        registration = self._complete(city, registration, opportunity, completion)
        if registration["status"] != "completed":
            raise _not_confirmed(registration)
        return registration_view(registration)

    @rpc(expected_exceptions=EXPECTED)
    def add_evidence(self, registration_id, evidence, actor=None):
        """Attach an evidence link (a portfolio page, a video) to a registration."""
        city = self.tenant.city
        evidence = self._load(EvidenceSchema, evidence, "invalid evidence")
        registration = self._attending(city, registration_id)
        if len(self.store.list_evidence(city, registration["id"])) >= MAX_EVIDENCE:
            raise Rejected("evidence_limit_reached",
                           f"registration {registration['id']} already has "
                           f"{MAX_EVIDENCE} evidence links")
        return self.store.add_evidence(city, registration["id"],
                                       {**evidence, "added_by": actor}, utc_now())

    @rpc(expected_exceptions=EXPECTED)
    def add_peer_assessment(self, registration_id, assessment):
        """Record another participant's assessment of a registration's work.

        The assessor must be a different confirmed or completed registration of the
        same opportunity; each assessor assesses a registration once. Returns the
        assessment and ``created``.
        """
        city = self.tenant.city
        assessment = self._load(PeerAssessmentSchema, assessment, "invalid assessment")
        registration = self._attending(city, registration_id)
        assessor = self._attending(city, assessment["assessor_registration_id"])
        if assessor["id"] == registration["id"] or \
                assessor["opportunity_id"] != registration["opportunity_id"]:
            raise InvalidInput({"assessor_registration_id": [
                "must be another participant's registration for the same opportunity"]},
                "invalid assessment")
        stored, created = self.store.add_assessment(city, {
            **assessment, "registration_id": registration["id"],
            "opportunity_id": registration["opportunity_id"]}, utc_now())
        return {**stored, "created": created}

    def _complete_by_rule(self, city: str, registration: dict, opportunity: dict,
                          rule: dict, actor: str) -> bool:
        """Complete a registration whose attendance meets the rule; return True if so.

        A completed registration whose event never went out (its worker died) gets
        it now.
        """
        needed = rule.get("min_sessions_attended")
        if registration["status"] == "completed":
            self._complete(city, registration, opportunity, None)
            return False
        attended = self.store.count_attended(city, registration["id"])
        if not needed or attended < needed:
            return False
        completed = self._complete(city, registration, opportunity, {
            "method": "attendance", "recorded_by": actor,
            "sessions_attended": attended, "min_sessions_attended": needed})
        return completed["status"] == "completed"

    def _occurrences(self, city: str, opportunity: dict) -> list:
        try:
            return occurrences(opportunity.get("sessions") or [], self._time_zone(city))
        except (ValueError, KeyError) as exc:
            raise Conflict(f"the sessions of opportunity {opportunity['id']} cannot be "
                           f"read ({exc})") from exc

    def _session(self, city: str, opportunity: dict, session_id: str):
        found = {item.session_id: item for item in self._occurrences(city, opportunity)}
        session = found.get(session_id)
        if session is None:
            raise InvalidInput({"session_id": [
                f"{session_id} is not a session of opportunity {opportunity['id']}"]},
                "invalid attendance")
        if session.starts_at > utc_now().replace(tzinfo=timezone.utc):
            raise Rejected("session_not_started",
                           f"the session at {session_id} has not started yet",
                           {"session_id": session_id})
        return session

    def _attendees(self, city: str, opportunity_id: str, records: list) -> list[dict]:
        """Return each record's registration; raise ``InvalidInput`` naming bad ones."""
        registrations, errors = [], {}
        for position, record in enumerate(records):
            registration = self.store.get_registration(city, record["registration_id"])
            if registration is None or registration["opportunity_id"] != opportunity_id:
                errors[position] = {"registration_id": [
                    f"{record['registration_id']} is not a registration for "
                    f"opportunity {opportunity_id}"]}
            elif registration["status"] not in ATTENDING:
                errors[position] = {"registration_id": [
                    f"{registration['id']} is {registration['status']}; only confirmed "
                    "registrations attend"]}
            registrations.append(registration)
        if errors:
            raise InvalidInput({"records": errors}, "invalid attendance")
        return registrations

    def _attending(self, city: str, registration_id) -> dict:
        registration = self._registration(city, registration_id)
        if registration["status"] not in ATTENDING:
            raise _not_confirmed(registration)
        return registration


def _not_confirmed(registration: dict) -> Rejected:
    return Rejected("registration_not_confirmed",
                    f"registration {registration['id']} is {registration['status']}; "
                    "only a confirmed or completed registration can do this",
                    {"status": registration["status"]})

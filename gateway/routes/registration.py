"""Youth profiles, guardian consent, registrations, attendance and completion, from
the registration service.

Staff actions (attendance, completion rules, sign-off) name the acting account in
the ``X-Account-Id`` header, as catalog routes do.
NOTE: the gateway passes that header on unchecked. Authenticating the account, and
checking that it is staff of the opportunity's partner, is still to be built here.
"""

from gateway.entrypoints import http
from gateway.requests import json_body, optional_json_body

ACCOUNT_HEADER = "X-Account-Id"
PREFIX = "/v1/cities/<string:city>"


def acting_account(request) -> str | None:
    return request.headers.get(ACCOUNT_HEADER) or None


def optional_body(request) -> dict:
    return optional_json_body(request) or {}


class RegistrationRoutes:
    """Routes under ``/v1/cities/<city>`` served by the registration service."""

    @http("POST", f"{PREFIX}/registrations")
    def register(self, request, city):
        """Register a youth; 201 for a new registration, 200 for the existing one."""
        registration = self.registration_rpc.register(json_body(request))
        return (201 if registration.pop("created") else 200), registration

    @http("GET", f"{PREFIX}/registrations/<string:registration_id>")
    def get_registration(self, request, city, registration_id):
        return self.registration_rpc.get_registration(registration_id)

    @http("POST", f"{PREFIX}/registrations/<string:registration_id>/cancellation")
    def cancel_registration(self, request, city, registration_id):
        return self.registration_rpc.cancel_registration(
            registration_id, optional_body(request), acting_account(request))

    @http("POST", f"{PREFIX}/registrations/<string:registration_id>/completion")
    def complete(self, request, city, registration_id):
        """Staff sign-off; completing twice returns the completed registration."""
        return self.registration_rpc.complete(registration_id, optional_body(request),
                                              acting_account(request))

    @http("GET", f"{PREFIX}/registrations/<string:registration_id>/attendance")
    def list_attendance(self, request, city, registration_id):
        return self.registration_rpc.list_attendance(registration_id)

    @http("POST", f"{PREFIX}/registrations/<string:registration_id>/evidence")
    def add_evidence(self, request, city, registration_id):
        return 201, self.registration_rpc.add_evidence(
            registration_id, json_body(request), acting_account(request))

    @http("POST", f"{PREFIX}/registrations/<string:registration_id>/peer-assessments")
    def add_peer_assessment(self, request, city, registration_id):
        """201 for a new assessment, 200 when this assessor already assessed."""
        assessment = self.registration_rpc.add_peer_assessment(registration_id,
                                                               json_body(request))
        return (201 if assessment.pop("created") else 200), assessment

    @http("GET", f"{PREFIX}/opportunities/<string:opportunity_id>/registrations")
    def list_registrations(self, request, city, opportunity_id):
        """Registrations in arrival order; page with ``after_sequence`` and ``limit``."""
        return self.registration_rpc.list_registrations(
            opportunity_id, request.args.get("status"),
            request.args.get("after_sequence", 0), request.args.get("limit", 100))

    @http("GET", f"{PREFIX}/opportunities/<string:opportunity_id>/completion-rule")
    def get_completion_rule(self, request, city, opportunity_id):
        return self.registration_rpc.get_completion_rule(opportunity_id)

    @http("PUT", f"{PREFIX}/opportunities/<string:opportunity_id>/completion-rule")
    def set_completion_rule(self, request, city, opportunity_id):
        return self.registration_rpc.set_completion_rule(
            opportunity_id, json_body(request), acting_account(request))

    @http("POST", f"{PREFIX}/opportunities/<string:opportunity_id>/attendance")
    def record_attendance(self, request, city, opportunity_id):
        return self.registration_rpc.record_attendance(
            opportunity_id, json_body(request), acting_account(request))

    @http("POST", f"{PREFIX}/youth")
    def create_youth(self, request, city):
        return 201, self.registration_rpc.create_youth(json_body(request))

    @http("GET", f"{PREFIX}/youth/<string:youth_id>")
    def get_youth(self, request, city, youth_id):
        return self.registration_rpc.get_youth(youth_id)

    @http("DELETE", f"{PREFIX}/youth/<string:youth_id>")
    def erase_youth(self, request, city, youth_id):
        """Erase the youth's data; 202 with the erasure, whose status has its own URL."""
        erasure = self.registration_rpc.erase_youth(youth_id)
        return 202, {**erasure, "status_url": f"/v1/cities/{city}/erasures/{erasure['id']}"}

    @http("GET", f"{PREFIX}/erasures/<string:erasure_id>")
    def get_erasure(self, request, city, erasure_id):
        return self.registration_rpc.get_erasure(erasure_id)

    @http("POST", f"{PREFIX}/youth/<string:youth_id>/guardians")
    def add_guardian(self, request, city, youth_id):
        return 201, self.registration_rpc.add_guardian(youth_id, json_body(request))

    @http("GET", f"{PREFIX}/youth/<string:youth_id>/registrations")
    def list_youth_registrations(self, request, city, youth_id):
        return {"registrations": self.registration_rpc.list_youth_registrations(youth_id)}

    @http("POST", f"{PREFIX}/youth/<string:youth_id>/consent-requests")
    def request_guardian_consent(self, request, city, youth_id):
        """E-mail a guardian a consent link; the response never contains the link."""
        return 201, self.registration_rpc.request_guardian_consent(youth_id,
                                                                   json_body(request))

    @http("POST", f"{PREFIX}/youth/<string:youth_id>/consent-withdrawal")
    def withdraw_guardian_consent(self, request, city, youth_id):
        return self.registration_rpc.withdraw_guardian_consent(youth_id,
                                                               optional_body(request))

    @http("POST", f"{PREFIX}/guardian-consent/lookup")
    def get_guardian_consent(self, request, city):
        """Return the request behind a consent link. The token travels in the body,
        never in the URL, so it stays out of access logs."""
        return self.registration_rpc.get_guardian_consent(
            json_body(request).get("token"))

    @http("POST", f"{PREFIX}/guardian-consent")
    def answer_guardian_consent(self, request, city):
        """Grant or decline with ``{"token": ..., "decision": "grant"|"decline"}``."""
        body = json_body(request)
        return self.registration_rpc.answer_guardian_consent(
            body.pop("token", None), body)

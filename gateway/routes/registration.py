"""Youth profiles, guardian consent, registrations, attendance and completion, from
the registration service.

A young person, or a guardian, signs in and creates the youth profile. The
account then has the ``youth`` or ``guardian`` grant for it, and acts on that
profile's registrations, consent and data. Partner staff act on the rosters of
their organisation's opportunities. Consent links carry their own single-use
token, so a guardian grants or declines without an account, through the JSON
routes or the HTML page at ``/guardian-consent/<city>`` that the link opens.
"""

from cities_common.errors import Conflict, InvalidInput, NotFound, Rejected
from gateway.access import (
    OPPORTUNITY_STAFF, PUBLIC, SIGNED_IN, YOUTH_OWNER, RegistrationParty, YouthOwner,
    caller, route, signed_in,
)
from gateway.consent_page import consent_page
from gateway.errors import BadRequest, PayloadTooLarge
from gateway.requests import MAX_BODY_BYTES, json_body, optional_json_body

PREFIX = "/v1/cities/<string:city>"
RELATIONSHIPS = ("self", "guardian")

YOUTH_OR_STAFF = RegistrationParty(("youth", "staff"))
STAFF_ONLY = RegistrationParty(("staff",))
YOUTH_BY_BODY = YouthOwner(body_field="youth_id")


def optional_body(request) -> dict:
    return optional_json_body(request) or {}


class RegistrationRoutes:
    """Routes under ``/v1/cities/<city>`` served by the registration service."""

    @route("POST", f"{PREFIX}/registrations", access=SIGNED_IN)
    def register(self, request, city):
        """Register a youth; 201 for a new registration, 200 for the existing one.

        Name a youth profile the account acts for (``youth_id``), or send a new
        ``youth`` profile with its ``relationship`` to the account (``self``, the
        default, or ``guardian``); the account then acts for that profile too.
        """
        principal = signed_in(request)
        body = json_body(request)
        relationship = body.pop("relationship", "self")
        if "youth_id" in body:
            YOUTH_BY_BODY.check(self, request, {"city": city})
        elif "youth" in body:
            self._check_relationship(principal, city, relationship)
        else:
            raise BadRequest({"youth_id": [
                "is missing: name a youth profile you act for, or send a new "
                "'youth' profile"]})
        registration = self.registration_rpc.register(body)
        if "youth_id" not in body:
            self._grant_youth(principal, city, relationship, registration["youth_id"])
        return (201 if registration.pop("created") else 200), registration

    @route("GET", f"{PREFIX}/registrations/<string:registration_id>",
           access=YOUTH_OR_STAFF)
    def get_registration(self, request, city, registration_id):
        return self.registration_rpc.get_registration(registration_id)

    @route("POST", f"{PREFIX}/registrations/<string:registration_id>/cancellation",
           access=YOUTH_OR_STAFF)
    def cancel_registration(self, request, city, registration_id):
        return self.registration_rpc.cancel_registration(
            registration_id, optional_body(request), signed_in(request).account_id)

    @route("POST", f"{PREFIX}/registrations/<string:registration_id>/completion",
           access=STAFF_ONLY)
    def complete(self, request, city, registration_id):
        """Staff sign-off; completing twice returns the completed registration."""
        return self.registration_rpc.complete(registration_id, optional_body(request),
                                              signed_in(request).account_id)

    @route("GET", f"{PREFIX}/registrations/<string:registration_id>/attendance",
           access=YOUTH_OR_STAFF)
    def list_attendance(self, request, city, registration_id):
        return self.registration_rpc.list_attendance(registration_id)

    @route("POST", f"{PREFIX}/registrations/<string:registration_id>/evidence",
           access=YOUTH_OR_STAFF)
    def add_evidence(self, request, city, registration_id):
        """Attach a link to work, by the youth (or guardian) or by staff."""
        return 201, self.registration_rpc.add_evidence(
            registration_id, json_body(request), signed_in(request).account_id)

    @route("POST", f"{PREFIX}/registrations/<string:registration_id>/peer-assessments",
           access=SIGNED_IN)
    def add_peer_assessment(self, request, city, registration_id):
        """A peer's assessment; 201 when new, 200 when this assessor already assessed.

        The assessor is the youth of ``assessor_registration_id`` (a registration
        for the same opportunity), acting themself or through a guardian; staff of
        the opportunity's organisation may record it for them.
        """
        body = json_body(request)
        assessor = body.get("assessor_registration_id")
        if not isinstance(assessor, str) or not assessor:
            raise BadRequest({"assessor_registration_id": ["is required"]})
        principal = signed_in(request)
        facts = self.registration_rpc.access_facts("registration", assessor)
        if facts["youth_id"] not in principal.youth_ids(city):
            STAFF_ONLY.check(self, request, {"city": city,
                                             "registration_id": registration_id})
        assessment = self.registration_rpc.add_peer_assessment(registration_id, body)
        return (201 if assessment.pop("created") else 200), assessment

    @route("GET", f"{PREFIX}/opportunities/<string:opportunity_id>/registrations",
           access=OPPORTUNITY_STAFF)
    def list_registrations(self, request, city, opportunity_id):
        """Registrations in arrival order; page with ``after_sequence`` and ``limit``."""
        return self.registration_rpc.list_registrations(
            opportunity_id, request.args.get("status"),
            request.args.get("after_sequence", 0), request.args.get("limit", 100))

    @route("GET", f"{PREFIX}/opportunities/<string:opportunity_id>/completion-rule",
           access=PUBLIC)
    def get_completion_rule(self, request, city, opportunity_id):
        return self.registration_rpc.get_completion_rule(opportunity_id)

    @route("PUT", f"{PREFIX}/opportunities/<string:opportunity_id>/completion-rule",
           access=OPPORTUNITY_STAFF)
    def set_completion_rule(self, request, city, opportunity_id):
        return self.registration_rpc.set_completion_rule(
            opportunity_id, json_body(request), signed_in(request).account_id)

    @route("POST", f"{PREFIX}/opportunities/<string:opportunity_id>/attendance",
           access=OPPORTUNITY_STAFF)
    def record_attendance(self, request, city, opportunity_id):
        return self.registration_rpc.record_attendance(
            opportunity_id, json_body(request), signed_in(request).account_id)

    @route("POST", f"{PREFIX}/youth", access=SIGNED_IN)
    def create_youth(self, request, city):
        """Create a youth profile for the signed-in account.

        ``relationship`` says who the account is: ``self`` (the young person, the
        default; one profile per city) or ``guardian``. The account then acts on
        this profile.
        """
        principal = signed_in(request)
        body = json_body(request)
        relationship = body.pop("relationship", "self")
        self._check_relationship(principal, city, relationship)
        youth = self.registration_rpc.create_youth(body)
        self._grant_youth(principal, city, relationship, youth["id"])
        return 201, youth

    def _check_relationship(self, principal, city, relationship) -> None:
        if relationship not in RELATIONSHIPS:
            raise BadRequest({"relationship": [
                f"must be one of {', '.join(RELATIONSHIPS)}"]})
        if relationship == "self" and principal.holds(city, ("youth",)):
            raise Conflict(f"this account already has its own youth profile in {city}; "
                           "a guardian creates a child's profile with "
                           "relationship 'guardian'")

    def _grant_youth(self, principal, city, relationship, youth_id) -> None:
        self.identity_rpc.grant(principal.account_id, city,
                                "youth" if relationship == "self" else "guardian",
                                youth_id)

    @route("GET", f"{PREFIX}/youth/<string:youth_id>", access=YOUTH_OWNER)
    def get_youth(self, request, city, youth_id):
        return self.registration_rpc.get_youth(youth_id)

    @route("DELETE", f"{PREFIX}/youth/<string:youth_id>", access=YOUTH_OWNER)
    def erase_youth(self, request, city, youth_id):
        """Erase the youth's data; 202 with the erasure, whose status has its own URL.

        The erasure id is a random handle: whoever holds it may read the status,
        which carries no personal data.
        """
        erasure = self.registration_rpc.erase_youth(youth_id)
        return 202, {**erasure, "status_url": f"/v1/cities/{city}/erasures/{erasure['id']}"}

    @route("GET", f"{PREFIX}/erasures/<string:erasure_id>", access=PUBLIC)
    def get_erasure(self, request, city, erasure_id):
        """Return the erasure's status and the part of each service.

        ``status`` becomes ``completed`` once registration and every service that
        consumes ``youth_erased`` (identity, badges, notifications) finished.
        """
        return self.registration_rpc.get_erasure(erasure_id)

    @route("POST", f"{PREFIX}/youth/<string:youth_id>/guardians", access=YOUTH_OWNER)
    def add_guardian(self, request, city, youth_id):
        return 201, self.registration_rpc.add_guardian(youth_id, json_body(request))

    @route("GET", f"{PREFIX}/youth/<string:youth_id>/registrations", access=YOUTH_OWNER)
    def list_youth_registrations(self, request, city, youth_id):
        return {"registrations": self.registration_rpc.list_youth_registrations(youth_id)}

    @route("POST", f"{PREFIX}/youth/<string:youth_id>/consent-requests",
           access=YOUTH_OWNER)
    def request_guardian_consent(self, request, city, youth_id):
        """E-mail a guardian a consent link; the response never contains the link."""
        return 201, self.registration_rpc.request_guardian_consent(youth_id,
                                                                   json_body(request))

    @route("POST", f"{PREFIX}/youth/<string:youth_id>/consent-withdrawal",
           access=YOUTH_OWNER)
    def withdraw_guardian_consent(self, request, city, youth_id):
        return self.registration_rpc.withdraw_guardian_consent(youth_id,
                                                               optional_body(request))

    @route("POST", f"{PREFIX}/guardian-consent/lookup", access=PUBLIC)
    def get_guardian_consent(self, request, city):
        """Return the request behind a consent link. The token travels in the body,
        never in the URL, so it stays out of access logs."""
        return self.registration_rpc.get_guardian_consent(
            json_body(request).get("token"))

    @route("POST", f"{PREFIX}/guardian-consent", access=PUBLIC)
    def answer_guardian_consent(self, request, city):
        """Grant or decline with ``{"token": ..., "decision": "grant"|"decline"}``.

        The token is the guardian's proof. A guardian who answers while signed in
        also gains the ``guardian`` grant for the child when they grant consent.
        """
        body = json_body(request)
        answer = self.registration_rpc.answer_guardian_consent(body.pop("token", None),
                                                               body)
        principal = caller(request) if request.caller.presented else None
        granted = (answer.get("consent") or {}).get("status") == "granted"
        if principal is not None and principal.is_account \
                and granted and answer.get("youth_id"):
            self.identity_rpc.grant(principal.account_id, city, "guardian",
                                    answer["youth_id"])
        return answer

    @route("GET", "/guardian-consent/<string:city>", access=PUBLIC)
    def show_consent_page(self, request, city):
        """Show the page a consent link opens: a form for the e-mailed code.

        The page is plain HTML without scripts, in English and Spanish. Its form
        posts to the same URL.
        """
        return consent_page(self.catalog_rpc.get_city(city)["name"])

    @route("POST", "/guardian-consent/<string:city>", access=PUBLIC)
    def answer_consent_page(self, request, city):
        """Grant or decline from the consent page's form; respond with a page.

        The form sends ``token`` (the consent code) and ``decision`` (``grant`` or
        ``decline``) as ``application/x-www-form-urlencoded``. A rejected answer
        gets the status the JSON route would give, with a page that explains it.
        """
        city_name = self.catalog_rpc.get_city(city)["name"]
        if request.content_length and request.content_length > MAX_BODY_BYTES:
            raise PayloadTooLarge(MAX_BODY_BYTES)
        token = request.form.get("token", "").strip()
        decisions = request.form.getlist("decision")
        decision = decisions[0] if len(decisions) == 1 else None
        # A form with two decisions (grant and decline) is invalid.
        if not token or len(request.form.getlist("token")) > 1 \
                or decision not in ("grant", "decline"):
            return consent_page(city_name, "invalid")
        try:
            answer = self.registration_rpc.answer_guardian_consent(
                token, {"decision": decision})
        except Rejected as exc:
            return consent_page(city_name, exc.reason)
        except (NotFound, InvalidInput):
            return consent_page(city_name, "not_found")
        return consent_page(city_name, answer["consent"]["status"])

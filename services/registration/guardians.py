"""Entrypoints for youth profiles, guardians and guardian consent; mixed into the
service.

A youth under 13 registers only after a guardian consented through a single-use,
expiring link sent by e-mail: ``request_guardian_consent`` dispatches
``guardian_consent_requested`` with the link, and the guardian's answer goes to
``answer_guardian_consent``. Withdrawing consent cancels the youth's active
registrations.
"""

import logging
import os
from datetime import timedelta

from cities_common.rpc import rpc

from cities_common import events
from cities_common.config import load_settings
from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, Rejected, UnknownCity,
)
from services.registration import consent
from services.registration.clock import iso, utc_now
from services.registration.people import new_id
from services.registration.schemas import (
    ConsentDecisionSchema, ConsentRequestSchema, ConsentWithdrawalSchema,
    GuardianSchema, YouthProfileSchema,
)
from services.registration.storage import ACTIVE
from services.registration.work import registration_view

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, InvalidInput, NotFound, UnknownCity)
TTL_SETTING = "GUARDIAN_CONSENT_TTL_HOURS"


class GuardianEntrypoints:
    """Youth profiles, their guardians, and the consent a child under 13 needs."""

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("profile",))
    def create_youth(self, profile):
        """Create a youth profile, with its guardians if given."""
        city = self.tenant.city
        profile = self._load(YouthProfileSchema, profile, "invalid youth profile")
        self._check_interests(city, profile)
        youth = self.store.people.create_youth(city, profile, utc_now())
        logger.info("created youth %s", youth["id"])
        return youth

    @rpc(expected_exceptions=EXPECTED)
    def get_youth(self, youth_id):
        """Return a youth profile with its guardians and consent status.

        The gateway serves it only to the youth and their guardians.
        """
        return self._youth(self.tenant.city, youth_id)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("guardian",))
    def add_guardian(self, youth_id, guardian):
        city = self.tenant.city
        guardian = self._load(GuardianSchema, guardian, "invalid guardian")
        youth = self._youth(city, youth_id)
        added = self.store.people.add_guardian(city, youth["id"], guardian, utc_now())
        logger.info("added guardian %s to youth %s", added["id"], youth["id"])
        return added

    @rpc(expected_exceptions=EXPECTED)
    def request_guardian_consent(self, youth_id, request):
        """Send a guardian a consent link; earlier unanswered links stop working.

        Raises ``Rejected`` (``guardian_consent_already_granted``) when a guardian
        already consented. Dispatches ``guardian_consent_requested``, which carries the
        guardian's e-mail address, language and the link.
        """
        city = self.tenant.city
        request = self._load(ConsentRequestSchema, request, "invalid consent request")
        youth = self._youth(city, youth_id)
        guardian = _guardian(youth, request["guardian_id"])
        if (youth.get("consent") or {}).get("status") == "granted":
            raise Rejected("guardian_consent_already_granted",
                           f"a guardian already consented for youth {youth['id']}")

        now = utc_now()
        token = consent.new_token()
        self.store.people.revoke_consent_requests(city, youth["id"], now)
        record = self.store.people.add_consent_request({
            "_id": new_id("csr"), "city": city, "youth_id": youth["id"],
            "guardian_id": guardian["id"], "token_hash": consent.token_hash(token),
            "status": "pending", "created_at": now,
            "expires_at": consent.expiry(now, self._consent_ttl()),
        })
        self.store.people.set_consent(city, youth["id"], {
            "status": "requested", "guardian_id": guardian["id"],
            "requested_at": iso(now)})
        base_url = load_settings(self.config).public_base_url
        self.publish(events.GUARDIAN_CONSENT_REQUESTED, city, {
            "consent_request_id": record["id"], "youth_id": youth["id"],
            "youth_display_name": youth["display_name"],
            "guardian_id": guardian["id"], "guardian_name": guardian["name"],
            "guardian_email": guardian["email"], "language": guardian["language"],
            "consent_url": consent.consent_url(base_url, city, token),
            "expires_at": iso(record["expires_at"]),
        }, event_id=f"consent-requested-{record['id']}")
        logger.info("consent request %s sent for youth %s", record["id"], youth["id"])
        return _request_view(record)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("token",))
    def get_guardian_consent(self, token):
        """Return the request behind a consent link, for the guardian's page."""
        city = self.tenant.city
        record = self._consent_request(city, token)
        youth = self._youth(city, record["youth_id"])
        guardian = _guardian(youth, record["guardian_id"])
        return {**_request_view(record), "youth_display_name": youth["display_name"],
                "guardian_name": guardian["name"]}

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("token",))
    def answer_guardian_consent(self, token, request):
        """Grant or decline consent with a link's token; each token works once.

        Raises ``NotFound`` for an unknown token, and ``Rejected`` with
        ``consent_token_expired``, ``consent_token_used`` or
        ``consent_token_revoked`` for one that cannot be used.
        """
        city = self.tenant.city
        decision = self._load(ConsentDecisionSchema, request,
                              "invalid consent answer")["decision"]
        status = "granted" if decision == "grant" else "declined"
        _require_token(token)
        now = utc_now()
        record = self.store.people.use_consent_request(
            city, consent.token_hash(str(token)), status, now) \
            if consent.is_plausible_token(token) else None
        if record is None:
            _reject_token(self._consent_request(city, token))
        youth = self.store.people.set_consent(city, record["youth_id"], {
            "status": status, "guardian_id": record["guardian_id"],
            "consent_request_id": record["id"], f"{status}_at": iso(now)})
        if youth is None:
            raise NotFound(f"youth {record['youth_id']!r} not found in {city}")
        logger.info("consent request %s %s for youth %s", record["id"], status,
                    youth["id"])
        return {"consent_request_id": record["id"], "youth_id": youth["id"],
                "consent": youth["consent"]}

    @rpc(expected_exceptions=EXPECTED)
    def withdraw_guardian_consent(self, youth_id, request=None):
        """Withdraw consent: cancel the youth's active registrations and open links.

        Dispatches ``registration_cancelled`` (reason ``consent_withdrawn``) for each
        cancelled registration, and ``waitlist_promoted`` for the seats it frees.
        """
        city = self.tenant.city
        request = self._load(ConsentWithdrawalSchema, request, "invalid withdrawal")
        youth = self._youth(city, youth_id)
        if request["guardian_id"]:
            _guardian(youth, request["guardian_id"])
        now = utc_now()
        youth = self.store.people.set_consent(city, youth["id"], {
            "status": "withdrawn", "guardian_id": request["guardian_id"],
            "withdrawn_at": iso(now)})
        self.store.people.revoke_consent_requests(city, youth["id"], now)
        cancelled = [
            self._cancel(city, registration, "consent_withdrawn", request["guardian_id"])
            for registration in self.store.list_for_youth(city, youth["id"], ACTIVE)]
        logger.info("consent withdrawn for youth %s; %s registrations cancelled",
                    youth["id"], len(cancelled))
        return {"youth_id": youth["id"], "consent": youth["consent"],
                "cancelled_registrations": [registration_view(item)
                                            for item in cancelled]}

    def _consent_request(self, city: str, token) -> dict:
        _require_token(token)
        record = None
        if consent.is_plausible_token(token):
            record = self.store.people.find_consent_request(city,
                                                            consent.token_hash(token))
        if record is None:
            raise NotFound(f"consent link not found in {city}: check that the whole "
                           "link was opened")
        return record

    def _consent_ttl(self) -> timedelta:
        hours = self.config.get(TTL_SETTING) or os.environ.get(TTL_SETTING)
        return timedelta(hours=float(hours)) if hours else consent.DEFAULT_TTL


def _require_token(token) -> None:
    if not isinstance(token, str) or not token:
        raise InvalidInput({"token": ["is missing: send the token from the consent link"]},
                           "invalid consent answer")


def _guardian(youth: dict, guardian_id: str) -> dict:
    for guardian in youth.get("guardians", []):
        if guardian["id"] == guardian_id:
            return guardian
    raise NotFound(f"guardian {guardian_id!r} not found for youth {youth['id']}")


def _reject_token(record: dict):
    """Raise ``Rejected`` with the reason an existing token cannot be used."""
    details = {"consent_request_id": record["id"], "request_status": record["status"]}
    if record["status"] == "pending" and record["expires_at"] > utc_now():
        # A concurrent request claimed the token a moment ago and has not yet
        # marked the consent request answered.
        raise Rejected("consent_token_used",
                       "this consent link was just used by another answer", details)
    if record["status"] == "pending":
        raise Rejected("consent_token_expired",
                       f"this consent link expired at {iso(record['expires_at'])}; "
                       "ask for a new one", details)
    if record["status"] == "revoked":
        raise Rejected("consent_token_revoked",
                       "this consent link was replaced or withdrawn; use the newest "
                       "link", details)
    raise Rejected("consent_token_used",
                   f"this consent link was already used ({record['status']})", details)


def _request_view(record: dict) -> dict:
    return {"id": record["id"], "youth_id": record["youth_id"],
            "guardian_id": record["guardian_id"], "status": record["status"],
            "created_at": iso(record["created_at"]),
            "expires_at": iso(record["expires_at"])}

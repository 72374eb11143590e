"""The registration service: youth sign up for opportunities and complete them."""

import logging
from datetime import date, datetime, timezone

from marshmallow import ValidationError
from nameko.rpc import RpcProxy, rpc

from cities_common import events
from cities_common.context import RequestContext
from cities_common.dispatch import EventPublisher
from cities_common.errors import Conflict, InvalidInput, NotFound, UnknownCity
from cities_common.handlers import EventInbox, consumes, durable_event_handler
from cities_common.metrics import Metrics
from cities_common.storage import MongoDatabase
from cities_common.tenancy import Tenancy
from services.registration.schemas import CompletionRequestSchema, RegisterRequestSchema
from services.registration.storage import RegistrationStore

logger = logging.getLogger(__name__)

EXPECTED = (Conflict, InvalidInput, NotFound, UnknownCity)


def age_on(today: date, birth_year: int, birth_month: int) -> int:
    """Return a youth's age in whole years, assuming a birthday on the 1st."""
    return today.year - birth_year - (1 if today.month < birth_month else 0)


class RegistrationService:
    """Registers youth for opportunities and records their completion."""

    name = "registration"

    store = MongoDatabase(RegistrationStore)
    tenant = Tenancy()
    inbox = EventInbox()
    request = RequestContext()
    metrics = Metrics()
    publish = EventPublisher()
    catalog_rpc = RpcProxy("catalog")

    @rpc
    def health(self):
        return {"service": self.name, "ok": True}

    @durable_event_handler("catalog", events.CITY_ONBOARDED)
    @consumes(events.CITY_ONBOARDED)
    def handle_city_onboarded(self, event):
        self.tenant.registry.add(event["data"])

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("request.youth",))
    def register(self, request):
        """Register a youth (new profile or ``youth_id``) for a published opportunity.

        Registering twice returns the first registration. A full opportunity puts the
        youth on the waitlist. Raises ``Conflict`` when the opportunity is not open or
        the youth's age is outside its range. Dispatches ``youth_registered``.
        """
        city = self.tenant.city
        request = self._load(RegisterRequestSchema, request)
        opportunity = self.catalog_rpc.get_opportunity(request["opportunity_id"])
        if opportunity["status"] != "published":
            raise Conflict(f"opportunity {opportunity['id']} is {opportunity['status']}, "
                           "not open for registration")
        youth = self._youth(city, request)
        self._check_age(opportunity, youth)

        registration, created = self.store.add_registration(city, opportunity["id"],
                                                            youth["id"])
        if not created and registration["status"] != "pending":
            return {**registration, "created": False}

        seated = self.store.claim_seat(city, opportunity["id"], opportunity.get("capacity"))
        status = "confirmed" if seated else "waitlisted"
        registration = self.store.set_status(city, registration["id"], status)

        self.publish(events.YOUTH_REGISTERED, city, {
            "registration_id": registration["id"], "youth_id": youth["id"],
            "opportunity_id": opportunity["id"], "status": status,
        }, event_id=f"registered-{registration['id']}")
        logger.info("registration %s for %s is %s", registration["id"],
                    opportunity["id"], status)
        return {**registration, "created": True}

    @rpc(expected_exceptions=EXPECTED)
    def complete(self, registration_id, request=None):
        """Mark a confirmed registration completed; dispatch ``program_completed`` once.

        Calling it again returns the completed registration. The event has an id
        derived from the registration, so even a retry after a crash between the
        update and the dispatch is dropped by consumers as a duplicate.
        """
        city = self.tenant.city
        request = self._load(CompletionRequestSchema, request or {})
        registration = self.store.get_registration(city, str(registration_id))
        if registration is None:
            raise NotFound(f"registration {registration_id!r} not found in {city}")
        if registration["status"] not in ("confirmed", "completed"):
            raise Conflict(f"registration {registration_id} is {registration['status']}; "
                           "only a confirmed registration can be completed")
        if registration["status"] == "confirmed":
            completed_at = datetime.now(timezone.utc).isoformat()
            registration = self.store.set_status(
                city, registration["id"], "completed", expected="confirmed",
                completed_at=completed_at, evidence_url=request["evidence_url"],
            ) or self.store.get_registration(city, registration["id"])
        if not registration.get("completion_announced"):
            self._announce_completion(city, registration)
        return registration

    @rpc(expected_exceptions=EXPECTED)
    def get_registration(self, registration_id):
        city = self.tenant.city
        registration = self.store.get_registration(city, str(registration_id))
        if registration is None:
            raise NotFound(f"registration {registration_id!r} not found in {city}")
        return registration

    def _announce_completion(self, city, registration):
        opportunity = self.catalog_rpc.get_opportunity(registration["opportunity_id"])
        self.publish(events.PROGRAM_COMPLETED, city, {
            "completion_id": f"cmp-{registration['id']}",
            "registration_id": registration["id"],
            "youth_id": registration["youth_id"],
            "opportunity_id": registration["opportunity_id"],
            "opportunity_title": opportunity["title"],
            "provider_name": opportunity["provider"]["name"],
            "completed_at": registration["completed_at"],
            "evidence_url": registration.get("evidence_url"),
        }, event_id=f"completed-{registration['id']}")
        self.store.mark(city, registration["id"], completion_announced=True)
        registration["completion_announced"] = True
        logger.info("registration %s completed", registration["id"])

    def _youth(self, city, request):
        if request["youth_id"]:
            youth = self.store.get_youth(city, request["youth_id"])
            if youth is None:
                raise NotFound(f"youth {request['youth_id']!r} not found in {city}")
            return youth
        return self.store.create_youth(city, request["youth"])

    @staticmethod
    def _check_age(opportunity, youth):
        age = age_on(date.today(), youth["birth_year"], youth["birth_month"])
        low, high = opportunity.get("min_age"), opportunity.get("max_age")
        if low is not None and age < low:
            raise Conflict(f"this opportunity is for ages {low} and up; the youth is {age}")
        if high is not None and age > high:
            raise Conflict(f"this opportunity is for ages up to {high}; the youth is {age}")

    @staticmethod
    def _load(schema, payload):
        try:
            return schema().load(payload or {})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid registration request") from exc

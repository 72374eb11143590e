"""Steps the registration entrypoints share: input loading, lookups, seat changes
and the events that follow them."""

import logging
import time

from marshmallow import ValidationError

from cities_common import events
from cities_common.errors import Conflict, InvalidInput, NotFound
from services.registration.clock import iso, utc_now
from services.registration.contacts import mail_contact
from services.registration.schemas import ActorSchema
from services.registration.storage import ACTIVE

logger = logging.getLogger(__name__)

# Fields of a registration document that only the service uses.
INTERNAL_FIELDS = ("schedule", "queued_at", "unannounced", "announce_pending")
# Stand-in for the capacity of an opportunity the catalog no longer has.
UNKNOWN = object()


def registration_view(registration: dict) -> dict:
    return {key: value for key, value in registration.items()
            if key not in INTERNAL_FIELDS}


# Seconds an opportunity read from the catalog is reused when registering. A
# burst of registrations for one opportunity then costs one catalog call per
# process and period instead of one each, at the price of seeing a change to its
# status, capacity or window up to this late.
OPPORTUNITY_CACHE_SECONDS = 2.0
_opportunities: dict[tuple[str, str], tuple[float, dict]] = {}


class RegistrationWork:
    """Helpers mixed into ``RegistrationService``; they use its dependencies."""

    def _cached_opportunity(self, city: str, opportunity_id) -> dict:
        key = (city, str(opportunity_id))
        cached = _opportunities.get(key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        opportunity = self.catalog_rpc.get_opportunity(str(opportunity_id))
        if len(_opportunities) > 10_000:
            _opportunities.clear()
        _opportunities[key] = (time.monotonic() + OPPORTUNITY_CACHE_SECONDS, opportunity)
        return opportunity

    def _load(self, schema, payload, message="invalid registration request"):
        if payload is not None and not isinstance(payload, dict):
            raise InvalidInput({"_schema": ["must be a JSON object"]}, message)
        try:
            return schema().load(payload or {})
        except ValidationError as exc:
            raise InvalidInput(exc.messages, message) from exc

    def _actor(self, actor) -> str:
        """Return the staff account id that the gateway passed; raise when missing.

        The gateway has already checked that the account is staff of the
        opportunity's partner, or an administrator of the city.
        """
        return self._load(ActorSchema, {"actor": actor}, "missing staff account")["actor"]

    def _check_interests(self, city: str, profile: dict, path: tuple = ()) -> None:
        """Raise ``InvalidInput`` naming each interest outside the city's vocabulary.

        ``path`` places the error under the request's fields, such as ``("youth",)``.
        """
        interests = profile.get("interests") or []
        if not interests:
            return
        known = {entry["slug"] for entry in self.catalog_rpc.list_interests()}
        unknown = {index: [f"{slug!r} is not an interest of {city}; choose slugs "
                           f"from GET /v1/cities/{city}/interests"]
                   for index, slug in enumerate(interests) if slug not in known}
        if unknown:
            errors: dict = {"interests": unknown}
            for name in reversed(path):
                errors = {name: errors}
            raise InvalidInput(errors, "invalid youth profile")

    def _time_zone(self, city: str) -> str:
        document = self.tenant.registry.get(city) or {}
        return document.get("time_zone") or "UTC"

    def _registration(self, city: str, registration_id) -> dict:
        registration = self.store.get_registration(city, str(registration_id))
        if registration is None:
            raise NotFound(f"registration {registration_id!r} not found in {city}")
        return registration

    def _youth(self, city: str, youth_id) -> dict:
        youth = self.store.people.get_youth(city, str(youth_id))
        if youth is None:
            raise NotFound(f"youth {youth_id!r} not found in {city}")
        return youth

    def _capacity(self, opportunity_id: str):
        """Return the opportunity's capacity, or ``UNKNOWN`` when it is gone."""
        try:
            return self.catalog_rpc.get_opportunity(opportunity_id).get("capacity")
        except NotFound:
            logger.warning("opportunity %s is gone; its waitlist stays as it is",
                           opportunity_id)
            return UNKNOWN

    def _cancel(self, city: str, registration: dict, reason: str,
                actor: str | None) -> dict:
        """Cancel a registration, free its place and promote the next in line.

        Returns the registration unchanged when it is already cancelled. Dispatches
        ``registration_cancelled`` and ``waitlist_promoted``.
        """
        opportunity_id = registration["opportunity_id"]
        capacity = self._capacity(opportunity_id)
        now = utc_now()
        with self.store.places.opportunity(city, opportunity_id) as places:
            current = places.get(registration["id"])
            if current["status"] == "cancelled":
                return current
            if current["status"] not in ACTIVE:
                raise Conflict(f"registration {current['id']} is {current['status']}; "
                               "only a confirmed or waitlisted one can be cancelled")
            cancelled = places.release(current, reason, actor, now)
            promoted = [] if capacity is UNKNOWN else places.promote(capacity, now)

        event_id = self._publish_cancelled(city, cancelled)
        self.store.places.mark_announced(city, [event_id], utc_now())
        logger.info("registration %s cancelled (%s, was %s)", cancelled["id"], reason,
                    cancelled["previous_status"])
        self._announce_promotions(city, promoted)
        return cancelled

    def _publish_cancelled(self, city: str, registration: dict) -> str:
        """Dispatch ``registration_cancelled`` for a released registration; return
        its event id."""
        event_id = f"cancelled-{registration['id']}-{registration['sequence']}"
        self.publish(events.REGISTRATION_CANCELLED, city, {
            "registration_id": registration["id"], "youth_id": registration["youth_id"],
            "opportunity_id": registration["opportunity_id"],
            "previous_status": registration["previous_status"],
            "reason": registration["cancel_reason"],
            "cancelled_at": registration["cancelled_at"],
        }, event_id=event_id)
        return event_id

    def _fill_freed_seats(self, city: str, opportunity_id: str) -> list[dict]:
        """Promote waitlisted registrations into seats the current capacity frees.

        The capacity comes from the catalog, not from the event, so an update
        delivered late never promotes beyond what the opportunity allows now.
        """
        if self.store.places.counts(city, opportunity_id)["waiting"] <= 0:
            return []
        capacity = self._capacity(opportunity_id)
        if capacity is UNKNOWN:
            return []
        with self.store.places.opportunity(city, opportunity_id) as places:
            promoted = places.promote(capacity, utc_now())
        self._announce_promotions(city, promoted)
        return promoted

    def _cancel_all(self, city: str, opportunity_id: str, reason: str) -> list[dict]:
        """Cancel every active registration of an opportunity without promoting any."""
        now = utc_now()
        with self.store.places.opportunity(city, opportunity_id) as places:
            cancelled = [places.release(registration, reason, None, now)
                         for registration in places.active()]
        announced = [self._publish_cancelled(city, registration)
                     for registration in cancelled]
        self.store.places.mark_announced(city, announced, now)
        if cancelled:
            logger.info("cancelled %s registrations of %s (%s)", len(cancelled),
                        opportunity_id, reason)
        return cancelled

    def _announce_promotions(self, city: str, promoted: list[dict]) -> None:
        """Dispatch ``waitlist_promoted`` for each promotion made under the lock."""
        announced = []
        for registration in promoted:
            youth = self.store.people.get_youth(city, registration["youth_id"])
            event_id = f"promoted-{registration['id']}-{registration['sequence']}"
            self.publish(events.WAITLIST_PROMOTED, city, {
                "registration_id": registration["id"],
                "youth_id": registration["youth_id"],
                "opportunity_id": registration["opportunity_id"],
                "sequence": registration["sequence"],
                "promoted_at": registration["promoted_at"],
                **(mail_contact(youth) if youth else {}),
            }, event_id=event_id)
            announced.append(event_id)
            logger.info("registration %s promoted from the waitlist of %s",
                        registration["id"], registration["opportunity_id"])
        self.store.places.mark_announced(city, announced, utc_now())

    def _complete(self, city: str, registration: dict, opportunity: dict,
                  completion: dict | None) -> dict:
        """Complete a confirmed registration when ``completion`` is given, and
        dispatch ``program_completed`` once per registration.

        Both happen under the opportunity's lock, and the registration records that
        the event went out. The event id is derived from the registration, so a
        retry after a crash between dispatching and recording sends a copy that
        consumers drop as a duplicate. Returns the registration as it is after.
        """
        now = utc_now()
        with self.store.places.opportunity(city, registration["opportunity_id"]) \
                as places:
            current = places.get(registration["id"])
            if completion is not None and current["status"] == "confirmed":
                current = places.update(current, {
                    "status": "completed", "completed_at": iso(now),
                    "completion": completion, "updated_at": iso(now)})
                logger.info("registration %s completed (%s)", current["id"],
                            completion["method"])
            if current["status"] == "completed" and \
                    not current.get("completion_announced"):
                self._publish_completion(city, current, opportunity)
                current = places.update(current, {"completion_announced": True})
        return current

    def _publish_completion(self, city: str, registration: dict,
                            opportunity: dict) -> None:
        completion = registration.get("completion") or {}
        evidence_url = completion.get("evidence_url")
        if evidence_url is None:
            links = self.store.list_evidence(city, registration["id"])
            evidence_url = links[0]["url"] if links else None
        self.publish(events.PROGRAM_COMPLETED, city, {
            "completion_id": f"cmp-{registration['id']}",
            "registration_id": registration["id"],
            "youth_id": registration["youth_id"],
            "opportunity_id": registration["opportunity_id"],
            "opportunity_title": opportunity["title"],
            "provider_name": opportunity["provider"]["name"],
            "completed_at": registration["completed_at"],
            "evidence_url": evidence_url,
        }, event_id=f"completed-{registration['id']}")

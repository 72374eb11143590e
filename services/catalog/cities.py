"""Entrypoints for cities as tenants: onboarding, archiving and export."""

import logging

from marshmallow import ValidationError
from cities_common.rpc import rpc

from cities_common import events as contracts
from cities_common.errors import InvalidInput
from services.catalog import onboarding
from services.catalog.directory import CITY_ADMIN, utc_now
from services.catalog.exceptions import EXPECTED
from services.catalog.storage import CATALOG_SOURCE, record_id

logger = logging.getLogger(__name__)

ANCHOR_SOURCE_ID = "anchor"
EXPORT_SECTIONS = ("interests", "organizations", "accounts", "opportunities")
EXPORT_FORMAT = "cities-of-learning.catalog-export"
MAX_EXPORT_PAGE = 1000


class CityEntrypoints:
    """Mixed into ``CatalogService``: cities, their vocabulary and their export."""

    @rpc(expected_exceptions=EXPECTED)
    def onboard_city(self, city):
        """Create or update a city and everything it needs; safe to repeat.

        Creates the city, the missing entries of its interest vocabulary, its anchor
        organisation and, when ``admin`` is given, its first administrator account,
        then dispatches ``city_onboarded``. Raises ``InvalidInput`` naming each bad
        field, or ``CityArchived`` for an archived city.
        """
        try:
            request = onboarding.OnboardingSchema().load(city)
        except ValidationError as exc:
            raise InvalidInput(exc.messages, "invalid city") from exc
        slug = request["slug"]

        outcome, stored = self.store.cities.save(onboarding.city_settings(request))
        added = self.store.interests.add_missing(
            slug, request["interests"] or onboarding.default_interests())
        anchor = self._ensure_anchor(stored, request["anchor_organization"])
        admin = None
        if request["admin"]:
            _, admin = self.store.accounts.add_active(slug, anchor["id"], request["admin"],
                                                      CITY_ADMIN)

        self.publish(contracts.CITY_ONBOARDED, slug, onboarding.event_payload(stored))
        logger.info("onboarded city %s: %s, %s interests added, anchor %s, admin %s",
                    slug, outcome, added, anchor["id"], admin and admin["id"])
        return {"city": stored, "outcome": outcome, "interests_added": added,
                "anchor_organization": anchor, "admin": admin}

    def _ensure_anchor(self, city: dict, requested: dict | None) -> dict:
        name = (requested or {}).get("name") or city["branding"]["display_name"]
        document = {"source": CATALOG_SOURCE, "source_id": ANCHOR_SOURCE_ID,
                    "city": city["slug"], "name": name, "kind": "anchor",
                    "website": (requested or {}).get("website"), "description": None,
                    "locations": [], "anchor": True, "approved_opportunities": 0,
                    "membership": {"status": "approved", "approved_at": utc_now()}}
        created = self.store.insert("organizations", document)
        if created is not None:
            self._announce_organization(created)
            return created
        identifier = self._anchor_id(city["slug"])
        return self.store.get("organizations", city["slug"], identifier)

    @staticmethod
    def _anchor_id(slug: str) -> str:
        return record_id("organizations", slug, CATALOG_SOURCE, ANCHOR_SOURCE_ID)

    @rpc
    def list_cities(self, include_archived=False):
        """Return the onboarded cities ordered by slug; archived ones only on request."""
        return self.store.cities.list(bool(include_archived))

    @rpc(expected_exceptions=EXPECTED)
    def get_city(self, slug):
        """Return one active city; raises ``UnknownCity`` or ``CityArchived``."""
        return self.store.cities.require_active(slug)

    @rpc(expected_exceptions=EXPECTED)
    def list_interests(self):
        """Return the context city's interest vocabulary in its order."""
        city = self._city()
        return self.store.interests.list(city["slug"])

    @rpc(expected_exceptions=EXPECTED)
    def archive_city(self, slug):
        """Archive a city: stop its traffic, keep its records for export; idempotent.

        Every later request for the city raises ``CityArchived``. Dispatches
        ``city_archived`` once, from the call that archived it. Returns the city,
        whether this call archived it, and the record counts that ``export_city``
        pages through.
        """
        self.store.cities.require(slug)
        archived_now, city = self.store.cities.archive(slug)
        counts = self.store.counts(slug)
        if archived_now:
            self.publish(contracts.CITY_ARCHIVED, slug, {
                "slug": slug, "name": city["name"], "archived_at": city["archived_at"],
                "counts": counts})
            logger.info("archived city %s: %s", slug, counts)
        return {"city": city, "archived_now": archived_now, "counts": counts}

    @rpc(expected_exceptions=EXPECTED)
    def export_city(self, slug, section=None, after=None, limit=500):
        """Return one page of a city's catalog export, active or archived.

        Without ``section`` it returns the manifest: format, city and counts. With a
        section (interests, organizations, accounts, opportunities) it returns up to
        ``limit`` records after the id ``after`` and the id to pass next, or None.
        """
        city = self.store.cities.require(slug)
        if section is None:
            return {"format": EXPORT_FORMAT, "format_version": 1,
                    "exported_at": utc_now(), "city": city,
                    "sections": list(EXPORT_SECTIONS),
                    "counts": self.store.counts(slug)}
        if section not in EXPORT_SECTIONS:
            raise InvalidInput({"section": [f"must be one of {list(EXPORT_SECTIONS)}"]},
                               "invalid export request")
        limit = max(1, min(int(limit), MAX_EXPORT_PAGE))
        if section == "interests":
            records = self.store.interests.list(slug)
            return {"section": section, "records": records, "next_after": None}
        if section == "accounts":
            records = [account for account in self.store.accounts.list(slug)
                       if after is None or account["id"] > after][:limit]
        else:
            records = self.store.list(section, slug, None, after, limit)
        next_after = records[-1]["id"] if len(records) == limit else None
        return {"section": section, "records": records, "next_after": next_after}

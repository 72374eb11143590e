"""Entrypoints for a youth's badges: portfolio, visibility, share links, the
learner record export and the ``has_badges`` check for other services.

These RPCs act on the youth id they are given. The gateway calls them only for
the youth's own account or a guardian's (the ``YOUTH_OWNER`` policy in
``gateway/access.py``), and a share link's token is the only public way in.
"""

import hashlib
import logging
import secrets
import uuid
from datetime import datetime, timezone

from cities_common.rpc import rpc

from cities_common.errors import (
    CityArchived, Conflict, InvalidInput, NotFound, UnknownCity,
)
from services.badges.hosting import document
from services.badges.schemas import VisibilityRequestSchema
from services.badges.staff import load
from services.badges.storage import now

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, InvalidInput, NotFound, UnknownCity)
MAX_SHARE_LINKS = 20
# Maximum youth profiles in one account portfolio, which has one per city the
# person has lived in.
MAX_PROFILES = 50


def token_hash(token: str) -> str:
    """Hash a share token. The store keeps only this hash, so a copy of the database
    does not reveal working links."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_expired(assertion: dict) -> bool:
    expires = assertion.get("expires")
    return bool(expires) and datetime.fromisoformat(expires) < datetime.now(
        timezone.utc
    )


class PortfolioEntrypoints:
    """RPCs about one youth's badges; mixed into ``BadgesService``."""

    @rpc(expected_exceptions=EXPECTED)
    def list_badges(self, youth_id):
        """Return the context city's badges of one youth, newest first."""
        return self.store.list_for_youth(self.tenant.city, str(youth_id))

    @rpc(expected_exceptions=EXPECTED)
    def get_assertion(self, identifier):
        """Return the stored assertion record (not the hosted document)."""
        city = self.tenant.city
        assertion = self.store.get_assertion(city, str(identifier))
        if assertion is None:
            raise NotFound(f"badge assertion {identifier!r} not found in {city}")
        return assertion

    @rpc(expected_exceptions=EXPECTED)
    def has_badges(self, youth_id, badge_class_ids):
        """Report whether a youth has a valid badge of every given class.

        Revoked and expired badges do not count. Returns ``has_all``, ``held`` and
        ``missing``, so registration can name what a prerequisite lacks.
        """
        city = self.tenant.city
        if not isinstance(badge_class_ids, list) or not all(
            isinstance(item, str) for item in badge_class_ids
        ):
            raise InvalidInput(
                {"badge_class_ids": ["must be a list of badge class ids"]},
                "invalid badge check",
            )
        held = {
            item["badge_class_id"]
            for item in self.store.list_for_youth(city, str(youth_id))
            if not item.get("revoked") and not is_expired(item)
        }
        requested = list(dict.fromkeys(badge_class_ids))
        missing = [item for item in requested if item not in held]
        return {
            "youth_id": str(youth_id),
            "has_all": not missing,
            "held": [item for item in requested if item in held],
            "missing": missing,
        }

    @rpc(expected_exceptions=EXPECTED)
    def portfolio(self, youth_id):
        """Return every badge of a youth with its evidence, visibility and links."""
        city = self.tenant.city
        youth_id = str(youth_id)
        badges = [
            self.portfolio_badge(city, item)
            for item in self.store.list_for_youth(city, youth_id)
        ]
        links = [
            {k: v for k, v in item.items() if k != "token_hash"}
            for item in self.store.list_share_links(city, youth_id)
        ]
        return {
            "youth_id": youth_id,
            "badges": badges,
            "share_links": links,
            "playlists": self.playlist_progress(city, youth_id),
            "record_url": self.urls(city).learner_record(youth_id),
        }

    @rpc(expected_exceptions=EXPECTED)
    def account_portfolio(self, profiles):
        """Gather the portfolios of one person's youth profiles across cities.

        ``profiles`` lists ``{"city", "youth_id"}`` pairs, which the gateway
        takes from the signed-in account's grants. A youth who moves gets a new
        profile in the new city, so this shows the badges of both. A profile in
        an archived city is listed with ``archived`` true, because its badges
        still verify. Profiles in unknown cities are left out, and the reply
        names them.
        """
        profiles = self.checked_profiles(profiles)
        found, skipped = [], []
        for profile in profiles:
            try:
                city = self.tenant.registry.require(profile["city"],
                                                    include_archived=True)
            except UnknownCity as exc:
                skipped.append({**profile, "reason": str(exc)})
                continue
            youth_id = profile["youth_id"]
            found.append(
                {
                    "city": city,
                    "archived": self.tenant.registry.is_archived(city),
                    "youth_id": youth_id,
                    "badges": [
                        {**self.portfolio_badge(city, item), "city": city}
                        for item in self.store.list_for_youth(city, youth_id)
                    ],
                    "record_url": self.urls(city).learner_record(youth_id),
                }
            )
        badges = sorted(
            (badge for profile in found for badge in profile["badges"]),
            key=lambda badge: badge["issued_on"],
            reverse=True,
        )
        return {"profiles": found, "badges": badges, "skipped": skipped}

    @staticmethod
    def checked_profiles(profiles) -> list[dict]:
        valid = isinstance(profiles, list) and len(profiles) <= MAX_PROFILES and all(
            isinstance(item, dict)
            and isinstance(item.get("city"), str)
            and isinstance(item.get("youth_id"), str)
            for item in profiles
        )
        if not valid:
            raise InvalidInput(
                {
                    "profiles": [
                        f"must be a list of at most {MAX_PROFILES} objects with "
                        "string city and youth_id"
                    ]
                },
                "invalid portfolio request",
            )
        return [{"city": item["city"], "youth_id": item["youth_id"]} for item in profiles]

    @rpc(expected_exceptions=EXPECTED)
    def set_badge_visibility(self, youth_id, assertion_id, request):
        """Make one of the youth's badges public (shown on share links) or private."""
        city = self.tenant.city
        public = load(VisibilityRequestSchema, request, "invalid visibility")["public"]
        updated = self.store.set_public(city, str(youth_id), str(assertion_id), public)
        if updated is None:
            raise NotFound(
                f"badge {assertion_id!r} of youth {youth_id!r} not found in {city}"
            )
        return self.portfolio_badge(city, updated)

    @rpc(expected_exceptions=EXPECTED)
    def create_share_link(self, youth_id):
        """Create an unguessable link to the youth's public badges.

        The token (256 random bits) is returned only here; the store keeps its
        SHA-256. Raises ``Conflict`` past ``MAX_SHARE_LINKS`` active links.
        """
        city = self.tenant.city
        youth_id = str(youth_id)
        active = [
            item
            for item in self.store.list_share_links(city, youth_id)
            if not item.get("revoked")
        ]
        if len(active) >= MAX_SHARE_LINKS:
            raise Conflict(
                f"youth {youth_id} already has {MAX_SHARE_LINKS} share "
                "links; revoke one first"
            )
        token = secrets.token_urlsafe(32)
        link = self.store.add_share_link(
            {
                "id": f"shl-{uuid.uuid4().hex[:16]}",
                "city": city,
                "youth_id": youth_id,
                "token_hash": token_hash(token),
                "created_at": now(),
                "revoked": False,
            }
        )
        logger.info("created share link %s", link["id"])
        return {
            "id": link["id"],
            "created_at": link["created_at"],
            "token": token,
            "url": self.urls(city).shared_portfolio(token),
        }

    @rpc(expected_exceptions=EXPECTED)
    def revoke_share_link(self, youth_id, link_id):
        city = self.tenant.city
        if not self.store.revoke_share_link(city, str(youth_id), str(link_id)):
            raise NotFound(
                f"share link {link_id!r} of youth {youth_id!r} not found in {city}"
            )
        logger.info("revoked share link %s", link_id)
        return {"id": str(link_id), "revoked": True}

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("token",))
    def shared_portfolio(self, token):
        """Return the public badges behind a share token, or raise ``NotFound``."""
        city = self.tenant.city
        link = self.store.find_share_link(city, token_hash(str(token)))
        if link is None:
            raise NotFound("this share link does not exist or was revoked")
        badges = [
            self.shared_badge(city, item)
            for item in self.store.list_for_youth(city, link["youth_id"])
            if item.get("public") and not item.get("revoked")
        ]
        return {"badges": badges, "shared_since": link["created_at"]}

    @rpc(expected_exceptions=EXPECTED)
    def learner_record(self, youth_id):
        """Return every valid badge of the youth, with evidence, as one VC-JWT."""
        city = self.tenant.city
        city_issuer = self.issuance(city).city_issuer()
        token = self.hosting(city).learner_record(str(youth_id), city_issuer)
        return document("application/vc+jwt", token)

    # Views -------------------------------------------------------------------

    def portfolio_badge(self, city, assertion):
        urls = self.urls(city)
        identifier = assertion["id"]
        return {
            "assertion_id": identifier,
            "badge_class_id": assertion["badge_class_id"],
            "badge_class_version": assertion.get("badge_class_version"),
            "name": assertion["badge_name"],
            "issuer": {
                "id": assertion.get("issuer_id"),
                "name": assertion.get("issuer_name"),
                "url": urls.issuer(assertion["issuer_id"]),
            },
            "opportunity_id": assertion.get("opportunity_id"),
            "playlist_id": assertion.get("playlist_id"),
            "issued_on": assertion["issued_on"],
            "expires": assertion.get("expires"),
            "expired": is_expired(assertion),
            "evidence": assertion.get("evidence", []),
            "awarded_by": assertion.get("awarded_by"),
            "public": bool(assertion.get("public")),
            "revoked": bool(assertion.get("revoked")),
            "revocation_reason": assertion.get("revocation_reason"),
            "urls": self.badge_urls(urls, assertion),
        }

    def shared_badge(self, city, assertion):
        view = self.portfolio_badge(city, assertion)
        return {
            key: view[key]
            for key in (
                "assertion_id",
                "badge_class_id",
                "name",
                "issuer",
                "issued_on",
                "expires",
                "expired",
                "evidence",
                "urls",
            )
        }

    @staticmethod
    def badge_urls(urls, assertion):
        identifier = assertion["id"]
        return {
            "assertion": urls.assertion(identifier),
            "signed": urls.signed_assertion(identifier),
            "credential": urls.credential(identifier),
            "image_png": urls.baked_image(identifier, "png"),
            "image_svg": urls.baked_image(identifier, "svg"),
            "badge_class": urls.badge_class_version(
                assertion["badge_class_id"], assertion.get("badge_class_version", 1)
            ),
        }

    def playlist_progress(self, city, youth_id):
        done = {
            item["opportunity_id"]
            for item in self.store.completions_for_youth(city, youth_id)
        }
        return [
            {
                "playlist_id": item["id"],
                "name": item["name"],
                "completed": [opp for opp in item["opportunity_ids"] if opp in done],
                "remaining": [
                    opp for opp in item["opportunity_ids"] if opp not in done
                ],
            }
            for item in self.store.list_playlists(city)
            if done & set(item["opportunity_ids"])
        ]

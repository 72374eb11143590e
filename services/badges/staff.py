"""Entrypoints for partner staff: issuers, badge classes, rules, awards, revocation,
endorsements and playlists.

The gateway will authenticate staff and check that they act for the issuer
concerned; this service trusts the gateway, as every service here does. It still
keeps an issuer's owning organisation from changing, and an organisation's
playlist from awarding another owner's badge class.
"""

import hashlib
import logging
import uuid

from marshmallow import ValidationError
from cities_common.rpc import rpc

from cities_common.errors import (
    CityArchived,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    UnknownCity,
)
from services.badges import schemas
from services.badges.issuing import CITY_ISSUER_ID, NO_BADGE, slug
from services.badges.storage import now

logger = logging.getLogger(__name__)

EXPECTED = (CityArchived, Conflict, Forbidden, InvalidInput, NotFound, UnknownCity)


def load(schema, payload, message: str) -> dict:
    """Validate ``payload``, raising ``InvalidInput`` with the field messages."""
    try:
        return schema().load(payload if payload is not None else {})
    except ValidationError as exc:
        raise InvalidInput(exc.messages, message) from exc


def class_summary(urls, badge_class: dict) -> dict:
    """Return a stored badge class with its public URLs, for the JSON API."""
    return {
        **badge_class,
        "url": urls.badge_class(badge_class["id"]),
        "version_url": urls.badge_class_version(
            badge_class["id"], badge_class["version"]
        ),
        "image_url": urls.badge_class_image(badge_class["id"], badge_class["version"]),
    }


def peer_assessment_evidence(assessment: dict) -> dict:
    role = f", {assessment['assessor_role']}" if assessment.get("assessor_role") else ""
    rating = (
        f" Rating: {assessment['rating']} of 5." if assessment.get("rating") else ""
    )
    return {
        "name": f"Peer assessment by {assessment['assessor_name']}{role}",
        "narrative": assessment["narrative"] + rating,
        "genre": "Peer assessment",
    }


class StaffEntrypoints:
    """RPCs partner staff use through the gateway; mixed into ``BadgesService``."""

    # Issuers -----------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def save_issuer(self, request):
        """Create or update an issuer profile; returns it with ``created``.

        The first ``organization_id`` given makes that organisation the owner, and
        a save without one keeps the owner. Raises ``Forbidden`` when the issuer
        belongs to another organisation.
        """
        city = self.tenant.city
        issuer = load(schemas.IssuerRequestSchema, request, "invalid issuer")
        if issuer["id"] is None:
            digest = hashlib.sha1(issuer["name"].lower().encode()).hexdigest()[:6]
            issuer["id"] = f"org-{slug(issuer['name'])}-{digest}"
        if issuer["id"] == CITY_ISSUER_ID:
            self.issuance(city).city_issuer()
        existing = self.store.get_issuer(city, issuer["id"])
        self.require_issuer_owner(city, existing, issuer["organization_id"])

        stored = self.store.save_issuer({**issuer, "city": city})
        if stored is None:
            self.issuer_not_saved(city, issuer)

        logger.info(
            "%s issuer %s", "updated" if existing else "created", issuer["id"]
        )
        return {**self.issuer_summary(city, stored), "created": existing is None}

    def issuer_not_saved(self, city, issuer):
        """Raise ``Forbidden`` or ``Conflict``, whichever explains the failed save."""
        current = self.store.get_issuer(city, issuer["id"])
        self.require_issuer_owner(city, current, issuer["organization_id"])
        raise Conflict(f"issuer {issuer['id']} changed while it was saved; retry")

    def require_issuer_owner(self, city, issuer, organization_id):
        """Raise ``Forbidden`` if saving would move ``issuer`` to another owner."""
        owner = (issuer or {}).get("organization_id")
        if owner and organization_id and owner != organization_id:
            raise Forbidden(
                f"issuer {issuer['id']} in {city} belongs to organisation {owner}, "
                f"not {organization_id}, and an issuer's organisation never "
                "changes; save your issuer under another id or name"
            )

    @rpc(expected_exceptions=EXPECTED)
    def list_issuers(self):
        city = self.tenant.city
        self.issuance(city).city_issuer()
        return [
            self.issuer_summary(city, item) for item in self.store.list_issuers(city)
        ]

    def issuer_summary(self, city, issuer):
        summary = {k: v for k, v in issuer.items() if k != "image"}
        summary["url_hosted"] = self.urls(city).issuer(issuer["id"])
        return summary

    # Badge classes and rules ---------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_badge_class(self, request):
        """Create version 1 of a badge class; ``opportunity_ids`` get it as their rule.

        Raises ``NotFound`` for an unknown issuer and ``Conflict`` when the id is
        taken.
        """
        city = self.tenant.city
        request = load(schemas.BadgeClassRequestSchema, request, "invalid badge class")
        self.require_issuer(city, request["issuer_id"])
        opportunity_ids = request.pop("opportunity_ids")
        request["id"] = request["id"] or f"bc-{uuid.uuid4().hex[:16]}"
        badge_class, created = self.store.create_badge_class({**request, "city": city})
        if not created:
            raise Conflict(
                f"badge class {request['id']!r} already exists in {city}; "
                "update it with PUT and its expected_version"
            )
        for opportunity_id in opportunity_ids:
            self.store.set_rule(
                city, opportunity_id, {"badge_class_id": badge_class["id"]}
            )
        logger.info(
            "created badge class %s for issuer %s",
            badge_class["id"],
            badge_class["issuer_id"],
        )
        return class_summary(self.urls(city), badge_class)

    @rpc(expected_exceptions=EXPECTED)
    def update_badge_class(self, class_id, request):
        """Store an edit as the class's next version; ``Conflict`` if it is stale."""
        city = self.tenant.city
        changes = load(schemas.BadgeClassUpdateSchema, request, "invalid badge class")
        expected = changes.pop("expected_version")
        current = self.require_class(city, class_id)
        updated = self.store.update_badge_class(city, current["id"], changes, expected)
        if updated is None:
            latest = self.require_class(city, class_id)
            raise Conflict(
                f"badge class {class_id} is at version {latest['version']}, "
                f"not {expected}; reload it and apply the edit again"
            )
        logger.info("badge class %s is now version %s", class_id, updated["version"])
        return class_summary(self.urls(city), updated)

    @rpc(expected_exceptions=EXPECTED)
    def get_badge_class(self, class_id):
        city = self.tenant.city
        return class_summary(self.urls(city), self.require_class(city, class_id))

    @rpc(expected_exceptions=EXPECTED)
    def list_badge_classes(self, issuer_id=None):
        city = self.tenant.city
        return [
            class_summary(self.urls(city), item)
            for item in self.store.list_badge_classes(city, issuer_id)
        ]

    @rpc(expected_exceptions=EXPECTED)
    def set_badge_rule(self, opportunity_id, request):
        """Set which class completing ``opportunity_id`` earns (``none``: no badge)."""
        city = self.tenant.city
        rule = load(schemas.RuleRequestSchema, request, "invalid badge rule")
        if rule["badge_class_id"] != NO_BADGE:
            self.require_class(city, rule["badge_class_id"])
        return self.store.set_rule(city, str(opportunity_id), rule)

    @rpc(expected_exceptions=EXPECTED)
    def get_badge_rule(self, opportunity_id):
        """Return the opportunity's rule; without one it earns its own default class."""
        city = self.tenant.city
        rule = self.store.get_rule(city, str(opportunity_id))
        if rule is None:
            return {
                "city": city,
                "opportunity_id": str(opportunity_id),
                "badge_class_id": None,
                "default": True,
            }
        return {**rule, "default": False}

    # Awards and revocation -----------------------------------------------------

    @rpc(
        expected_exceptions=EXPECTED, sensitive_arguments=("request.peer_assessments",)
    )
    def award_badge(self, request):
        """Award a badge with evidence and peer assessments; dispatch ``badge_issued``.

        An award for a completion shares the completion's assertion id, so it never
        adds a second badge to one that was issued automatically. ``award_id``
        makes a retried request return the first award.
        """
        city = self.tenant.city
        award = load(schemas.AwardRequestSchema, request, "invalid award")
        badge_class = self.require_class(city, award["badge_class_id"])
        evidence = award["evidence"] + [
            peer_assessment_evidence(item) for item in award["peer_assessments"]
        ]
        if badge_class.get("evidence_required") and not evidence:
            raise InvalidInput(
                {
                    "evidence": [
                        "badge class "
                        f"{badge_class['id']} requires evidence or "
                        "a peer assessment"
                    ]
                },
                "invalid award",
            )
        source_key, opportunity_id = self.award_source(city, award, badge_class)
        facts = {"awarded_by": award["awarded_by"], "narrative": award["narrative"]}
        if award["completion_id"]:
            facts["completion_id"] = award["completion_id"]
        assertion, created = self.issuance(city).issue(
            badge_class,
            award["youth_id"],
            source_key,
            opportunity_id,
            evidence,
            **facts,
        )
        if award["completion_id"]:
            self.store.set_completion_status(city, award["completion_id"], "issued")
        return {**self.portfolio_badge(city, assertion), "created": created}

    def award_source(self, city, award, badge_class):
        """Return an award's (source key, opportunity id); raise on a bad completion."""
        if award["completion_id"]:
            completion = self.store.get_completion(city, award["completion_id"])
            if completion is None or completion["youth_id"] != award["youth_id"]:
                raise NotFound(
                    f"completion {award['completion_id']!r} of youth "
                    f"{award['youth_id']!r} not found in {city}"
                )
            return award["completion_id"], completion["opportunity_id"]
        opportunity_id = award["opportunity_id"] or badge_class.get("opportunity_id")
        if not opportunity_id:
            raise InvalidInput(
                {
                    "opportunity_id": [
                        "is required: name the programme this award recognises"
                    ]
                },
                "invalid award",
            )
        award_id = award["award_id"] or uuid.uuid4().hex
        return f"award:{award_id}", opportunity_id

    @rpc(expected_exceptions=EXPECTED)
    def revoke_badge(self, assertion_id, request):
        """Revoke an assertion with a reason and dispatch ``badge_revoked`` once."""
        city = self.tenant.city
        reason = load(schemas.RevokeRequestSchema, request, "invalid revocation")[
            "reason"
        ]
        revoked = self.issuance(city).revoke(str(assertion_id), reason)
        return self.portfolio_badge(city, revoked)

    # Endorsements ------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def endorse(self, request):
        """Record an endorser's endorsement of a badge class or an issuer.

        One endorser has one endorsement per target; endorsing again replaces
        the comment. Returns the hosted ``Endorsement`` with ``created``.
        """
        city = self.tenant.city
        request = load(schemas.EndorsementRequestSchema, request, "invalid endorsement")
        endorser = self.require_issuer(city, request["endorser_id"])
        if endorser.get("kind") not in schemas.ENDORSER_KINDS:
            raise InvalidInput(
                {
                    "endorser_id": [
                        f"issuer {endorser['id']} is a "
                        f"{endorser.get('kind')}; endorsers are "
                        + ", ".join(schemas.ENDORSER_KINDS)
                    ]
                },
                "invalid endorsement",
            )
        if request["badge_class_id"]:
            target_type, target_id = "badge_class", request["badge_class_id"]
            self.require_class(city, target_id)
        else:
            target_type, target_id = "issuer", request["issuer_id"]
            self.require_issuer(city, target_id)
        key = f"{city}\x1f{endorser['id']}\x1f{target_type}\x1f{target_id}"
        endorsement, created = self.store.save_endorsement(
            {
                "id": f"end-{hashlib.sha1(key.encode()).hexdigest()[:20]}",
                "city": city,
                "endorser_id": endorser["id"],
                "target_type": target_type,
                "target_id": target_id,
                "comment": request["comment"],
                "issued_on": now(),
            }
        )
        logger.info("%s endorsed %s %s", endorser["id"], target_type, target_id)
        hosted = self.hosting(city).endorsement_document(endorsement["id"])
        return {**hosted, "created": created}

    # Playlists ---------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def create_playlist(self, request):
        """Create a playlist and award its badge to youth who already completed it."""
        city = self.tenant.city
        request = load(schemas.PlaylistRequestSchema, request, "invalid playlist")
        playlist_id = request["id"] or f"pl-{uuid.uuid4().hex[:16]}"
        if self.store.get_playlist(city, playlist_id) is not None:
            raise Conflict(f"playlist {playlist_id!r} already exists in {city}")
        if request["badge_class_id"]:
            badge_class = self.require_class(city, request["badge_class_id"])
            self.require_class_owner(city, badge_class, request["organization_id"])
        else:
            badge_class = self.playlist_class(city, playlist_id, request)
        playlist = self.store.create_playlist(
            {
                "id": playlist_id,
                "city": city,
                "organization_id": request["organization_id"],
                "name": request["name"],
                "description": request["description"],
                "opportunity_ids": request["opportunity_ids"],
                "badge_class_id": badge_class["id"],
                "created_at": now(),
            }
        )
        issuance = self.issuance(city)
        awarded = 0
        for youth_id in sorted(
            self.store.youth_with_completions(city, playlist["opportunity_ids"])
        ):
            awarded += issuance.check_playlist(playlist, youth_id) is not None
        logger.info(
            "created playlist %s with %s opportunities; %s youth had finished it",
            playlist_id,
            len(playlist["opportunity_ids"]),
            awarded,
        )
        return {**playlist, "badges_awarded_on_creation": awarded}

    def playlist_class(self, city, playlist_id, request):
        issuer = self.issuance(city).city_issuer()
        badge_class, _ = self.store.create_badge_class(
            {
                "id": f"bc-{playlist_id}",
                "city": city,
                "issuer_id": issuer["id"],
                "name": f"Playlist: {request['name']}"[:200],
                "description": request["description"],
                "criteria": {
                    "narrative": "Complete every opportunity of the playlist "
                    f"{request['name']}."
                },
                "alignments": [],
                "tags": ["playlist"],
                "evidence_required": False,
                "valid_days": None,
                "image": None,
            }
        )
        return badge_class

    @rpc(expected_exceptions=EXPECTED)
    def list_playlists(self):
        return self.store.list_playlists(self.tenant.city)

    @rpc(expected_exceptions=EXPECTED)
    def get_playlist(self, playlist_id):
        city = self.tenant.city
        playlist = self.store.get_playlist(city, str(playlist_id))
        if playlist is None:
            raise NotFound(f"playlist {playlist_id!r} not found in {city}")
        return playlist

    # Lookups -----------------------------------------------------------------

    def require_issuer(self, city, issuer_id):
        if issuer_id == CITY_ISSUER_ID:
            return self.issuance(city).city_issuer()
        issuer = self.store.get_issuer(city, str(issuer_id))
        if issuer is None:
            raise NotFound(f"issuer {issuer_id!r} not found in {city}")
        return issuer

    def require_class(self, city, class_id):
        badge_class = self.store.get_badge_class(city, str(class_id))
        if badge_class is None:
            raise NotFound(f"badge class {class_id!r} not found in {city}")
        return badge_class

    def issuer_owner(self, city, issuer_id):
        """Return the organisation owning an issuer; None when no organisation does."""
        issuer = self.store.get_issuer(city, str(issuer_id))
        return (issuer or {}).get("organization_id")

    def require_class_owner(self, city, badge_class, organization_id):
        """Raise ``Forbidden`` unless an organisation's playlist uses its own class."""
        if organization_id is None:
            return
        owner = self.issuer_owner(city, badge_class["issuer_id"])
        if owner == organization_id:
            return
        owner_name = f"organisation {owner}" if owner else "the city"
        raise Forbidden(
            f"badge class {badge_class['id']} belongs to {owner_name}, not to "
            f"organisation {organization_id}; name one of your own badge classes, "
            "or omit badge_class_id to have the city issue the playlist's badge"
        )

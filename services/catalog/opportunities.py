"""Entrypoints for opportunities: drafting, editing, moderation and lifecycle.

Every change bumps the opportunity's version with a compare-and-set and then
dispatches one event carrying the whole document (see ``lifecycle``).
"""

import logging
import uuid

from cities_common.rpc import rpc

from cities_common.errors import Conflict, InvalidInput, NotFound
from services.catalog import lifecycle
from services.catalog.directory import utc_now
from services.catalog.exceptions import EXPECTED
from services.catalog.organizations import APPROVED, PENDING, membership_status
from services.catalog.schemas import (
    DraftSchema, ListQuerySchema, OpportunitySchema, publish_problems,
)
from services.catalog.storage import CATALOG_SOURCE

logger = logging.getLogger(__name__)

CONTENT_FIELDS = tuple(OpportunitySchema._declared_fields)
# Fields that only the store or a lifecycle action sets.
PROTECTED_FIELDS = frozenset({
    "id", "city", "source", "source_id", "organization_id", "provider", "status",
    "version", "history", "moderation", "review_notes", "created_at", "updated_at",
    "published_at", "description_html", "schedule",
})


class OpportunityEntrypoints:
    """Mixed into ``CatalogService``: opportunities of the context city."""

    @rpc(expected_exceptions=EXPECTED)
    def create_opportunity(self, draft, actor):
        """Create a draft for an organisation the actor belongs to.

        The provider is the organisation. Dispatches ``opportunity_updated`` for the
        draft. Raises ``InvalidInput`` naming each bad field, ``Forbidden`` or
        ``Conflict`` when the organisation has not accepted its invitation.
        """
        city = self._city()
        acting = self._actor(city, actor)
        request = self._load(DraftSchema(city, self._vocabulary(city)), draft,
                             "invalid opportunity")
        organization = self._organization(city, request.pop("organization_id"))
        acting.require_member(organization["id"], "create its opportunities")
        if not organization.get("anchor") and \
                membership_status(organization) not in (PENDING, APPROVED):
            raise Conflict(f"organisation {organization['id']} is "
                           f"{membership_status(organization)}: its admin must accept "
                           "the invitation first")
        now = utc_now()

        stored = self.store.insert("opportunities", {
            **request, "source": CATALOG_SOURCE, "source_id": uuid.uuid4().hex,
            "city": city["slug"], "organization_id": organization["id"],
            "provider": {"name": organization["name"], "source_id": None},
            "interests_derived": False, "status": lifecycle.DRAFT, "review_notes": [],
            "moderation": None,
            "history": [lifecycle.history_entry("create", lifecycle.DRAFT, acting.id,
                                                now)]})

        self._announce_opportunity(None, stored)
        logger.info("created draft %s for %s", stored["id"], organization["id"])
        return stored

    @rpc(expected_exceptions=EXPECTED)
    def update_opportunity(self, opportunity_id, changes, actor, expected_version=None):
        """Change an opportunity's content and bump its version.

        ``changes`` contains content fields only; status changes go through
        ``transition_opportunity``. With ``expected_version`` the update raises
        ``Conflict`` unless the opportunity is still at that version.
        """
        city = self._city()
        acting = self._actor(city, actor)
        previous = self._opportunity(city, opportunity_id)
        self._require_editor(acting, previous, "change it")
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput({"body": ["must be a JSON object with fields to change"]},
                               "invalid update")
        protected = sorted(PROTECTED_FIELDS & set(changes))
        if protected:
            raise InvalidInput({name: ["cannot be changed by an update"]
                                for name in protected}, "invalid update")
        if previous["status"] not in lifecycle.EDITABLE:
            raise Conflict(f"opportunity {previous['id']} is {previous['status']} and "
                           "can no longer change")
        if expected_version is not None and int(expected_version) != previous["version"]:
            raise Conflict(f"opportunity {previous['id']} is at version "
                           f"{previous['version']}, not {expected_version}; reload it")

        content = self._merged_content(city, previous, changes)
        if previous["status"] in (lifecycle.SUBMITTED, lifecycle.PUBLISHED):
            self._require_publishable(content)
        entry = lifecycle.history_entry("update", previous["status"], acting.id,
                                        utc_now())
        stored = self._save(previous, {
            **content, "history": lifecycle.with_history(previous, entry)})

        self._announce_opportunity(previous["status"], stored)
        logger.info("updated opportunity %s to version %s", stored["id"],
                    stored["version"])
        return stored

    def _merged_content(self, city: dict, previous: dict, changes: dict) -> dict:
        merged = {name: previous[name] for name in CONTENT_FIELDS if name in previous}
        merged["description"] = previous.get("description_html") or ""
        merged.update(changes)
        if "sessions" in changes:
            # Dates and times derived from the old sessions must not outlive them.
            for name in ("start_date", "end_date", "start_time", "end_time"):
                if name not in changes:
                    merged.pop(name, None)
        schema = OpportunitySchema(city, self._vocabulary(city),
                                   require_addresses="locations" in changes)
        return self._load(schema, merged, "invalid opportunity")

    @rpc(expected_exceptions=EXPECTED)
    def transition_opportunity(self, opportunity_id, action, actor, reason=None):
        """Apply a lifecycle action: submit, approve, return, publish, close, withdraw.

        Raises ``Conflict`` when the action does not apply to the current status.
        It also does when a partner that still needs moderation tries to publish
        without the anchor's approval. Raises ``Forbidden`` when the actor may not act.
        """
        if action not in lifecycle.TRANSITIONS:
            raise InvalidInput(
                {"action": [f"must be one of {sorted(lifecycle.TRANSITIONS)}"]},
                "invalid action")
        city = self._city()
        acting = self._actor(city, actor)
        previous = self._opportunity(city, opportunity_id)
        sources, target, moderators_only = lifecycle.TRANSITIONS[action]
        if moderators_only:
            acting.require_moderator(f"{action} opportunities")
        else:
            self._require_editor(acting, previous, action + " it")
        reason = self._reason(action, reason)
        if previous["status"] not in sources:
            raise Conflict(f"opportunity {previous['id']} is {previous['status']}; "
                           f"{action} applies only to {', '.join(sorted(sources))}")

        changes = self._transition_changes(city, acting, previous, action, target, reason)
        stored = self._save(previous, changes)
        if action == "approve" and stored.get("organization_id"):
            self.store.increment("organizations", city["slug"], stored["organization_id"],
                                 "approved_opportunities")

        self._announce_opportunity(previous["status"], stored)
        logger.info("%s opportunity %s: %s -> %s (version %s)", action, stored["id"],
                    previous["status"], stored["status"], stored["version"])
        return stored

    def _transition_changes(self, city, acting, previous, action, target, reason):
        now = utc_now()
        organization = self._opportunity_organization(city, previous)
        moderated = organization is not None and \
            lifecycle.needs_moderation(organization, city)
        changes: dict = {}
        if target == lifecycle.PUBLISHED or action == "submit":
            self._require_publishable(previous)
        if action == "submit":
            if organization is not None and membership_status(organization) != APPROVED \
                    and not organization.get("anchor"):
                raise Conflict(f"organisation {organization['id']} is "
                               f"{membership_status(organization)}: the anchor must "
                               "approve its membership before it submits")
            if not moderated:
                target = lifecycle.PUBLISHED
            changes["moderation"] = {"state": "pending" if moderated else "not_required",
                                     "submitted_at": now}
        elif action in ("approve", "return"):
            changes["moderation"] = {**(previous.get("moderation") or {}),
                                     "state": "approved" if action == "approve"
                                     else "returned",
                                     "decided_at": now, "decided_by": acting.id,
                                     "reason": reason}
            if action == "return":
                changes["review_notes"] = (previous.get("review_notes") or []) + [reason]
        elif action == "publish" and previous["status"] != lifecycle.CLOSED \
                and moderated and not acting.is_moderator:
            raise Conflict(
                f"organisation {organization['id']} needs the anchor's approval for "
                "its first opportunities: submit this one for review instead")
        if target == lifecycle.PUBLISHED and not previous.get("published_at"):
            changes["published_at"] = now
        changes["status"] = target
        entry = lifecycle.history_entry(action, target, acting.id, now, reason)
        changes["history"] = lifecycle.with_history(previous, entry)
        return changes

    @rpc(expected_exceptions=EXPECTED)
    def get_opportunity(self, opportunity_id):
        """Return one opportunity of the context city; raises ``NotFound``."""
        return self._opportunity(self._city(), opportunity_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_opportunities(self, status=None, after=None, limit=500, **filters):
        """Page through the context city's opportunities in id order.

        ``filters`` may hold ``organization_id``, ``interest`` and ``format``.
        Returns a list; the next page starts after the last id of this one.
        """
        city = self._city()
        query = self._load(ListQuerySchema(), {
            "status": status, "after": after, "limit": min(int(limit), 1000),
            **{key: value for key, value in filters.items() if value is not None}},
            "invalid opportunity filter")
        return self.store.list("opportunities", city["slug"], query["status"],
                               query["after"], query["limit"],
                               organization_id=query["organization_id"],
                               interests=query["interest"], format=query["format"])

    @rpc(expected_exceptions=EXPECTED)
    def count_opportunities(self, status=None):
        return self.store.count("opportunities", self._city()["slug"], status)

    def _save(self, previous: dict, changes: dict) -> dict:
        stored = self.store.replace("opportunities", previous, changes)
        if stored is None:
            raise Conflict(f"opportunity {previous['id']} changed while this request "
                           "was handled; reload it and retry")
        return stored

    def _opportunity(self, city: dict, opportunity_id) -> dict:
        opportunity = self.store.get("opportunities", city["slug"], str(opportunity_id))
        if opportunity is None:
            raise NotFound(f"opportunity {str(opportunity_id)[:40]!r} not found in "
                           f"{city['slug']}")
        return opportunity

    def _opportunity_organization(self, city: dict, opportunity: dict) -> dict | None:
        if not opportunity.get("organization_id"):
            return None
        return self._organization(city, opportunity["organization_id"])

    @staticmethod
    def _require_editor(acting, opportunity: dict, action: str) -> None:
        """Let the organisation's members edit; imported records only moderators."""
        if opportunity.get("organization_id"):
            acting.require_member(opportunity["organization_id"], action)
        else:
            acting.require_moderator(action + " (an imported opportunity)")

    @staticmethod
    def _require_publishable(document: dict) -> None:
        problems = publish_problems(document)
        if problems:
            raise InvalidInput(problems, "opportunity not ready to publish")

    @staticmethod
    def _reason(action: str, reason) -> str | None:
        if reason is not None and (not isinstance(reason, str) or len(reason) > 1000):
            raise InvalidInput({"reason": ["must be text of at most 1000 characters"]},
                               "invalid reason")
        reason = (reason or "").strip() or None
        if action in lifecycle.REASON_REQUIRED and reason is None:
            raise InvalidInput({"reason": [f"is required to {action} an opportunity"]},
                               "invalid reason")
        return reason

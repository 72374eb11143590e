"""Entrypoints for partner organisations, their members and their membership.

The anchor organisation invites a partner (``create_organization``), which creates
the partner's profile and an invitation for its first org admin. Accepting the
invitation moves the partner from ``invited`` to ``pending``, and the anchor's
approval makes it ``approved``, after which its opportunities can be submitted.
Imported organisations start as ``listed``: directory entries without members.
"""

import logging

from cities_common.rpc import rpc

from cities_common import events as contracts
from cities_common.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.catalog.directory import utc_now
from services.catalog.exceptions import EXPECTED
from services.catalog.importing.organizations import slugify
from services.catalog.schemas import (
    MemberInvitationSchema, NewOrganizationSchema, OrganizationUpdateSchema,
)
from services.catalog.storage import CATALOG_SOURCE, record_id

logger = logging.getLogger(__name__)

LISTED, INVITED, PENDING, APPROVED = "listed", "invited", "pending", "approved"
MEMBERSHIP_STATUSES = (LISTED, INVITED, PENDING, APPROVED)
# Fields an organisation's record has that no profile update may change.
PROTECTED_FIELDS = frozenset({
    "id", "city", "anchor", "source", "source_id", "membership", "version",
    "approved_opportunities", "created_at", "updated_at",
})


def membership_status(organization: dict) -> str:
    return (organization.get("membership") or {}).get("status", LISTED)


class OrganizationEntrypoints:
    """Mixed into ``CatalogService``: organisations, members and invitations."""

    @rpc(expected_exceptions=EXPECTED)
    def create_organization(self, organization, actor):
        """Invite a partner organisation; only moderators may.

        Returns the organisation (membership ``invited``) and the invitation of its
        admin, whose token is shown only here. Raises ``Conflict`` when the city has
        an organisation of that name.
        """
        city = self._city()
        acting = self._actor(city, actor)
        acting.require_moderator("invite partner organisations")
        request = self._load(NewOrganizationSchema(city), organization,
                             "invalid organisation")
        if request["kind"] == "anchor":
            raise InvalidInput({"kind": ["a city has one anchor organisation, created "
                                         "when it is onboarded"]}, "invalid organisation")
        admin = request.pop("admin")
        source_id = slugify(request["name"]) or "organisation"

        created = self.store.insert("organizations", {
            **request, "source": CATALOG_SOURCE, "source_id": source_id,
            "city": city["slug"], "anchor": False, "approved_opportunities": 0,
            "membership": {"status": INVITED, "invited_at": utc_now(),
                           "invited_by": acting.id}})
        if created is None:
            existing = record_id("organizations", city["slug"], CATALOG_SOURCE, source_id)
            raise Conflict(f"an organisation named {request['name']!r} already exists in "
                           f"{city['slug']} (id {existing})")
        account, token = self.store.accounts.invite(city["slug"], created["id"], admin,
                                                    "org_admin")

        self._announce_organization(created)
        logger.info("invited organisation %s with admin account %s", created["id"],
                    account["id"])
        return {"organization": created,
                "invitation": {"account_id": account["id"], "token": token}}

    @rpc(expected_exceptions=EXPECTED)
    def get_organization(self, organization_id):
        """Return one organisation of the context city; raises ``NotFound``."""
        return self._organization(self._city(), organization_id)

    @rpc(expected_exceptions=EXPECTED)
    def update_organization(self, organization_id, changes, actor,
                            expected_version=None):
        """Change a partner's profile and bump its version; see OrganizationUpdateSchema.

        The organisation's org admins and the city's moderators may; only
        moderators may change ``kind``. Raises ``InvalidInput`` naming each field,
        ``Forbidden``, and ``Conflict`` when ``expected_version`` is stale.
        Dispatches ``organization_published`` with the full document.
        """
        city = self._city()
        previous = self._organization(city, organization_id)
        acting = self._actor(city, actor)
        acting.require_admin_of(previous["id"], "change its profile")
        if not isinstance(changes, dict) or not changes:
            raise InvalidInput({"body": ["must be a JSON object with the fields to "
                                         "change"]}, "invalid organisation update")
        self._check_editable(acting, previous, changes)
        if expected_version is not None and int(expected_version) != previous["version"]:
            raise Conflict(f"organisation {previous['id']} is at version "
                           f"{previous['version']}, not {expected_version}; reload it")
        profile = self._load(OrganizationUpdateSchema(city), changes,
                             "invalid organisation update")

        stored = self.store.replace("organizations", previous, profile)
        if stored is None:
            raise Conflict(f"organisation {previous['id']} changed meanwhile; reload it")
        self._announce_organization(stored)
        logger.info("updated organisation %s to version %s: %s", stored["id"],
                    stored["version"], ", ".join(sorted(profile)))
        return stored

    @staticmethod
    def _check_editable(acting, organization: dict, changes: dict) -> None:
        errors = {name: ["cannot be changed by a profile update"]
                  for name in sorted(PROTECTED_FIELDS & set(changes))}
        if "kind" in changes:
            if organization.get("anchor"):
                errors["kind"] = ["cannot be changed: this is the city's anchor "
                                  "organisation"]
            elif not acting.is_moderator:
                errors["kind"] = ["may be changed only by the city's administrators"]
        if errors:
            raise InvalidInput(errors, "invalid organisation update")

    @rpc(expected_exceptions=EXPECTED)
    def list_organizations(self, kind=None, membership=None, after=None, limit=100):
        """Page through the context city's organisations in id order."""
        city = self._city()
        if membership is not None and membership not in MEMBERSHIP_STATUSES:
            raise InvalidInput({"membership": [f"must be one of {MEMBERSHIP_STATUSES}"]},
                               "invalid organisation filter")
        limit = max(1, min(int(limit), 1000))
        filters = {"kind": kind}
        if membership == LISTED:
            # Imported organisations carry no membership at all.
            filters["membership.status"] = {"$exists": False}
        elif membership is not None:
            filters["membership.status"] = membership
        return self.store.list("organizations", city["slug"], None, after, limit,
                               **filters)

    @rpc(expected_exceptions=EXPECTED)
    def list_members(self, organization_id, actor):
        """Return an organisation's accounts; for its members and moderators only."""
        city = self._city()
        organization = self._organization(city, organization_id)
        self._actor(city, actor).require_member(organization["id"], "list its members")
        return self.store.accounts.list(city["slug"], organization["id"])

    @rpc(expected_exceptions=EXPECTED)
    def invite_member(self, organization_id, person, actor):
        """Invite an org admin or staff member; returns the account and its token.

        Org admins of the organisation and moderators may invite. Inviting someone
        already invited issues a new token; an active member raises ``Conflict``.
        Inviting the first org admin of a ``listed`` organisation makes it
        ``invited``.
        """
        city = self._city()
        organization = self._organization(city, organization_id)
        acting = self._actor(city, actor)
        acting.require_admin_of(organization["id"], "invite its members")
        request = self._load(MemberInvitationSchema(), person, "invalid invitation")
        role = request.pop("role")

        invited = self.store.accounts.invite(city["slug"], organization["id"], request,
                                             role)
        if invited is None:
            raise Conflict(f"{request['email']} is already an active member of "
                           f"organisation {organization['id']}")
        if membership_status(organization) == LISTED and role == "org_admin":
            self._set_membership(organization, INVITED, invited_by=acting.id)
        account, token = invited
        logger.info("invited account %s to organisation %s", account["id"],
                    organization["id"])
        return {"account": account, "token": token}

    @rpc(expected_exceptions=EXPECTED)
    def accept_invitation(self, token, email=None):
        """Activate the invited account with ``token``; the token then stops working.

        With ``email`` (the accepting person's verified address, from the gateway),
        only the invited address may accept. An invited organisation becomes
        ``pending``: it awaits the anchor's approval. Raises ``NotFound`` for an
        unknown or already used token and ``Forbidden`` for another address.
        """
        city = self._city()
        if not isinstance(token, str) or not 16 <= len(token) <= 100:
            raise NotFound("invitation not found: the token is malformed")
        if email is not None:
            invited = self.store.accounts.invited_email(city["slug"], token)
            if invited is not None and invited != str(email).strip().lower():
                raise Forbidden("this invitation is for another e-mail address: sign "
                                "in with the address it was sent to")
        account = self.store.accounts.accept(city["slug"], token)
        if account is None:
            raise NotFound(f"invitation not found in {city['slug']}, or already accepted")
        organization = self._organization(city, account["organization_id"])
        if membership_status(organization) == INVITED:
            organization = self._set_membership(organization, PENDING)
        logger.info("account %s accepted its invitation to %s", account["id"],
                    organization["id"])
        return {"account": account, "organization": organization}

    @rpc(expected_exceptions=EXPECTED)
    def approve_organization(self, organization_id, actor):
        """Approve a pending partner's membership; only moderators may.

        Raises ``Conflict`` unless the partner accepted its invitation (``pending``).
        """
        city = self._city()
        organization = self._organization(city, organization_id)
        acting = self._actor(city, actor)
        acting.require_moderator("approve partner organisations")
        status = membership_status(organization)
        if status == APPROVED:
            return organization
        if status != PENDING:
            raise Conflict(f"organisation {organization['id']} is {status}: its admin "
                           "must accept the invitation before approval")
        approved = self._set_membership(organization, APPROVED, approved_by=acting.id)
        logger.info("approved organisation %s", organization["id"])
        return approved

    def _set_membership(self, organization: dict, status: str, **details) -> dict:
        membership = {**(organization.get("membership") or {}), "status": status,
                      f"{status}_at": utc_now(), **details}
        stored = self.store.replace("organizations", organization,
                                    {"membership": membership})
        if stored is None:
            raise Conflict(f"organisation {organization['id']} changed meanwhile; retry")
        self._announce_organization(stored)
        return stored

    def _organization(self, city: dict, organization_id) -> dict:
        organization = self.store.get("organizations", city["slug"], str(organization_id))
        if organization is None:
            raise NotFound(f"organisation {str(organization_id)[:40]!r} not found in "
                           f"{city['slug']}")
        return organization

    def _announce_organization(self, organization: dict) -> None:
        self.publish(contracts.ORGANIZATION_PUBLISHED, organization["city"],
                     {"organization": organization})

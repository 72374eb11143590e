"""Cities, partner organisations and opportunities, from the catalog service.

Staff routes act as the caller's catalog account in the path's city (see
``gateway.access.catalog_account``); the catalog then checks what that account's
role allows. Onboarding, archiving and exports are for platform operators.
"""

import json

from werkzeug.wrappers import Response

from gateway.access import (
    STAFF, OPERATOR, PUBLIC, SIGNED_IN, OrgAdmin, caller, catalog_account, route,
    signed_in,
)
from cities_common.errors import Forbidden, NotFound
from gateway.errors import BadRequest
from gateway.requests import json_body, optional_json_body

ACTIONS = ("submit", "approve", "return", "publish", "close", "withdraw")
MAX_ORGANIZATION_PAGE = 1000
# Opportunities in these states are visible to everyone; others only to the
# organisation's staff and the city's administrators.
PUBLIC_STATUSES = ("published", "closed")
# The identity grant that each catalog account role becomes.
GRANT_ROLES = {"city_admin": "city_admin", "org_admin": "org_admin", "staff": "org_staff"}


def optional_body(request) -> dict:
    return optional_json_body(request) or {}


def if_match_version(request) -> str | None:
    """Return the record version in the ``If-Match`` header, or None without one.

    ``If-Match: *`` matches any stored version, as HTTP defines it, so it is None too.
    """
    expected = request.headers.get("If-Match", "").strip('" ') or None
    if expected == "*":
        return None
    if expected is not None and not expected.isdigit():
        raise BadRequest({"If-Match": ["must be the record's ETag or version number, "
                                       "as in its 'version' field, or *"]})
    return expected


def versioned(document: dict) -> Response:
    """Return a record as JSON with its version as a strong ``ETag``.

    A client sends the ``ETag`` back as ``If-Match`` to edit that version only.
    """
    response = Response(json.dumps(document, default=str), mimetype="application/json")
    if isinstance(document.get("version"), int):
        response.headers["ETag"] = f'"{document["version"]}"'
    return response


def integer_parameter(request, name: str, default: int) -> int:
    value = request.args.get(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise BadRequest({name: ["must be a whole number"]}) from exc


class CatalogRoutes:
    """Routes under ``/v1/cities`` served by the catalog service."""

    @route("GET", "/v1/cities", access=PUBLIC)
    def list_cities(self, request):
        include_archived = request.args.get("include_archived", "").lower() in ("1",
                                                                                "true")
        return {"cities": self.catalog_rpc.list_cities(include_archived)}

    @route("POST", "/v1/cities", access=OPERATOR)
    def onboard_city(self, request):
        """Onboard a city; 201 when created, 200 when it existed.

        When the body names an ``admin``, that person becomes the city's first
        administrator; the response carries ``admin_setup_token`` once if they had no
        account yet, and they also receive it by e-mail to set a password.
        """
        result = self.catalog_rpc.onboard_city(json_body(request))
        admin = result.get("admin")
        if admin:
            slug = result["city"]["slug"]
            granted = self.identity_rpc.grant_by_email(
                admin["email"], slug, "city_admin", slug, admin["id"])
            result["admin_setup_token"] = granted.get("setup_token")
        return (201 if result["outcome"] == "created" else 200), result

    @route("GET", "/v1/cities/<string:city>", access=PUBLIC)
    def get_city(self, request, city):
        return self.catalog_rpc.get_city(city)

    @route("GET", "/v1/cities/<string:city>/interests", access=PUBLIC)
    def list_interests(self, request, city):
        return {"interests": self.catalog_rpc.list_interests()}

    @route("POST", "/v1/cities/<string:city>/archive", access=OPERATOR)
    def archive_city(self, request, city):
        """Archive a city; its export stays readable."""
        result = self.catalog_rpc.archive_city(city)
        return {**result, "export_url": f"/v1/cities/{city}/export"}

    @route("GET", "/v1/cities/<string:city>/export", access=OPERATOR)
    def export_city(self, request, city):
        """Return the export manifest, or one page of a section."""
        return self.catalog_rpc.export_city(city, request.args.get("section"),
                                            request.args.get("after"),
                                            integer_parameter(request, "limit", 500))

    @route("POST", "/v1/cities/<string:city>/organizations", access=STAFF)
    def create_organization(self, request, city):
        """Invite a partner organisation; the response shows the invitation token once."""
        return 201, self.catalog_rpc.create_organization(json_body(request),
                                                         catalog_account(request, city))

    @route("GET", "/v1/cities/<string:city>/organizations", access=PUBLIC)
    def list_organizations(self, request, city):
        limit = integer_parameter(request, "limit", 100)
        if not 1 <= limit <= MAX_ORGANIZATION_PAGE:
            # The catalog clamps the limit into this range, and next_after would
            # then be computed from a limit the catalog did not use.
            raise BadRequest({"limit": [f"must be 1 to {MAX_ORGANIZATION_PAGE}"]})
        organizations = self.catalog_rpc.list_organizations(
            request.args.get("kind"), request.args.get("membership"),
            request.args.get("after"), limit)
        return {"results": organizations,
                "next_after": organizations[-1]["id"]
                if len(organizations) == limit else None}

    @route("GET", "/v1/cities/<string:city>/organizations/<string:organization_id>",
           access=PUBLIC)
    def get_organization(self, request, city, organization_id):
        """Return a partner's profile; its ``ETag`` is the profile's version."""
        return versioned(self.catalog_rpc.get_organization(organization_id))

    @route("PATCH", "/v1/cities/<string:city>/organizations/<string:organization_id>",
           access=OrgAdmin())
    def update_organization(self, request, city, organization_id):
        """Change a partner's profile: name, website, description, locations.

        Only the city's administrators may change ``kind``. ``If-Match: <version>``
        rejects a stale edit with 409. Search then shows the new name and sites.
        """
        return versioned(self.catalog_rpc.update_organization(
            organization_id, json_body(request),
            catalog_account(request, city, organization_id), if_match_version(request)))

    @route("GET", "/v1/cities/<string:city>/organizations/<string:organization_id>/members",
           access=STAFF)
    def list_members(self, request, city, organization_id):
        return {"members": self.catalog_rpc.list_members(
            organization_id, catalog_account(request, city, organization_id))}

    @route("POST", "/v1/cities/<string:city>/organizations/<string:organization_id>/members",
           access=STAFF)
    def invite_member(self, request, city, organization_id):
        """Invite an org admin or staff member; the response shows the token once."""
        return 201, self.catalog_rpc.invite_member(
            organization_id, json_body(request),
            catalog_account(request, city, organization_id))

    @route("POST", "/v1/cities/<string:city>/organizations/<string:organization_id>/approve",
           access=STAFF)
    def approve_organization(self, request, city, organization_id):
        return self.catalog_rpc.approve_organization(organization_id,
                                                     catalog_account(request, city))

    @route("POST", "/v1/cities/<string:city>/invitations/accept", access=SIGNED_IN)
    def accept_invitation(self, request, city):
        """Accept an invitation as the signed-in account, which gains its role.

        The token travels in the body, never in the URL. Only an account with the
        invited e-mail address may accept, so the member list names the person
        who holds the role.
        """
        principal = signed_in(request)
        accepted = self.catalog_rpc.accept_invitation(json_body(request).get("token"),
                                                      principal.email or "")
        account = accepted["account"]
        role = GRANT_ROLES[account["role"]]
        scope = city if role == "city_admin" else account["organization_id"]
        self.identity_rpc.grant(principal.account_id, city, role, scope, account["id"])
        return accepted

    @route("POST", "/v1/cities/<string:city>/opportunities", access=STAFF)
    def create_opportunity(self, request, city):
        body = json_body(request)
        organization_id = body.get("organization_id")
        return 201, self.catalog_rpc.create_opportunity(
            body, catalog_account(request, city, organization_id
                                  if isinstance(organization_id, str) else None))

    @route("GET", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>",
           access=PUBLIC)
    def get_opportunity(self, request, city, opportunity_id):
        """Return an opportunity. Unpublished ones only to their organisation's staff
        and the city's administrators; to anyone else they do not exist."""
        opportunity = self.catalog_rpc.get_opportunity(opportunity_id)
        if opportunity["status"] not in PUBLIC_STATUSES:
            principal = caller(request)
            if not (principal.is_staff_of(city, opportunity.get("organization_id"))
                    or self._is_moderator(principal, city)):
                raise NotFound(f"opportunity {opportunity_id} not found in {city}")
        return versioned(opportunity)

    @route("PATCH", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>",
           access=STAFF)
    def update_opportunity(self, request, city, opportunity_id):
        """Change content fields; ``If-Match: <version>`` rejects a stale edit with 409."""
        return versioned(self.catalog_rpc.update_opportunity(
            opportunity_id, json_body(request),
            self._opportunity_actor(request, city, opportunity_id),
            if_match_version(request)))

    @route("POST", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>/"
                   "<string:action>", access=STAFF)
    def transition_opportunity(self, request, city, opportunity_id, action):
        """Lifecycle actions: submit, approve, return, publish, close, withdraw."""
        if action not in ACTIONS:
            raise BadRequest({"action": [f"must be one of {', '.join(ACTIONS)}"]})
        return self.catalog_rpc.transition_opportunity(
            opportunity_id, action, self._opportunity_actor(request, city, opportunity_id),
            optional_body(request).get("reason"))

    @route("GET", "/v1/cities/<string:city>/catalog/opportunities", access=STAFF)
    def list_catalog_opportunities(self, request, city):
        """List opportunities of every status, by status, organisation, interest, format.

        Partner staff see their own organisation's; the city's administrators see
        all. Search serves ``GET /opportunities`` (published only, by text and
        distance). This list pages in id order: pass ``next_after`` as ``after``.
        """
        limit = integer_parameter(request, "limit", 50)
        filters = {key: request.args.get(key)
                   for key in ("organization_id", "interest", "format")}
        principal = signed_in(request)
        if not self._is_moderator(principal, city):
            organizations = principal.staff_organizations(city)
            wanted = filters["organization_id"]
            if wanted is None and len(organizations) == 1:
                filters["organization_id"] = organizations[0]
            elif wanted is None:
                raise BadRequest({"organization_id": [
                    "is missing: you belong to several organisations, name one of "
                    + ", ".join(organizations)]})
            elif wanted not in organizations:
                raise Forbidden(f"you may list only your own organisations' "
                                f"opportunities: {', '.join(organizations)}")
        results = self.catalog_rpc.list_opportunities(
            request.args.get("status"), request.args.get("after"), limit, **filters)
        return {"results": results,
                "next_after": results[-1]["id"] if len(results) == limit else None}

    def _is_moderator(self, principal, city) -> bool:
        """True for the city's administrators and the anchor organisation's staff."""
        if principal.is_city_admin(city):
            return True
        return any(self.catalog_rpc.access_facts("organization", organization_id)
                   .get("anchor") for organization_id in principal.staff_organizations(city))

    def _opportunity_actor(self, request, city, opportunity_id) -> str:
        """Return the catalog account to act as on an opportunity: the caller's
        account in the organisation that runs it, when they have one there."""
        principal = signed_in(request)
        if principal.is_city_admin(city):
            return catalog_account(request, city)
        organizations = principal.staff_organizations(city)
        if len(organizations) > 1:
            owner = self.catalog_rpc.access_facts("opportunity", opportunity_id) \
                .get("organization_id")
            return catalog_account(request, city, owner)
        return catalog_account(request, city)

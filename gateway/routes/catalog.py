"""Cities, partner organisations and opportunities, from the catalog service.

Write routes name the acting account in the ``X-Account-Id`` header; the catalog
checks that account's role. Platform-wide routes (onboarding, archive, export) pass
through ``require_operator``.
"""

from gateway.entrypoints import http
from gateway.errors import BadRequest
from gateway.requests import json_body, optional_json_body

ACCOUNT_HEADER = "X-Account-Id"
ACTIONS = ("submit", "approve", "return", "publish", "close", "withdraw")


def acting_account(request) -> str | None:
    """Return the account the caller acts as.

    NOTE: the header is trusted as given. Until the gateway authenticates callers,
    anyone who has an account id can act as that account.
    """
    return request.headers.get(ACCOUNT_HEADER) or None


def require_operator(request) -> None:
    """Check that the caller is a platform operator.

    TODO: accept only an authenticated operator credential here. Until the gateway
    has authentication, every caller passes.
    """


def optional_body(request) -> dict:
    return optional_json_body(request) or {}


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

    @http("GET", "/v1/cities")
    def list_cities(self, request):
        include_archived = request.args.get("include_archived", "").lower() in ("1",
                                                                                "true")
        return {"cities": self.catalog_rpc.list_cities(include_archived)}

    @http("POST", "/v1/cities")
    def onboard_city(self, request):
        """Onboard a city (operators only); 201 when created, 200 when it existed."""
        require_operator(request)
        result = self.catalog_rpc.onboard_city(json_body(request))
        return (201 if result["outcome"] == "created" else 200), result

    @http("GET", "/v1/cities/<string:city>")
    def get_city(self, request, city):
        return self.catalog_rpc.get_city(city)

    @http("GET", "/v1/cities/<string:city>/interests")
    def list_interests(self, request, city):
        return {"interests": self.catalog_rpc.list_interests()}

    @http("POST", "/v1/cities/<string:city>/archive")
    def archive_city(self, request, city):
        """Archive a city (operators only); its export stays readable."""
        require_operator(request)
        result = self.catalog_rpc.archive_city(city)
        return {**result, "export_url": f"/v1/cities/{city}/export"}

    @http("GET", "/v1/cities/<string:city>/export")
    def export_city(self, request, city):
        """Return the export manifest, or one page of a section (operators only)."""
        require_operator(request)
        return self.catalog_rpc.export_city(city, request.args.get("section"),
                                            request.args.get("after"),
                                            integer_parameter(request, "limit", 500))

    @http("POST", "/v1/cities/<string:city>/organizations")
    def create_organization(self, request, city):
        """Invite a partner organisation; the response shows the invitation token once."""
        return 201, self.catalog_rpc.create_organization(json_body(request),
                                                         acting_account(request))

    @http("GET", "/v1/cities/<string:city>/organizations")
    def list_organizations(self, request, city):
        limit = integer_parameter(request, "limit", 100)
        organizations = self.catalog_rpc.list_organizations(
            request.args.get("kind"), request.args.get("membership"),
            request.args.get("after"), limit)
        return {"results": organizations,
                "next_after": organizations[-1]["id"]
                if len(organizations) == limit else None}

    @http("GET", "/v1/cities/<string:city>/organizations/<string:organization_id>")
    def get_organization(self, request, city, organization_id):
        return self.catalog_rpc.get_organization(organization_id)

    @http("GET", "/v1/cities/<string:city>/organizations/<string:organization_id>/members")
    def list_members(self, request, city, organization_id):
        return {"members": self.catalog_rpc.list_members(organization_id,
                                                         acting_account(request))}

    @http("POST", "/v1/cities/<string:city>/organizations/<string:organization_id>/members")
    def invite_member(self, request, city, organization_id):
        """Invite an org admin or staff member; the response shows the token once."""
        return 201, self.catalog_rpc.invite_member(organization_id, json_body(request),
                                                   acting_account(request))

    @http("POST", "/v1/cities/<string:city>/organizations/<string:organization_id>/approve")
    def approve_organization(self, request, city, organization_id):
        return self.catalog_rpc.approve_organization(organization_id,
                                                     acting_account(request))

    @http("POST", "/v1/cities/<string:city>/invitations/accept")
    def accept_invitation(self, request, city):
        """Accept an invitation; the token travels in the body, never in the URL."""
        return self.catalog_rpc.accept_invitation(json_body(request).get("token"))

    @http("POST", "/v1/cities/<string:city>/opportunities")
    def create_opportunity(self, request, city):
        return 201, self.catalog_rpc.create_opportunity(json_body(request),
                                                        acting_account(request))

    @http("GET", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>")
    def get_opportunity(self, request, city, opportunity_id):
        return self.catalog_rpc.get_opportunity(opportunity_id)

    @http("PATCH", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>")
    def update_opportunity(self, request, city, opportunity_id):
        """Change content fields; ``If-Match: <version>`` rejects a stale edit with 409."""
        expected = request.headers.get("If-Match", "").strip('" ') or None
        if expected is not None and not expected.isdigit():
            raise BadRequest({"If-Match": ["must be the opportunity's version number"]})
        return self.catalog_rpc.update_opportunity(opportunity_id, json_body(request),
                                                   acting_account(request), expected)

    @http("POST", "/v1/cities/<string:city>/opportunities/<string:opportunity_id>/"
                  "<string:action>")
    def transition_opportunity(self, request, city, opportunity_id, action):
        """Lifecycle actions: submit, approve, return, publish, close, withdraw."""
        if action not in ACTIONS:
            raise BadRequest({"action": [f"must be one of {', '.join(ACTIONS)}"]})
        return self.catalog_rpc.transition_opportunity(
            opportunity_id, action, acting_account(request),
            optional_body(request).get("reason"))

    @http("GET", "/v1/cities/<string:city>/catalog/opportunities")
    def list_catalog_opportunities(self, request, city):
        """List opportunities of every status, by status, organisation, interest, format.

        Search serves ``GET /opportunities`` (published only, by text and distance).
        This list pages in id order: pass ``next_after`` as ``after``.
        """
        limit = integer_parameter(request, "limit", 50)
        filters = {key: request.args.get(key)
                   for key in ("organization_id", "interest", "format")}
        results = self.catalog_rpc.list_opportunities(
            request.args.get("status"), request.args.get("after"), limit, **filters)
        return {"results": results,
                "next_after": results[-1]["id"] if len(results) == limit else None}

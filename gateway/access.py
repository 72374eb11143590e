"""Who is calling, and whether they may call this route on this record.

Every route is declared with ``route(method, url, access=POLICY)``. Before the
handler runs, the policy checks the caller against the path's city and records.
A caller is anonymous, a signed-in account (a JWT access token) or a partner's
API key. The identity service turns the credential into a ``Principal``, which
lists the account's grants, one per city, role and scope:

- ``operator``: runs the platform (city ``*``).
- ``city_admin``: administers one city (the anchor organisation's admins).
- ``org_admin`` and ``org_staff``: act for one partner organisation.
- ``youth``: is the young person with that youth id.
- ``guardian``: is a guardian of the young person with that youth id.

Grants are read on every request, so a revoked grant, session or key stops
working at once. Policies that depend on a record ask the owning service for the
record's owner (``access_facts``), and they answer 404 rather than 403 when the
caller may not know that the record exists.
"""

import functools
import logging
from dataclasses import dataclass, field

from cities_common.errors import Forbidden, NotFound, Unauthenticated
from gateway.entrypoints import http
from gateway.errors import BadRequest
from gateway.requests import json_body

logger = logging.getLogger(__name__)

BEARER = "bearer"
API_KEY_PREFIX = "col_"
API_KEY_HEADER = "X-Api-Key"
ORGANIZATION_HEADER = "X-Organization-Id"
# Credentials longer than this are rejected before any call to the identity service.
MAX_CREDENTIAL_LENGTH = 4096

STAFF_ROLES = ("org_admin", "org_staff")
CATALOG_ROLES = ("city_admin",) + STAFF_ROLES
YOUTH_ROLES = ("youth", "guardian")

BEARER_SECURITY = [{"bearerAuth": []}]
PARTNER_SECURITY = [{"bearerAuth": []}, {"apiKey": []}]


@dataclass
class Principal:
    """The caller of one request, as the identity service vouched for it."""

    kind: str = "anonymous"
    account_id: str | None = None
    email: str | None = None
    session_id: str | None = None
    email_verified: bool = False
    operator: bool = False
    grants: list = field(default_factory=list)
    key_id: str | None = None
    key_city: str | None = None
    key_organization_id: str | None = None
    scopes: tuple = ()

    @classmethod
    def from_identity(cls, found: dict) -> "Principal":
        if found["kind"] == "api_key":
            return cls(kind="api_key", key_id=found["key_id"], key_city=found["city"],
                       key_organization_id=found["organization_id"],
                       scopes=tuple(found.get("scopes") or ()))
        return cls(kind="account", account_id=found["account_id"],
                   email=found.get("email"), session_id=found.get("session_id"),
                   email_verified=bool(found.get("email_verified")),
                   operator=bool(found.get("operator")),
                   grants=list(found.get("grants") or ()))

    @property
    def is_account(self) -> bool:
        return self.kind == "account"

    def holds(self, city: str, roles, scope_id=None) -> bool:
        """True if the account has one of ``roles`` in ``city`` (for ``scope_id``)."""
        return any(grant["city"] == city and grant["role"] in roles
                   and (scope_id is None or grant["scope_id"] == scope_id)
                   for grant in self.grants)

    def is_city_admin(self, city: str) -> bool:
        return self.holds(city, ("city_admin",))

    def staff_organizations(self, city: str, roles=STAFF_ROLES) -> list[str]:
        return sorted({grant["scope_id"] for grant in self.grants
                       if grant["city"] == city and grant["role"] in roles})

    def is_staff_of(self, city: str, organization_id, roles=STAFF_ROLES) -> bool:
        return bool(organization_id) and self.holds(city, roles, organization_id)

    def youth_ids(self, city: str) -> set[str]:
        return {grant["scope_id"] for grant in self.grants
                if grant["city"] == city and grant["role"] in YOUTH_ROLES}

    def catalog_grants(self, city: str) -> list[dict]:
        return [grant for grant in self.grants
                if grant["city"] == city and grant["role"] in CATALOG_ROLES
                and grant.get("catalog_account_id")]


class Caller:
    """The credential of one request, authenticated on first use."""

    def __init__(self, service, request):
        self._service = service
        self._request = request
        self._principal = None

    @property
    def presented(self) -> bool:
        return credential_of(self._request) is not None

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            credential = credential_of(self._request)
            if credential is None:
                self._principal = Principal()
            else:
                self._principal = Principal.from_identity(
                    self._service.identity_rpc.authenticate(credential))
        return self._principal


def credential_of(request) -> str | None:
    """Return the bearer token or API key the request carries, or None.

    Raises ``Unauthenticated`` for a malformed ``Authorization`` header, so a
    client with a broken credential hears about it instead of being served as an
    anonymous caller.
    """
    header = request.headers.get("Authorization")
    key = request.headers.get(API_KEY_HEADER)
    if header:
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != BEARER or not value:
            raise Unauthenticated("the Authorization header must be 'Bearer <token>' "
                                  "with an access token or API key")
        credential = value
    elif key:
        credential = key.strip()
    else:
        return None
    if len(credential) > MAX_CREDENTIAL_LENGTH or not credential.isascii():
        raise Unauthenticated("the credential is malformed: send the access token or "
                              "API key exactly as it was issued")
    return credential


def caller(request) -> Principal:
    """Return the principal of ``request``, anonymous when it carried no credential."""
    return request.caller.principal


def signed_in(request) -> Principal:
    """Return the signed-in account of ``request``; raise ``Unauthenticated`` otherwise."""
    principal = caller(request)
    if not principal.is_account:
        if principal.kind == "api_key":
            raise Forbidden("this route needs a signed-in account, not an API key")
        raise Unauthenticated("sign in first: send 'Authorization: Bearer <access "
                              "token>' from POST /v1/auth/token")
    return principal


def acting_organization(request, city: str, principal: Principal,
                        roles=STAFF_ROLES) -> str:
    """Return the organisation a staff member acts for in ``city``.

    A member of one organisation acts for it. A member of several names one in
    the ``X-Organization-Id`` header.
    """
    organizations = principal.staff_organizations(city, roles)
    chosen = request.headers.get(ORGANIZATION_HEADER)
    if chosen:
        if chosen not in organizations:
            raise Forbidden(f"you are not {' or '.join(roles)} of organisation "
                            f"{chosen[:100]!r} in {city}")
        return chosen
    if len(organizations) == 1:
        return organizations[0]
    if not organizations:
        raise Forbidden(f"you are not {' or '.join(roles)} of any organisation in "
                        f"{city}")
    raise BadRequest({ORGANIZATION_HEADER: [
        "you belong to several organisations; name the one you act for"]})


def catalog_account(request, city: str, organization_id: str | None = None) -> str:
    """Return the catalog account the signed-in caller acts as in ``city``.

    A city admin acts as their admin account. Staff act as their account in
    ``organization_id`` when given, else in the organisation
    ``acting_organization`` picks.
    """
    principal = signed_in(request)
    grants = principal.catalog_grants(city)
    for grant in grants:
        if grant["role"] == "city_admin":
            return grant["catalog_account_id"]
    if not grants:
        raise Forbidden(f"you have no staff or administrator role in {city}")
    if organization_id is None or organization_id not in {
            grant["scope_id"] for grant in grants}:
        organization_id = acting_organization(request, city, principal)
    return next(grant["catalog_account_id"] for grant in grants
                if grant["scope_id"] == organization_id)


# Policies ----------------------------------------------------------------------

class Policy:
    """Decides whether the caller may call a route; raises when it may not."""

    name = "policy"
    security = BEARER_SECURITY
    summary = ""

    def check(self, service, request, values) -> None:
        raise NotImplementedError

    def __repr__(self):
        return f"<access {self.name}>"


class Public(Policy):
    """Anyone, signed in or not."""

    name = "public"
    security: list = []
    summary = "Anyone; no credential needed."

    def check(self, service, request, values) -> None:
        return None


class SignedIn(Policy):
    name = "signed_in"
    summary = "Any signed-in account."

    def check(self, service, request, values) -> None:
        signed_in(request)


class Operator(Policy):
    name = "operator"
    summary = "Platform operators."

    def check(self, service, request, values) -> None:
        if not signed_in(request).operator:
            raise Forbidden("only platform operators may do this")


class CityAdmin(Policy):
    name = "city_admin"
    summary = "The city's administrators, and operators."

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        if not (principal.operator or principal.is_city_admin(values["city"])):
            raise Forbidden(f"only administrators of {values['city']} may do this")


class Staff(Policy):
    """The city's administrators and partner staff; the service checks the role
    the action needs on the record."""

    name = "staff"
    summary = ("The city's administrators and partner staff; the service checks "
               "the role the action needs.")

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        if not principal.catalog_grants(values["city"]):
            raise Forbidden(f"you have no staff or administrator role in "
                            f"{values['city']}")


class OrgAdmin(Policy):
    """Org admins of the organisation in the path, and the city's admins."""

    name = "org_admin"
    summary = "Org admins of the organisation, and the city's administrators."

    def __init__(self, parameter="organization_id"):
        self.parameter = parameter

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        city = values["city"]
        if principal.is_city_admin(city):
            return
        if not principal.is_staff_of(city, values[self.parameter], ("org_admin",)):
            raise Forbidden(f"only org admins of organisation "
                            f"{values[self.parameter]} may do this")


class YouthOwner(Policy):
    """The young person themself, or one of their guardians.

    The youth is named by a path parameter, or by a body field.
    """

    name = "youth_owner"
    summary = "The young person, or one of their guardians."

    def __init__(self, parameter="youth_id", body_field=None):
        self.parameter = parameter
        self.body_field = body_field

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        youth_id = record_id_from(request, values, self.parameter, self.body_field)
        if youth_id not in principal.youth_ids(values["city"]):
            # Someone else's youth id reveals nothing, not even that it exists.
            raise NotFound(f"youth {youth_id[:100]} not found in {values['city']}")


def record_id_from(request, values, parameter=None, body_field=None) -> str:
    """Return the record id a policy checks: a path value, or a JSON body field."""
    if body_field is None:
        return values[parameter]
    body = json_body(request)
    record_id = body.get(body_field)
    if record_id is None or record_id == "":
        raise BadRequest({body_field: ["is required: send the record's id"]})
    if not isinstance(record_id, str):
        raise BadRequest({body_field: [f"must be a string, the record's id, not "
                                       f"{type(record_id).__name__}"]})
    return record_id


def opportunity_organization(service, opportunity_id: str) -> str | None:
    return service.catalog_rpc.access_facts("opportunity", opportunity_id) \
        .get("organization_id")


class OpportunityStaff(Policy):
    """Staff of the organisation that runs the opportunity, and the city's admins."""

    name = "opportunity_staff"
    summary = ("Staff of the organisation running the opportunity, and the city's "
               "administrators.")

    def __init__(self, parameter="opportunity_id"):
        self.parameter = parameter

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        city = values["city"]
        if principal.is_city_admin(city):
            return
        organization_id = opportunity_organization(service, values[self.parameter])
        if not principal.is_staff_of(city, organization_id):
            raise Forbidden(f"only staff of the organisation running opportunity "
                            f"{values[self.parameter]} may do this")


class RegistrationParty(Policy):
    """The registered youth (or guardian), and staff of the opportunity's partner.

    ``parties`` picks who may: ``youth``, ``staff`` or both.
    """

    def __init__(self, parties=("youth", "staff"), parameter="registration_id"):
        self.parties = tuple(parties)
        self.parameter = parameter
        self.name = "registration_" + "_or_".join(self.parties)
        who = {"youth": "the registered youth or their guardian",
               "staff": "staff of the organisation running the opportunity"}
        self.summary = (" or ".join(who[party] for party in self.parties)
                        + ", and the city's administrators.").capitalize()

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        city = values["city"]
        registration_id = values[self.parameter]
        facts = service.registration_rpc.access_facts("registration", registration_id)
        is_youth_party = facts["youth_id"] in principal.youth_ids(city)
        if "youth" in self.parties and is_youth_party:
            return
        if principal.is_city_admin(city):
            return
        if "staff" in self.parties:
            organization_id = facts.get("organization_id") or opportunity_organization(
                service, facts["opportunity_id"])
            if principal.is_staff_of(city, organization_id):
                return
        if is_youth_party:
            # The caller may see this registration, so it exists for them.
            raise Forbidden(f"only staff of the organisation running the opportunity "
                            f"may do this to registration {registration_id[:100]}")
        raise NotFound(f"registration {registration_id[:100]} not found in {city}")


class BadgeStaff(Policy):
    """Staff of the organisation that owns a badge record, and the city's admins.

    The record is named by a path parameter or a body field; ``kind`` is the
    badges service's record kind (issuer, badge_class, assertion, playlist).
    Records owned by no organisation are the city's, and only its admins act on
    them. ``roles`` narrows the staff roles, e.g. to org admins for issuers.
    """

    def __init__(self, kind, parameter=None, body_field=None, roles=STAFF_ROLES):
        self.kind = kind
        self.parameter = parameter
        self.body_field = body_field
        self.roles = roles
        self.name = f"badge_staff:{kind}"
        self.summary = (f"Staff of the organisation owning the {kind.replace('_', ' ')}"
                        ", and the city's administrators.")

    def check(self, service, request, values) -> None:
        principal = signed_in(request)
        city = values["city"]
        if principal.is_city_admin(city):
            return
        record_id = record_id_from(request, values, self.parameter, self.body_field)
        facts = service.badges_rpc.access_facts(self.kind, record_id)
        if not principal.is_staff_of(city, facts.get("organization_id"), self.roles):
            raise Forbidden(f"only staff of the organisation owning "
                            f"{self.kind.replace('_', ' ')} {record_id[:100]} may do this")


class Partner(Policy):
    """A partner organisation: its API key with ``scope``, or its org admins.

    ``partner_organization`` returns the organisation the caller acts for.
    """

    security = PARTNER_SECURITY

    def __init__(self, scope):
        self.scope = scope
        self.name = f"partner:{scope}"
        self.summary = (f"A partner's API key with the {scope} scope, or an org admin "
                        "of the partner.")

    def check(self, service, request, values) -> None:
        partner_organization(request, values["city"], self.scope)


def partner_organization(request, city: str, scope: str) -> str:
    principal = caller(request)
    if principal.kind == "api_key":
        if principal.key_city != city:
            raise Forbidden(f"this API key belongs to another city, not {city}")
        if scope not in principal.scopes:
            raise Forbidden(f"this API key lacks the {scope} scope")
        return principal.key_organization_id
    principal = signed_in(request)
    return acting_organization(request, city, principal, ("org_admin",))


PUBLIC = Public()
SIGNED_IN = SignedIn()
OPERATOR = Operator()
CITY_ADMIN = CityAdmin()
STAFF = Staff()
YOUTH_OWNER = YouthOwner()
OPPORTUNITY_STAFF = OpportunityStaff()


def route(method: str, url: str, access: Policy, **options):
    """Declare an HTTP route whose ``access`` policy runs before its handler.

    The handler finds the caller through ``caller(request)`` and friends. The
    policy also lands on the function as ``access``, where the OpenAPI document
    and the authorisation tests read it.
    """
    if not isinstance(access, Policy):
        raise TypeError(f"route {method} {url} needs an access policy")

    def decorate(handler):
        @functools.wraps(handler)
        def guarded(self, request, **values):
            request.caller = Caller(self, request)
            access.check(self, request, values)
            return handler(self, request, **values)

        guarded.access = access
        return http(method, url, **options)(guarded)

    return decorate

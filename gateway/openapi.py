"""Facts for the OpenAPI document about each route, keyed by handler name.

The routes themselves (method, path, docstring, access policy) come from the
service class, where ``gateway.apidoc`` reads them. This module adds what a
route's code does not declare. That is the marshmallow schema its JSON body is
validated with, the query parameters it reads, its success statuses and its
media types. The schemas are the services' own, so the document and the
validation cannot drift apart.
Every handler that reads a JSON body must appear in ``SCHEMAS``;
tests/unit/test_openapi.py checks this.
"""

from marshmallow import INCLUDE, Schema, fields, validate

from cities_common.events import CitySchema
from services.badges import schemas as badges
from services.catalog import schemas as catalog
from services.catalog.cities import EXPORT_SECTIONS
from services.catalog.onboarding import OnboardingSchema
from services.catalog.organizations import MEMBERSHIP_STATUSES
from services.identity import schemas as identity
from services.notifications import schemas as notifications
from services.registration import schemas as registration
from services.registration.storage import STATUSES as REGISTRATION_STATUSES
from services.search import schemas as search

JSON = "application/json"
PROBLEM_JSON = "application/problem+json"
JSON_LD = "application/ld+json"
HTML = "text/html"
VC_JWT = "application/vc+jwt"
IMAGES = ("image/png", "image/svg+xml")

# The catalog's opportunity and organisation schemas check places against a city,
# so they are built with one. Only their fields reach the document.
EXAMPLE_CITY = {"slug": "chicago", "name": "Chicago", "time_zone": "America/Chicago",
                "bbox": {"min_lat": 41.6, "min_lon": -87.95, "max_lat": 42.03,
                         "max_lon": -87.5}}


class ProblemSchema(Schema):
    """An RFC 9457 problem. A 409 ``rejected`` problem adds the facts of its reason."""

    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, metadata={
        "description": "URI of the problem type, one per row of the gateway's "
                       "error table"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String(required=True, metadata={
        "description": "What failed, on which value, and what to do next"})
    request_id = fields.String(allow_none=True, metadata={
        "description": "The request's id, also in the X-Request-Id header; quote it "
                       "when reporting a problem"})
    errors = fields.Dict(metadata={
        "description": "Invalid input only: the messages of each bad field, keyed by "
                       "field and nested as the request is"})
    reason = fields.String(metadata={
        "description": "409 rejected only: the reason code, such as 'full'"})


class TokenSchema(Schema):
    """A single-use token from an e-mail or an invitation, sent in the body."""

    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ConsentAnswerSchema(registration.ConsentDecisionSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TransitionSchema(Schema):
    reason = fields.String(validate=validate.Length(min=1, max=1000), metadata={
        "description": "Why, for return and withdraw; shown to the partner"})


class RelationshipMixin(Schema):
    relationship = fields.String(load_default="self",
                                 validate=validate.OneOf(["self", "guardian"]))


class RegisterSchema(registration.RegisterRequestSchema, RelationshipMixin):
    """A registration. With a new ``youth`` profile, ``relationship`` states whether
    the account is that young person or their guardian."""


class NewYouthSchema(registration.YouthProfileSchema, RelationshipMixin):
    """A youth profile, and whether the account is the young person or a guardian."""


class TokenRequestSchema(Schema):
    """Sign in with ``email`` and ``password``, or trade a ``refresh_token``."""

    grant_type = fields.String(load_default="password",
                               validate=validate.OneOf(["password", "refresh_token"]))
    email = fields.Email(validate=validate.Length(max=254))
    password = fields.String(validate=validate.Length(min=1, max=1024))
    refresh_token = fields.String(validate=validate.Length(min=1, max=4096))


class LogoutSchema(Schema):
    everywhere = fields.Boolean(load_default=False, metadata={
        "description": "End every session of the account, not only this one"})


def _listing(name: str, key: str, paged: bool = False) -> type[Schema]:
    """Build the schema of a response that wraps a list from a service."""
    declared = {key: fields.List(fields.Dict(), required=True)}
    if paged:
        declared["next_after"] = fields.String(
            required=True, allow_none=True,
            metadata={"description": "Pass as after for the next page; null on the "
                                     "last page"})
    return Schema.from_dict(declared, name=name)


class HealthSchema(Schema):
    ok = fields.Boolean(required=True)
    services = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                           metadata={"description": "'ok', or why the service failed"})


# Query parameters --------------------------------------------------------------

class CityListQuerySchema(Schema):
    include_archived = fields.Boolean(metadata={
        "description": "Also list archived cities (true or 1)"})


class ExportQuerySchema(Schema):
    section = fields.String(validate=validate.OneOf(EXPORT_SECTIONS), metadata={
        "description": "Without it, the manifest; with it, one page of that section"})
    after = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(metadata={"description": "Records per page, 1 to 1,000"})


class OrganizationListQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(catalog.ORGANIZATION_KINDS))
    membership = fields.String(validate=validate.OneOf(MEMBERSHIP_STATUSES))
    after = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(validate=validate.Range(1, 1000))


class RegistrationListQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(REGISTRATION_STATUSES))
    after_sequence = fields.Integer(validate=validate.Range(min=0))
    limit = fields.Integer(validate=validate.Range(1, 1000))


class BadgeClassQuerySchema(Schema):
    issuer_id = fields.String(validate=validate.Length(min=1, max=100))


class BakedImageQuerySchema(Schema):
    standard = fields.String(
        load_default="ob2", validate=validate.OneOf(["ob2", "ob3"]),
        metadata={"description": "Bake the Open Badges 2.0 JWS (ob2) or the 3.0 "
                                 "VC-JWT (ob3)"})


class VerifyQuerySchema(Schema):
    recipient = fields.String(validate=validate.Length(min=1, max=254), metadata={
        "description": "Also check that the badge was issued to this identity"})


class SearchAliasesSchema(Schema):
    """Singular names that ``gateway.schemas.query_parameters`` also accepts."""

    interest = fields.List(fields.String(),
                           metadata={"description": "Same as interests"})
    skill = fields.List(fields.String(), metadata={"description": "Same as skills"})


# handler name: (request body schema, response body schema or None)
SCHEMAS = {
    # catalog
    "onboard_city": (OnboardingSchema, None),
    "create_organization": (catalog.NewOrganizationSchema(EXAMPLE_CITY), None),
    "update_organization": (catalog.OrganizationUpdateSchema(EXAMPLE_CITY), None),
    "invite_member": (catalog.MemberInvitationSchema, None),
    "accept_invitation": (TokenSchema, None),
    "create_opportunity": (catalog.DraftSchema(EXAMPLE_CITY), None),
    "update_opportunity": (catalog.OpportunitySchema(
        EXAMPLE_CITY, partial=True, exclude=("provider", "interests_derived")), None),
    "transition_opportunity": (TransitionSchema, None),
    "get_city": (None, CitySchema(unknown=INCLUDE)),
    "list_cities": (None, _listing("CityList", "cities")),
    "list_interests": (None, _listing("InterestList", "interests")),
    "list_organizations": (None, _listing("OrganizationPage", "results", paged=True)),
    "list_members": (None, _listing("MemberList", "members")),
    "list_catalog_opportunities": (None, _listing("OpportunityPage", "results",
                                                  paged=True)),
    # registration
    "register": (RegisterSchema, None),
    "cancel_registration": (registration.CancelRequestSchema, None),
    "complete": (registration.CompletionRequestSchema, None),
    "add_evidence": (registration.EvidenceSchema, None),
    "add_peer_assessment": (registration.PeerAssessmentSchema, None),
    "set_completion_rule": (registration.CompletionRuleSchema, None),
    "record_attendance": (registration.AttendanceRequestSchema, None),
    "create_youth": (NewYouthSchema, None),
    "add_guardian": (registration.GuardianSchema, None),
    "request_guardian_consent": (registration.ConsentRequestSchema, None),
    "withdraw_guardian_consent": (registration.ConsentWithdrawalSchema, None),
    "get_guardian_consent": (TokenSchema, None),
    "answer_guardian_consent": (ConsentAnswerSchema, None),
    "list_youth_registrations": (None, _listing("YouthRegistrationList",
                                                "registrations")),
    # badges
    "set_badge_visibility": (badges.VisibilityRequestSchema, None),
    "save_issuer": (badges.IssuerRequestSchema, None),
    "create_badge_class": (badges.BadgeClassRequestSchema, None),
    "update_badge_class": (badges.BadgeClassUpdateSchema, None),
    "set_badge_rule": (badges.RuleRequestSchema, None),
    "award_badge": (badges.AwardRequestSchema, None),
    "revoke_badge": (badges.RevokeRequestSchema, None),
    "rotate_signing_keys": (badges.RotateKeysRequestSchema, None),
    "revoke_signing_key": (badges.RevokeRequestSchema, None),
    "endorse": (badges.EndorsementRequestSchema, None),
    "create_playlist": (badges.PlaylistRequestSchema, None),
    "list_badges": (None, _listing("BadgeList", "badges")),
    "list_issuers": (None, _listing("IssuerList", "issuers")),
    "list_badge_classes": (None, _listing("BadgeClassList", "badge_classes")),
    "list_playlists": (None, _listing("PlaylistList", "playlists")),
    # notifications
    "subscribe": (notifications.SubscriptionCreateSchema, None),
    "update_webhook": (notifications.SubscriptionUpdateSchema, None),
    "rotate_webhook_secret": (notifications.RotateSecretSchema, None),
    "replay_webhook": (notifications.ReplaySchema, None),
    "list_webhooks": (None, _listing("WebhookList", "webhooks")),
    "list_deliveries": (None, _listing("DeliveryList", "deliveries")),
    "list_attempts": (None, _listing("AttemptList", "attempts")),
    "list_dead_letters": (None, _listing("DeadLetterPage", "dead_letters",
                                         paged=True)),
    # identity
    "sign_up": (identity.SignupSchema, None),
    "request_password_reset": (identity.PasswordResetRequestSchema, None),
    "verify_email": (identity.VerifyEmailSchema, None),
    "set_password": (identity.SetPasswordSchema, None),
    "issue_token": (TokenRequestSchema, None),
    "logout": (LogoutSchema, None),
    "create_api_key": (identity.ApiKeyRequestSchema, None),
    "list_api_keys": (None, _listing("ApiKeyList", "api_keys")),
    # platform
    "health": (None, HealthSchema),
}

# Problem statuses a route returns beyond those its access policy and inputs imply.
# Signing in is public, but a wrong password returns 401 and a disabled account 403.
EXTRA_ERRORS = {
    "issue_token": (401, 403),
}

# Handlers whose JSON body may be left out.
OPTIONAL_BODIES = frozenset({
    "transition_opportunity", "cancel_registration", "complete",
    "withdraw_guardian_consent", "rotate_webhook_secret", "logout",
    "rotate_signing_keys",
})

# Bodies that are not JSON: media type to the body's JSON Schema.
RAW_BODIES = {
    "verify": {
        "image/png": {"type": "string", "format": "binary"},
        "image/svg+xml": {"type": "string"},
        "application/json": {"type": "object", "description": "An assertion, "
                             "{\"token\": ...} or {\"url\": ...}"},
        "application/ld+json": {"type": "object"},
        "text/plain": {"type": "string", "description": "A JWS, a VC-JWT or a URL"},
        "application/jose": {"type": "string"},
        "application/jwt": {"type": "string"},
        VC_JWT: {"type": "string"},
    },
    # The consent page's form.
    "answer_consent_page": {"application/x-www-form-urlencoded": {
        "type": "object", "required": ["token", "decision"],
        "properties": {
            "token": {"type": "string", "description": "The code from the e-mail"},
            "decision": {"type": "string", "enum": ["grant", "decline"]}}}},
}

# Error statuses for which a handler returns an HTML page of its own. Errors
# found before the handler runs (a malformed path, an unknown city) stay
# problem documents.
ERROR_PAGES = {
    "answer_consent_page": (400, 404, 409),
}

# handler name: the schema whose fields are its query parameters
QUERY = {
    "list_cities": CityListQuerySchema,
    "export_city": ExportQuerySchema,
    "list_organizations": OrganizationListQuerySchema,
    "list_catalog_opportunities": catalog.ListQuerySchema,
    "list_registrations": RegistrationListQuerySchema,
    "search_opportunities": (search.SearchRequestSchema, SearchAliasesSchema),
    "related_opportunities": search.RelatedRequestSchema,
    "autocomplete": search.AutocompleteRequestSchema,
    "search_sites": search.SiteSearchRequestSchema,
    "list_deliveries": notifications.DeliveryQuerySchema,
    "list_attempts": notifications.AttemptQuerySchema,
    "list_dead_letters": notifications.DeadLetterQuerySchema,
    "list_badge_classes": BadgeClassQuerySchema,
    "baked_png": BakedImageQuerySchema,
    "baked_svg": BakedImageQuerySchema,
    "verify": VerifyQuerySchema,
}

# handler name: its success statuses (default 200)
SUCCESS = {
    "onboard_city": (201, 200),
    "create_organization": (201,),
    "invite_member": (201,),
    "create_opportunity": (201,),
    "register": (201, 200),
    "add_evidence": (201,),
    "add_peer_assessment": (201, 200),
    "create_youth": (201,),
    "erase_youth": (202,),
    "add_guardian": (201,),
    "request_guardian_consent": (201,),
    "create_share_link": (201,),
    "save_issuer": (201, 200),
    "create_badge_class": (201,),
    "award_badge": (201, 200),
    "endorse": (201, 200),
    "create_playlist": (201,),
    "subscribe": (201,),
    "delete_webhook": (204,),
    "replay_webhook": (202,),
    "requeue_dead_letter": (202,),
    "sign_up": (202,),
    "request_password_reset": (202,),
    "create_api_key": (201,),
    "health": (200, 503),
}

# handler name: media types of its success body (default JSON)
MEDIA = {
    "hosted_issuer": (JSON_LD,),
    "issuer_image": IMAGES,
    "issuer_key": (JSON_LD,),
    "revocation_list": (JSON_LD,),
    "status_list": (VC_JWT,),
    "hosted_badge_class": (JSON_LD,),
    "hosted_badge_class_version": (JSON_LD,),
    "badge_class_image": IMAGES,
    "get_assertion": (JSON_LD,),
    "signed_assertion": ("application/jose",),
    "credential": (VC_JWT,),
    "baked_png": ("image/png",),
    "baked_svg": ("image/svg+xml",),
    "jwks": ("application/jwk-set+json",),
    "jwk": ("application/jwk+json",),
    "hosted_endorsement": (JSON_LD,),
    "get_learner_record": (VC_JWT,),
    "unsubscribe_page": (HTML,),
    "unsubscribe": (HTML,),
    "show_consent_page": (HTML,),
    "answer_consent_page": (HTML,),
    "api_docs": (HTML,),
}

# Request headers a handler reads, beyond the credentials.
IF_MATCH = [{
    "name": "If-Match", "in": "header", "required": False,
    "description": "The ETag (or version) you edited; a newer stored version "
                   "answers 409",
    "schema": {"type": "string", "pattern": r'^("?[0-9]+"?|\*)$'}}]
HEADERS = {"update_opportunity": IF_MATCH, "update_organization": IF_MATCH}

"""Versioned contracts of the events services send each other.

Every event is an envelope::

    {"event_id": "...", "event_type": "badge_issued", "schema_version": 1,
     "city": "chicago", "occurred_at": "2026-12-04T15:00:00+00:00",
     "request_id": "...", "data": {...}}

``data`` follows the schema registered for (event_type, schema_version). A consumer
validates the envelope and the data before acting, and drops duplicates by
``event_id``. A breaking change to a payload adds a new schema version beside the old
one; consumers accept every version they know.
"""

import uuid
from datetime import datetime, timezone

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from cities_common.context import CITY_SLUG_PATTERN
from cities_common.errors import InvalidInput

CITY_ONBOARDED = "city_onboarded"
CITY_ARCHIVED = "city_archived"
ORGANIZATION_PUBLISHED = "organization_published"
OPPORTUNITY_PUBLISHED = "opportunity_published"
OPPORTUNITY_UPDATED = "opportunity_updated"
OPPORTUNITY_WITHDRAWN = "opportunity_withdrawn"
YOUTH_REGISTERED = "youth_registered"
REGISTRATION_CANCELLED = "registration_cancelled"
WAITLIST_PROMOTED = "waitlist_promoted"
GUARDIAN_CONSENT_REQUESTED = "guardian_consent_requested"
YOUTH_ERASED = "youth_erased"
YOUTH_ERASURE_ACKNOWLEDGED = "youth_erasure_acknowledged"
PROGRAM_COMPLETED = "program_completed"
BADGE_ISSUED = "badge_issued"
BADGE_REVOKED = "badge_revoked"
ACCOUNT_VERIFICATION_REQUESTED = "account_verification_requested"
ACCOUNT_SETUP_REQUESTED = "account_setup_requested"
ACCOUNT_PASSWORD_RESET_REQUESTED = "account_password_reset_requested"

_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
_slug = validate.Regexp(CITY_SLUG_PATTERN, error="must be a city slug such as 'chicago'")


class PointSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class BoundingBoxSchema(Schema):
    min_lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    min_lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    max_lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    max_lon = fields.Float(required=True, validate=validate.Range(-180, 180))


class CitySchema(Schema):
    """A city as a tenant: the payload of ``city_onboarded``."""

    slug = fields.String(required=True, validate=_slug)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    default_locale = fields.String(required=True, validate=validate.OneOf(["en", "es"]))
    locales = fields.List(fields.String(validate=validate.OneOf(["en", "es"])),
                          required=True, validate=validate.Length(min=1))
    centre = fields.Nested(PointSchema, required=True)
    bbox = fields.Nested(BoundingBoxSchema, required=True)
    service_area_margin_km = fields.Float(load_default=50.0,
                                          validate=validate.Range(0, 500))
    branding = fields.Dict(load_default=dict)


class CityArchivedV1(Schema):
    """Payload of ``city_archived``: the city stopped taking requests and events.

    ``counts`` gives the number of records of each kind in the city's catalog, which
    its export contains. The catalog keeps them, read-only.
    """

    slug = fields.String(required=True, validate=_slug)
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    archived_at = fields.String(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict)


class OrganizationPublishedV1(Schema):
    organization = fields.Dict(required=True)


class OpportunityChangedV1(Schema):
    """Payload of ``opportunity_published``, ``_updated`` and ``_withdrawn``.

    ``opportunity`` is the full current document, so a consumer never needs to call
    back; ``version`` grows with every change and orders the events.
    """

    class OpportunityDocument(Schema):
        class Meta:
            unknown = INCLUDE

        id = _id
        city = fields.String(required=True, validate=_slug)
        title = fields.String(required=True)
        status = fields.String(required=True)
        version = fields.Integer(required=True, validate=validate.Range(min=1))

    opportunity = fields.Nested(OpportunityDocument, required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))


class YouthRegisteredV1(Schema):
    """Payload of ``youth_registered``.

    ``contact_email`` (the youth's or a guardian's), ``preferred_language`` and
    ``youth_display_name`` (named in the e-mail) are optional: notifications e-mails the confirmation and later badges only when
    the address is given, and never passes either field to partners.
    """

    registration_id = _id
    youth_id = _id
    opportunity_id = _id
    status = fields.String(required=True,
                           validate=validate.OneOf(["confirmed", "waitlisted"]))
    contact_email = fields.Email(load_default=None, allow_none=True)
    preferred_language = fields.String(load_default=None, allow_none=True,
                                       validate=validate.OneOf(["en", "es"]))
    youth_display_name = fields.String(load_default=None, allow_none=True,
                                       validate=validate.Length(max=100))


class RegistrationCancelledV1(Schema):
    """A confirmed or waitlisted registration was cancelled.

    ``reason`` is ``youth_request``, ``staff``, ``consent_withdrawn`` (a guardian
    withdrew consent), ``erasure`` (the youth's data is being erased) or
    ``opportunity_withdrawn`` (the partner withdrew the opportunity).
    """

    registration_id = _id
    youth_id = _id
    opportunity_id = _id
    previous_status = fields.String(required=True,
                                    validate=validate.OneOf(["confirmed", "waitlisted"]))
    reason = fields.String(required=True, validate=validate.OneOf(
        ["youth_request", "staff", "consent_withdrawn", "erasure",
         "opportunity_withdrawn"]))
    cancelled_at = fields.String(required=True)


class WaitlistPromotedV1(Schema):
    """A waitlisted registration took a freed seat; ``sequence`` is its arrival order.

    ``contact_email`` and ``preferred_language`` are optional and work as in
    ``youth_registered``.
    """

    registration_id = _id
    youth_id = _id
    opportunity_id = _id
    sequence = fields.Integer(required=True, validate=validate.Range(min=1))
    promoted_at = fields.String(required=True)
    contact_email = fields.Email(allow_none=True)
    preferred_language = fields.String(allow_none=True,
                                       validate=validate.OneOf(["en", "es"]))
    youth_display_name = fields.String(allow_none=True,
                                       validate=validate.Length(max=100))


class GuardianConsentRequestedV1(Schema):
    """Ask a guardian to consent for a youth under 13, by e-mail to the given address.

    It carries personal data (the guardian's name and e-mail address and the
    youth's display name) because the consumer writes the e-mail; never log it.
    ``consent_url`` holds a single-use token valid until ``expires_at``.
    """

    consent_request_id = _id
    youth_id = _id
    youth_display_name = fields.String(required=True,
                                       validate=validate.Length(min=1, max=60))
    guardian_id = _id
    guardian_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    guardian_email = fields.Email(required=True)
    language = fields.String(required=True, validate=validate.OneOf(["en", "es"]))
    consent_url = fields.Url(required=True, require_tld=False)
    expires_at = fields.String(required=True)


class YouthErasedV1(Schema):
    """A youth asked for erasure; every service must erase what it stores about them.

    ``guardian_ids`` are the ids of the youth's guardian records, so a consumer can
    find what it keeps about the guardians; the event carries no names or addresses.
    Every consumer answers with ``youth_erasure_acknowledged``.
    """

    erasure_id = _id
    youth_id = _id
    requested_at = fields.String(required=True)
    guardian_ids = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                               load_default=list, validate=validate.Length(max=100))


class YouthErasureAcknowledgedV1(Schema):
    """A service finished erasing a youth's data; ``summary`` counts what it did.

    Counts only, never personal data, for example ``{"share_links_deleted": 1}``.
    """

    erasure_id = _id
    youth_id = _id
    service = fields.String(required=True, validate=validate.Length(min=1, max=50))
    summary = fields.Dict(keys=fields.String(validate=validate.Length(max=100)),
                          values=fields.Integer(validate=validate.Range(min=0)),
                          load_default=dict)
    acknowledged_at = fields.String(required=True)


class ProgramCompletedV1(Schema):
    completion_id = _id
    registration_id = _id
    youth_id = _id
    opportunity_id = _id
    opportunity_title = fields.String(required=True)
    provider_name = fields.String(required=True)
    completed_at = fields.String(required=True)
    evidence_url = fields.String(load_default=None, allow_none=True)


class BadgeIssuedV1(Schema):
    assertion_id = _id
    youth_id = _id
    badge_class_id = _id
    opportunity_id = _id
    completion_id = _id
    issued_on = fields.String(required=True)
    assertion = fields.Dict(required=True)


class BadgeRevokedV1(Schema):
    assertion_id = _id
    youth_id = _id
    badge_class_id = _id
    revoked_on = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class AccountTokenIssuedV1(Schema):
    """Payload of ``account_verification_requested``, ``account_setup_requested``
    and ``account_password_reset_requested``.

    The identity service sends a single-use ``token`` for the consumer to e-mail to
    ``email``: a sign-up's address to verify, an invited person's link to set a
    first password, or the link that sets a forgotten password. It carries personal data and a secret; never log either.
    """

    city = fields.String(required=True, validate=_slug)
    account_id = _id
    email = fields.Email(required=True)
    token = fields.String(required=True, validate=validate.Length(min=20, max=200))
    locale = fields.String(required=True, validate=validate.OneOf(["en", "es"]))


CONTRACTS: dict[tuple[str, int], type[Schema]] = {
    (CITY_ONBOARDED, 1): CitySchema,
    (CITY_ARCHIVED, 1): CityArchivedV1,
    (ORGANIZATION_PUBLISHED, 1): OrganizationPublishedV1,
    (OPPORTUNITY_PUBLISHED, 1): OpportunityChangedV1,
    (OPPORTUNITY_UPDATED, 1): OpportunityChangedV1,
    (OPPORTUNITY_WITHDRAWN, 1): OpportunityChangedV1,
    (YOUTH_REGISTERED, 1): YouthRegisteredV1,
    (REGISTRATION_CANCELLED, 1): RegistrationCancelledV1,
    (WAITLIST_PROMOTED, 1): WaitlistPromotedV1,
    (GUARDIAN_CONSENT_REQUESTED, 1): GuardianConsentRequestedV1,
    (YOUTH_ERASED, 1): YouthErasedV1,
    (YOUTH_ERASURE_ACKNOWLEDGED, 1): YouthErasureAcknowledgedV1,
    (PROGRAM_COMPLETED, 1): ProgramCompletedV1,
    (BADGE_ISSUED, 1): BadgeIssuedV1,
    (BADGE_REVOKED, 1): BadgeRevokedV1,
    (ACCOUNT_VERIFICATION_REQUESTED, 1): AccountTokenIssuedV1,
    (ACCOUNT_SETUP_REQUESTED, 1): AccountTokenIssuedV1,
    (ACCOUNT_PASSWORD_RESET_REQUESTED, 1): AccountTokenIssuedV1,
}

CURRENT_VERSION = {event_type: 1 for event_type, _ in CONTRACTS}


class EnvelopeSchema(Schema):
    event_id = _id
    event_type = fields.String(required=True, validate=validate.OneOf(CURRENT_VERSION))
    schema_version = fields.Integer(required=True, validate=validate.Range(min=1))
    city = fields.String(required=True, validate=_slug)
    occurred_at = fields.String(required=True)
    request_id = fields.String(load_default=None, allow_none=True)
    data = fields.Dict(required=True)


def make_event(event_type: str, city: str, data: dict, request_id: str | None = None,
               event_id: str | None = None) -> dict:
    """Build and validate an envelope; raises ``InvalidInput`` on a bad payload.

    Pass ``event_id`` to make a retried operation send the same event twice rather
    than two events, so consumers can drop the copy.
    """
    version = CURRENT_VERSION[event_type]
    envelope = {
        "event_id": event_id or uuid.uuid4().hex,
        "event_type": event_type,
        "schema_version": version,
        "city": city,
        "occurred_at": datetime.now(timezone.utc).isoformat(),
        "request_id": request_id,
        "data": data,
    }
    return parse_event(envelope, event_type)


def parse_event(payload, event_type: str) -> dict:
    """Validate an envelope and its data; raise ``InvalidInput`` naming each field."""
    if not isinstance(payload, dict):
        raise InvalidInput({"_schema": ["an event must be a JSON object"]},
                           f"invalid {event_type} event")
    try:
        envelope = EnvelopeSchema().load(payload)
    except ValidationError as exc:
        raise InvalidInput(exc.messages, f"invalid {event_type} envelope") from exc
    if envelope["event_type"] != event_type:
        raise InvalidInput({"event_type": [f"expected {event_type!r}"]},
                           f"invalid {event_type} envelope")
    schema = CONTRACTS.get((event_type, envelope["schema_version"]))
    if schema is None:
        raise InvalidInput(
            {"schema_version": [f"version {envelope['schema_version']} of "
                                f"{event_type} is not known to this service"]},
            f"invalid {event_type} envelope",
        )
    try:
        envelope["data"] = schema().load(envelope["data"])
    except ValidationError as exc:
        raise InvalidInput({"data": exc.messages}, f"invalid {event_type} data") from exc
    return envelope

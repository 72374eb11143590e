"""Requests the badges service accepts from partner staff and youth."""

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

from services.badges.images import ImageError, decode_data_uri
from services.badges.keys import ALGORITHMS as SIGNING_ALGORITHMS

URL = validate.URL(schemes={"http", "https"}, error="must be an http or https URL")
RECORD_ID = validate.Regexp(
    r"^[a-z0-9][a-z0-9-]{1,60}$",
    error="must be 2-61 lowercase letters, digits or hyphens",
)
ISSUER_KINDS = [
    "partner",
    "employer",
    "university",
    "school",
    "library",
    "museum",
    "community_organization",
    "city",
]
ENDORSER_KINDS = ["employer", "university", "school", "partner"]
# The catalog organisation that owns an issuer or playlist; None for the city's.
ORGANIZATION_ID = validate.Length(min=1, max=100)
# A data URI must fit in the gateway's 64 KiB request body with the rest.
MAX_IMAGE_URI = 60_000


class ImageField(fields.String):
    """A ``data:image/png`` or ``data:image/svg+xml`` base64 URI of an inert image."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if len(value) > MAX_IMAGE_URI:
            raise ValidationError(f"must be at most {MAX_IMAGE_URI} characters")
        try:
            decode_data_uri(value)
        except ImageError as exc:
            raise ValidationError(str(exc)) from exc
        return value


def _text(max_length: int, required: bool = False, **kwargs):
    if required:
        return fields.String(
            required=True, validate=validate.Length(min=1, max=max_length), **kwargs
        )
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=max_length),
        **kwargs,
    )


class IssuerRequestSchema(Schema):
    """An issuer profile: a partner organisation, an endorser or the city itself.

    ``organization_id`` names the partner organisation that owns the issuer. Once
    stored it never changes, and the city issuer has none.
    """

    id = fields.String(load_default=None, validate=RECORD_ID)
    organization_id = fields.String(
        load_default=None, allow_none=True, validate=ORGANIZATION_ID
    )
    name = _text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ISSUER_KINDS))
    url = fields.String(load_default=None, allow_none=True, validate=URL)
    email = fields.Email(load_default=None, allow_none=True)
    description = _text(2000)
    image = ImageField(load_default=None, allow_none=True)

    @validates_schema
    def validate_city_kind(self, data, **kwargs):
        if (data.get("kind") == "city") != (data.get("id") == "city"):
            raise ValidationError(
                {"kind": ["only the issuer with id 'city' has the kind 'city'"]}
            )
        if data.get("id") == "city" and data.get("organization_id"):
            raise ValidationError(
                {
                    "organization_id": [
                        "must be omitted for the city issuer, which belongs to "
                        "the city and not to an organisation"
                    ]
                }
            )


class CriteriaSchema(Schema):
    narrative = _text(5000, required=True)
    url = fields.String(load_default=None, allow_none=True, validate=URL)


class AlignmentSchema(Schema):
    """An alignment to a skill or a framework item (OB 2.0 ``AlignmentObject``)."""

    target_name = _text(200, required=True)
    target_url = fields.String(required=True, validate=URL)
    target_description = _text(1000)
    target_framework = _text(200)
    target_code = _text(100)


class BadgeClassFieldsSchema(Schema):
    """The editable fields of a badge class; every edit makes a new version."""

    name = _text(200, required=True)
    description = _text(2000, required=True)
    image = ImageField(load_default=None, allow_none=True)
    criteria = fields.Nested(CriteriaSchema, required=True)
    alignments = fields.List(
        fields.Nested(AlignmentSchema),
        load_default=list,
        validate=validate.Length(max=20),
    )
    tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=60)),
        load_default=list,
        validate=validate.Length(max=30),
    )
    evidence_required = fields.Boolean(load_default=False)
    valid_days = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 3650)
    )


class BadgeClassRequestSchema(BadgeClassFieldsSchema):
    id = fields.String(load_default=None, validate=RECORD_ID)
    issuer_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    opportunity_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        load_default=list,
        validate=validate.Length(max=50),
    )


class BadgeClassUpdateSchema(BadgeClassFieldsSchema):
    expected_version = fields.Integer(required=True, validate=validate.Range(min=1))


class RuleRequestSchema(Schema):
    """The badge class that completing an opportunity earns: a class id, or ``none``."""

    badge_class_id = fields.String(
        required=True, validate=validate.Length(min=1, max=100)
    )


class EvidenceSchema(Schema):
    url = fields.String(load_default=None, allow_none=True, validate=URL)
    name = _text(200)
    narrative = _text(5000)
    description = _text(2000)

    @validates_schema
    def validate_content(self, data, **kwargs):
        if not data.get("url") and not data.get("narrative"):
            raise ValidationError({"narrative": ["give a url or a narrative"]})


class PeerAssessmentSchema(Schema):
    assessor_name = _text(200, required=True)
    assessor_role = _text(200)
    narrative = _text(5000, required=True)
    rating = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(1, 5)
    )


class StaffSchema(Schema):
    name = _text(200, required=True)
    role = _text(200)


class AwardRequestSchema(Schema):
    """A badge awarded by partner staff, with evidence and peer assessments."""

    badge_class_id = fields.String(
        required=True, validate=validate.Length(min=1, max=100)
    )
    youth_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    award_id = fields.String(load_default=None, validate=RECORD_ID)
    completion_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100)
    )
    opportunity_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100)
    )
    awarded_by = fields.Nested(StaffSchema, required=True)
    narrative = _text(5000)
    evidence = fields.List(
        fields.Nested(EvidenceSchema),
        load_default=list,
        validate=validate.Length(max=20),
    )
    peer_assessments = fields.List(
        fields.Nested(PeerAssessmentSchema),
        load_default=list,
        validate=validate.Length(max=20),
    )


class RevokeRequestSchema(Schema):
    reason = _text(500, required=True)


class RotateKeysRequestSchema(Schema):
    """The key algorithms an operator rotates. Without ``algorithms``, both rotate."""

    algorithms = fields.List(
        fields.String(validate=validate.OneOf(SIGNING_ALGORITHMS)),
        load_default=list(SIGNING_ALGORITHMS),
        validate=validate.Length(min=1, max=len(SIGNING_ALGORITHMS)),
    )


class EndorsementRequestSchema(Schema):
    """An endorsement by an employer or university of a badge class or an issuer."""

    endorser_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    badge_class_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100)
    )
    issuer_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100)
    )
    comment = _text(2000, required=True)

    @validates_schema
    def validate_target(self, data, **kwargs):
        if (data.get("badge_class_id") is None) == (data.get("issuer_id") is None):
            raise ValidationError(
                {"badge_class_id": ["give either badge_class_id or issuer_id"]}
            )


class PlaylistRequestSchema(Schema):
    """An ordered set of opportunities whose completion earns one badge.

    ``organization_id`` names the partner organisation that owns the playlist.
    """

    id = fields.String(load_default=None, validate=RECORD_ID)
    organization_id = fields.String(
        load_default=None, allow_none=True, validate=ORGANIZATION_ID
    )
    name = _text(200, required=True)
    description = _text(2000, required=True)
    opportunity_ids = fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        required=True,
        validate=validate.Length(min=2, max=50),
    )
    badge_class_id = fields.String(
        load_default=None, validate=validate.Length(min=1, max=100)
    )

    @validates_schema
    def validate_unique(self, data, **kwargs):
        opportunity_ids = data.get("opportunity_ids") or []
        if len(set(opportunity_ids)) != len(opportunity_ids):
            raise ValidationError(
                {"opportunity_ids": ["must not repeat an opportunity"]}
            )


class VisibilityRequestSchema(Schema):
    public = fields.Boolean(required=True)

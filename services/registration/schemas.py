"""Requests the registration service accepts."""

import re
from datetime import date

from marshmallow import (
    Schema, ValidationError, fields, post_load, validate, validates_schema,
)

from cities_common.names import PersonName

LANGUAGES = ["en", "es"]
URL = validate.URL(schemes={"http", "https"}, error="must be an http or https URL")
SESSION_ID = validate.Regexp(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$",
                             error="must be a session's local start such as "
                                   "'2026-07-06T10:00'")
# Decimal places kept of a home centroid: two is about 1.1 km of latitude.
CENTROID_DECIMALS = 2
US_ZIP_PLUS_FOUR = re.compile(r"^(\d{5})-\d{4}$")


def _id(required=True):
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=100))
    return fields.String(load_default=None, validate=validate.Length(min=1, max=100))


class PointSchema(Schema):
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, allow_nan=False,
                       validate=validate.Range(-180, 180))


class HomeSchema(Schema):
    """A coarse home location: a postal code, a neighbourhood, or its centroid."""

    postal_code = fields.String(load_default=None, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9 -]{1,9}$", error="must be a postal code such as '60605'"))
    neighbourhood = fields.String(load_default=None,
                                  validate=validate.Length(min=1, max=100))
    centroid = fields.Nested(PointSchema, load_default=None)

    @validates_schema
    def require_one(self, data, **kwargs):
        if not any(data.get(name) for name in ("postal_code", "neighbourhood",
                                               "centroid")):
            raise ValidationError("give a postal_code, a neighbourhood or a centroid",
                                  "_schema")

    @post_load
    def coarsen(self, data, **kwargs):
        """Keep only the 5-digit ZIP of a ZIP+4, and round the centroid to ~1 km."""
        match = US_ZIP_PLUS_FOUR.match(data.get("postal_code") or "")
        if match:
            data["postal_code"] = match.group(1)
        if data.get("centroid"):
            data["centroid"] = {key: round(value, CENTROID_DECIMALS)
                                for key, value in data["centroid"].items()}
        return data


class GuardianSchema(Schema):
    name = PersonName(max_length=100, required=True)
    email = fields.Email(required=True, validate=validate.Length(max=254))
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


class YouthProfileSchema(Schema):
    """What the platform keeps about a young person: no full birth date, no address."""

    display_name = PersonName(max_length=60, required=True)
    birth_year = fields.Integer(required=True)
    birth_month = fields.Integer(required=True, validate=validate.Range(1, 12))
    home = fields.Nested(HomeSchema, load_default=None)
    interests = fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                            load_default=list, validate=validate.Length(max=20))
    preferred_language = fields.String(load_default="en",
                                       validate=validate.OneOf(LANGUAGES))
    # Optional address for registration and badge e-mail. Without it, that mail
    # goes to the consenting guardian, or else to the first guardian.
    contact_email = fields.Email(load_default=None, allow_none=True,
                                 validate=validate.Length(max=254))
    guardians = fields.List(fields.Nested(GuardianSchema), load_default=list,
                            validate=validate.Length(max=4))

    @validates_schema
    def validate_birth(self, data, **kwargs):
        year = date.today().year
        if not year - 30 <= data.get("birth_year", year) <= year:
            raise ValidationError({"birth_year": [f"must be between {year - 30} and {year}"]})


class RegisterRequestSchema(Schema):
    opportunity_id = _id()
    youth_id = fields.String(load_default=None, validate=validate.Length(max=100))
    youth = fields.Nested(YouthProfileSchema, load_default=None)

    @validates_schema
    def validate_youth(self, data, **kwargs):
        if (data.get("youth_id") is None) == (data.get("youth") is None):
            raise ValidationError({"youth": ["give either youth_id or a youth profile"]})


class CancelRequestSchema(Schema):
    reason = fields.String(load_default="youth_request",
                           validate=validate.OneOf(["youth_request", "staff"]))


class ConsentRequestSchema(Schema):
    guardian_id = _id()


class ConsentDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["grant", "decline"]))


class ConsentWithdrawalSchema(Schema):
    guardian_id = _id(required=False)


class CompletionRuleSchema(Schema):
    """Complete a registration automatically once it attended this many sessions."""

    min_sessions_attended = fields.Integer(required=True,
                                           validate=validate.Range(1, 10_000))


class AttendanceRecordSchema(Schema):
    registration_id = _id()
    status = fields.String(required=True,
                           validate=validate.OneOf(["present", "absent", "excused"]))


class AttendanceRequestSchema(Schema):
    session_id = fields.String(required=True, validate=SESSION_ID)
    records = fields.List(fields.Nested(AttendanceRecordSchema), required=True,
                          validate=validate.Length(min=1, max=500))


class CompletionRequestSchema(Schema):
    evidence_url = fields.String(load_default=None, validate=URL)


class EvidenceSchema(Schema):
    url = fields.String(required=True, validate=URL)
    title = fields.String(load_default=None, validate=validate.Length(min=1, max=200))


class PeerAssessmentSchema(Schema):
    assessor_registration_id = _id()
    statement = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    rating = fields.Integer(load_default=None, validate=validate.Range(1, 5))


class ActorSchema(Schema):
    """The account acting for partner staff, from the gateway."""

    actor = fields.String(required=True, validate=validate.Length(min=1, max=100),
                          error_messages={"required": "is missing: sign in as staff of the "
                                                      "opportunity's organisation"})

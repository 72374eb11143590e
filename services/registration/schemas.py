"""Requests the registration service accepts."""

from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates_schema


class YouthProfileSchema(Schema):
    """What the platform keeps about a young person: no full birth date, no address."""

    display_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    birth_year = fields.Integer(required=True)
    birth_month = fields.Integer(required=True, validate=validate.Range(1, 12))
    preferred_language = fields.String(load_default="en",
                                       validate=validate.OneOf(["en", "es"]))

    @validates_schema
    def validate_birth(self, data, **kwargs):
        year = date.today().year
        if not year - 30 <= data.get("birth_year", year) <= year:
            raise ValidationError({"birth_year": [f"must be between {year - 30} and {year}"]})


class RegisterRequestSchema(Schema):
    opportunity_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    youth_id = fields.String(load_default=None, validate=validate.Length(max=100))
    youth = fields.Nested(YouthProfileSchema, load_default=None)

    @validates_schema
    def validate_youth(self, data, **kwargs):
        if (data.get("youth_id") is None) == (data.get("youth") is None):
            raise ValidationError({"youth": ["give either youth_id or a youth profile"]})


class CompletionRequestSchema(Schema):
    evidence_url = fields.String(load_default=None, validate=validate.URL(
        schemes={"http", "https"}, error="must be an http or https URL"))

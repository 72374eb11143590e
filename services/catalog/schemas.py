"""Validation of the documents the catalog accepts: opportunities and organisations."""

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

FORMATS = ["in_person", "online", "hybrid"]
STATUSES = ["draft", "submitted", "published", "closed", "withdrawn"]
ORGANIZATION_KINDS = [
    "library", "park_district", "museum", "community_organization", "school",
    "employer", "university", "online_provider", "anchor",
]
TIME = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be a time as HH:MM")
URL = validate.URL(schemes={"http", "https"}, error="must be an http or https URL")


class LocationSchema(Schema):
    name = fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=200))
    address = fields.String(load_default=None, allow_none=True,
                            validate=validate.Length(max=300))
    postal_code = fields.String(load_default=None, allow_none=True,
                                validate=validate.Length(max=20))
    lat = fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, validate=validate.Range(-180, 180))
    site_type = fields.String(load_default=None, allow_none=True)
    status = fields.String(load_default=None, allow_none=True)


class ProviderSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source_id = fields.String(load_default=None, allow_none=True)


class CostSchema(Schema):
    free = fields.Boolean(load_default=None, allow_none=True)
    label = fields.String(load_default=None, allow_none=True,
                          validate=validate.Length(max=100))


class OpportunitySchema(Schema):
    """An opportunity as imported or submitted by a partner organisation."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    source_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    city = fields.String(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    description = fields.String(load_default="", validate=validate.Length(max=10000))
    provider = fields.Nested(ProviderSchema, required=True)
    interests = fields.List(fields.String(validate=validate.Length(max=60)),
                            load_default=list, validate=validate.Length(max=20))
    interests_derived = fields.Boolean(load_default=False)
    tags = fields.List(fields.String(validate=validate.Length(max=60)),
                       load_default=list, validate=validate.Length(max=30))
    format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    locations = fields.List(fields.Nested(LocationSchema), load_default=list,
                            validate=validate.Length(max=50))
    min_age = fields.Integer(load_default=None, allow_none=True,
                             validate=validate.Range(0, 120))
    max_age = fields.Integer(load_default=None, allow_none=True,
                             validate=validate.Range(0, 120))
    start_date = fields.Date(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    start_time = fields.String(load_default=None, allow_none=True, validate=TIME)
    end_time = fields.String(load_default=None, allow_none=True, validate=TIME)
    capacity = fields.Integer(load_default=None, allow_none=True,
                              validate=validate.Range(min=0))
    cost = fields.Nested(CostSchema, load_default=dict)
    registration_url = fields.String(load_default=None, allow_none=True, validate=URL)
    url = fields.String(load_default=None, allow_none=True, validate=URL)
    status = fields.String(load_default="draft", validate=validate.OneOf(STATUSES))
    review_notes = fields.List(fields.String(), load_default=list)

    @validates_schema
    def validate_ranges(self, data, **kwargs):
        errors = {}
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and low > high:
            errors["max_age"] = [f"must not be below min_age ({low})"]
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            errors["end_date"] = [f"must not be before start_date ({start})"]
        if data.get("format") == "in_person" and data.get("status") == "published" \
                and not data.get("locations"):
            errors["locations"] = ["an in-person opportunity needs a location "
                                   "before it can be published"]
        if errors:
            raise ValidationError(errors)


class OrganizationSchema(Schema):
    """A partner organisation with the sites where it runs programmes."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=100))
    source_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    city = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(ORGANIZATION_KINDS))
    website = fields.String(load_default=None, allow_none=True, validate=URL)
    locations = fields.List(fields.Nested(LocationSchema), load_default=list,
                            validate=validate.Length(max=500))


class ImportRequestSchema(Schema):
    kind = fields.String(required=True,
                         validate=validate.OneOf(["opportunities", "organizations"]))
    records = fields.List(fields.Dict(), required=True,
                          validate=validate.Length(min=1, max=1000))

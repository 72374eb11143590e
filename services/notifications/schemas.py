"""Requests the notifications service accepts."""

from datetime import timedelta

from marshmallow import (
    Schema, ValidationError, fields, validate, validates, validates_schema,
)

from cities_common.context import CITY_SLUG_PATTERN
from services.notifications.mail_templates import LANGUAGES
from services.notifications.webhook_types import FILTERS

PARTNER_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,99}$"
MAX_REPLAY_RANGE = timedelta(days=7)
MAX_ROTATION_OVERLAP_SECONDS = 7 * 86400

partner_field = fields.String(validate=validate.Regexp(
    PARTNER_PATTERN, error="must be 1-100 lowercase letters, digits, '-' or '_'"))


def _filters(required: bool) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(
            FILTERS, error="must be one of: {choices}")),
        required=required, validate=validate.Length(min=1, max=len(FILTERS)))


class SubscriptionCreateSchema(Schema):
    partner = partner_field
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    event_types = _filters(required=True)
    description = fields.String(load_default="", validate=validate.Length(max=200))
    contact_email = fields.Email(load_default=None, allow_none=True)
    language = fields.String(load_default="en", validate=validate.OneOf(LANGUAGES))


class SubscriptionUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(min=1, max=2000))
    event_types = _filters(required=False)
    description = fields.String(validate=validate.Length(max=200))
    contact_email = fields.Email(allow_none=True)
    language = fields.String(validate=validate.OneOf(LANGUAGES))
    status = fields.String(validate=validate.OneOf(["active", "disabled"]))

    @validates_schema
    def validate_not_empty(self, data, **kwargs):
        if not data:
            raise ValidationError({"_schema": ["give at least one field to change"]})


class RotateSecretSchema(Schema):
    overlap_seconds = fields.Integer(
        load_default=None, allow_none=True,
        validate=validate.Range(0, MAX_ROTATION_OVERLAP_SECONDS))


class ReplaySchema(Schema):
    """Either one ``event_id``, or a ``since``/``until`` range of when events arrived."""

    event_id = fields.String(validate=validate.Length(min=1, max=100))
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()

    @validates_schema
    def validate_form(self, data, **kwargs):
        if ("event_id" in data) == ("since" in data):
            raise ValidationError({"_schema": ["give either event_id or since"]})
        if "until" in data and "since" not in data:
            raise ValidationError({"until": ["needs since"]})
        since, until = data.get("since"), data.get("until")
        if since and until:
            if until <= since:
                raise ValidationError({"until": ["must be after since"]})
            if until - since > MAX_REPLAY_RANGE:
                raise ValidationError({"until": ["must be at most 7 days after since"]})


class DeliveryQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(
        ["pending", "delivered", "dead", "cancelled"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class AttemptQuerySchema(Schema):
    event_id = fields.String(validate=validate.Length(min=1, max=100))
    since = fields.AwareDateTime()
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))

    @validates("since")
    def validate_since(self, value, **kwargs):
        if value is None:
            raise ValidationError("must be a date-time with a time zone")


class DeadLetterQuerySchema(Schema):
    """One page of dead-lettered deliveries for operators, newest first."""

    city = fields.String(validate=validate.Regexp(
        CITY_SLUG_PATTERN, error="must be a city slug such as 'chicago'"))
    partner = partner_field
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    after = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "The next_after of the previous page"})

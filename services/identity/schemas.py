"""Requests the identity service accepts, checked with marshmallow."""

from marshmallow import (
    EXCLUDE, Schema, ValidationError, fields, validate, validates,
)

from cities_common.context import CITY_SLUG_PATTERN
from cities_common.names import PersonName
from cities_common.errors import InvalidInput
from services.identity import passwords

LOCALES = ("en", "es")
OPERATOR, CITY_ADMIN, ORG_ADMIN, ORG_STAFF = "operator", "city_admin", "org_admin", \
    "org_staff"
YOUTH, GUARDIAN = "youth", "guardian"
ROLES = (OPERATOR, CITY_ADMIN, ORG_ADMIN, ORG_STAFF, YOUTH, GUARDIAN)
ALL_CITIES = "*"
# Only scopes that a gateway route checks; every other route needs a signed-in
# account.
API_KEY_SCOPES = ("webhooks:read", "webhooks:write")

_identifier = validate.Length(min=1, max=100)
_city = validate.Regexp(CITY_SLUG_PATTERN,
                        error="must be a city slug such as 'chicago'")


class PasswordField(fields.String):
    """A new password: 12 to 128 characters, not a common or repeated one."""

    def __init__(self, **kwargs):
        # The length check in ``_deserialize`` comes first, with its own message;
        # the validator puts minLength and maxLength into the OpenAPI document.
        kwargs.setdefault("validate", validate.Length(passwords.MIN_LENGTH,
                                                      passwords.MAX_LENGTH))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        password = super()._deserialize(value, attr, data, **kwargs)
        if not passwords.MIN_LENGTH <= len(password) <= passwords.MAX_LENGTH:
            raise ValidationError(
                f"must be {passwords.MIN_LENGTH} to {passwords.MAX_LENGTH} characters "
                f"long; this one has {len(password)}")
        reason = passwords.weakness(password)
        if reason:
            raise ValidationError(reason)
        return password


class Email(fields.Email):
    """An e-mail address, stored lower-cased so each address has one account."""

    def _deserialize(self, value, attr, data, **kwargs):
        return normalise_email(super()._deserialize(value, attr, data, **kwargs))


def normalise_email(value) -> str:
    return str(value).strip().lower()


class SignupSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    email = Email(required=True, validate=validate.Length(max=254))
    password = PasswordField(required=True)
    name = PersonName(max_length=100, min_length=0, load_default="")
    locale = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(LOCALES))


class VerifyEmailSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=20, max=200))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024),
                             metadata={"description": "The password chosen at sign-up"})


class PasswordResetRequestSchema(Schema):
    email = Email(required=True, validate=validate.Length(max=254))


class SetPasswordSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=20, max=200))
    password = PasswordField(required=True)


class GrantSchema(Schema):
    """A role on a scope in a city; ``validate_scope`` checks the pairing."""

    city = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope_id = fields.String(required=True, validate=_identifier)
    catalog_account_id = fields.String(load_default=None, allow_none=True,
                                       validate=_identifier)

    @validates("city")
    def validate_city(self, value, **kwargs):
        if value != ALL_CITIES:
            _city(value)

    def validate_scope(self, grant: dict) -> dict:
        """Check the rules between fields, raising ``ValidationError`` by field."""
        role, city, scope = grant["role"], grant["city"], grant["scope_id"]
        if role == OPERATOR:
            if city != ALL_CITIES or scope != ALL_CITIES:
                raise ValidationError({"city": ["the operator role is granted with "
                                                "city '*' and scope_id '*'"]})
        elif city == ALL_CITIES:
            raise ValidationError({"city": [f"'*' is only for the operator role; "
                                            f"a {role} grant names one city"]})
        elif role == CITY_ADMIN and scope != city:
            raise ValidationError({"scope_id": ["must equal city for city_admin"]})
        return grant


class ApiKeyRequestSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(
        fields.String(validate=validate.OneOf(
            API_KEY_SCOPES, error=f"must be one of {list(API_KEY_SCOPES)}")),
        required=True, validate=validate.Length(min=1, max=len(API_KEY_SCOPES)))


def load(schema: Schema, data, message: str) -> dict:
    """Load ``data`` with ``schema``; raise ``InvalidInput`` naming each bad field."""
    if not isinstance(data, dict):
        raise InvalidInput({"_schema": ["must be a JSON object"]}, message)
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise InvalidInput(exc.messages, message) from exc


def load_grant(data: dict, message: str = "invalid grant") -> dict:
    schema = GrantSchema()
    grant = load(schema, data, message)
    try:
        return schema.validate_scope(grant)
    except ValidationError as exc:
        raise InvalidInput(exc.messages, message) from exc

"""Search requests: which filters exist, their limits, and their errors."""

import base64
import json

from marshmallow import (
    Schema, ValidationError, fields, validate, validates, validates_schema,
)

MAX_RADIUS_KM = 100.0
DEFAULT_RADIUS_KM = 10.0
MAX_PAGE_SIZE = 50
SORTS = ["relevance", "distance", "start_date"]


def encode_cursor(sort_values: list) -> str:
    return base64.urlsafe_b64encode(json.dumps(sort_values).encode()).decode()


def decode_cursor(cursor: str) -> list:
    """Return the sort values a cursor holds; raises ValueError when malformed."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("is not a cursor returned by a previous page") from exc
    if not isinstance(values, list) or not values:
        raise ValueError("is not a cursor returned by a previous page")
    return values


class SearchRequestSchema(Schema):
    """Query of ``search_opportunities``; every error names its parameter."""

    q = fields.String(load_default=None, validate=validate.Length(max=200))
    interests = fields.List(fields.String(validate=validate.Length(max=60)),
                            load_default=list, validate=validate.Length(max=20))
    lat = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    radius_km = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=MAX_RADIUS_KM, min_inclusive=False,
                                error=f"must be above 0 and at most {MAX_RADIUS_KM:g}"),
    )
    include_online = fields.Boolean(load_default=False)
    free = fields.Boolean(load_default=None)
    format = fields.String(load_default=None,
                           validate=validate.OneOf(["in_person", "online", "hybrid"]))
    age = fields.Integer(load_default=None, validate=validate.Range(0, 120))
    sort = fields.String(load_default=None, validate=validate.OneOf(SORTS))
    page_size = fields.Integer(
        load_default=20, validate=validate.Range(1, MAX_PAGE_SIZE,
                                                 error=f"must be 1 to {MAX_PAGE_SIZE}"))
    cursor = fields.String(load_default=None, validate=validate.Length(max=500))

    @validates("cursor")
    def validate_cursor(self, value, **kwargs):
        if value is not None:
            try:
                decode_cursor(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc

    @validates_schema
    def validate_point(self, data, **kwargs):
        has_lat, has_lon = data.get("lat") is not None, data.get("lon") is not None
        if has_lat != has_lon:
            missing = "lon" if has_lat else "lat"
            raise ValidationError({missing: ["lat and lon must be given together"]})
        if data.get("radius_km") is not None and not has_lat:
            raise ValidationError({"radius_km": ["needs lat and lon"]})
        if data.get("sort") == "distance" and not has_lat:
            raise ValidationError({"sort": ["sort=distance needs lat and lon"]})


class SiteSearchRequestSchema(Schema):
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    lat = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    radius_km = fields.Float(load_default=None, validate=validate.Range(
        min=0, max=MAX_RADIUS_KM, min_inclusive=False))
    page_size = fields.Integer(load_default=20, validate=validate.Range(1, MAX_PAGE_SIZE))

    @validates_schema
    def validate_point(self, data, **kwargs):
        if (data.get("lat") is None) != (data.get("lon") is None):
            missing = "lon" if data.get("lat") is not None else "lat"
            raise ValidationError({missing: ["lat and lon must be given together"]})

"""Search requests: which parameters exist, their limits, and their errors.

Every ``ValidationError`` is keyed by the query parameter at fault, so the gateway's
400 response names it.
"""

import base64
import binascii
import json
import re

from marshmallow import (
    Schema, ValidationError, fields, post_load, validate, validates, validates_schema,
)

MAX_RADIUS_KM = 100.0
DEFAULT_RADIUS_KM = 10.0
MAX_PAGE_SIZE = 50
MAX_RELATED = 20
MAX_SUGGESTIONS = 10
FORMATS = ["in_person", "online", "hybrid"]
COST_BANDS = ["free", "paid", "unknown"]
# ``blended`` is relevance multiplied by a Gaussian decay of the distance.
SORTS = ["relevance", "distance", "start_date", "blended"]
CURSOR_ERROR = "is not a cursor returned by a previous page of this search"
# A point-in-time id as Elasticsearch encodes it (base64url).
PIT_ID = re.compile(r"[A-Za-z0-9_\-=]{1,600}")

_slug = fields.String(validate=validate.Length(min=1, max=60))
_language = fields.String(validate=validate.Regexp(
    r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
    error="must be a BCP 47 language tag such as 'en' or 'es-MX'"))


def encode_cursor(sort: str, sort_values: list, pit: str | None = None) -> str:
    """Encode the sort values of a page's last hit, the sort they belong to and the
    point in time the next page reads, if any. The search service signs the result."""
    payload = {"sort": sort, "after": sort_values}
    if pit:
        payload["pit"] = pit
    encoded = json.dumps(payload, separators=(",", ":"))
    return base64.urlsafe_b64encode(encoded.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict:
    """Return ``{"sort": ..., "after": [...], "pit": ...}``; raise ValueError when
    malformed. The signature after the last dot is checked by the service."""
    try:
        encoded = cursor.split(".", 1)[0]
        padded = encoded + "=" * (-len(encoded) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise ValueError(CURSOR_ERROR) from exc
    if not isinstance(payload, dict) or payload.get("sort") not in SORTS:
        raise ValueError(CURSOR_ERROR)
    after, pit = payload.get("after"), payload.get("pit")
    if pit is not None and (not isinstance(pit, str) or not PIT_ID.fullmatch(pit)):
        raise ValueError(CURSOR_ERROR)
    # Every sort ends with the ``id`` tiebreaker; a search in a point in time adds
    # Elasticsearch's ``_shard_doc`` after it.
    length = 3 if pit else 2
    if not isinstance(after, list) or len(after) != length or not isinstance(after[1], str):
        raise ValueError(CURSOR_ERROR)
    if not isinstance(after[0], (int, float, str)) or isinstance(after[0], bool):
        raise ValueError(CURSOR_ERROR)
    if pit and (not isinstance(after[2], int) or isinstance(after[2], bool)):
        raise ValueError(CURSOR_ERROR)
    return {"sort": payload["sort"], "after": after, "pit": pit}


def default_sort(data: dict) -> str:
    """Return the sort a request gets when it names none."""
    near = data.get("lat") is not None
    if near and data.get("q"):
        return "blended"
    return "distance" if near else "relevance"


class PointMixin:
    """Checks shared by requests that take a point and a radius."""

    @validates_schema
    def validate_point(self, data, **kwargs):
        has_lat, has_lon = data.get("lat") is not None, data.get("lon") is not None
        if has_lat != has_lon:
            missing = "lon" if has_lat else "lat"
            raise ValidationError({missing: ["lat and lon must be given together"]})
        if data.get("radius_km") is not None and not has_lat:
            raise ValidationError({"radius_km": ["needs lat and lon"]})


class SearchRequestSchema(PointMixin, Schema):
    """Query of ``search_opportunities``."""

    q = fields.String(load_default=None, validate=validate.Length(max=200))
    interests = fields.List(_slug, load_default=list, validate=validate.Length(max=20))
    skills = fields.List(fields.String(validate=validate.Length(min=1, max=100)),
                         load_default=list, validate=validate.Length(max=20))
    format = fields.List(fields.String(validate=validate.OneOf(FORMATS)),
                         load_default=list)
    language = fields.List(_language, load_default=list,
                           validate=validate.Length(max=10))
    accessibility = fields.List(_slug, load_default=list,
                                validate=validate.Length(max=10))
    cost = fields.List(fields.String(validate=validate.OneOf(COST_BANDS)),
                       load_default=list)
    provider = fields.List(fields.String(validate=validate.Length(min=1, max=200)),
                           load_default=list, validate=validate.Length(max=10))
    free = fields.Boolean(load_default=None)
    age = fields.Integer(load_default=None, validate=validate.Range(0, 120))
    min_age = fields.Integer(load_default=None, validate=validate.Range(0, 120))
    max_age = fields.Integer(load_default=None, validate=validate.Range(0, 120))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
    registration_open = fields.Boolean(load_default=False)
    lat = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    radius_km = fields.Float(
        load_default=None,
        validate=validate.Range(min=0, max=MAX_RADIUS_KM, min_inclusive=False,
                                error=f"must be above 0 and at most {MAX_RADIUS_KM:g}"),
    )
    include_online = fields.Boolean(load_default=False)
    sort = fields.String(load_default=None, validate=validate.OneOf(
        SORTS, error=f"must be one of: {', '.join(SORTS)}"))
    page_size = fields.Integer(
        load_default=20, validate=validate.Range(1, MAX_PAGE_SIZE,
                                                 error=f"must be 1 to {MAX_PAGE_SIZE}"))
    cursor = fields.String(load_default=None, validate=validate.Length(max=1200))
    facets = fields.Boolean(load_default=True)

    @validates("cursor")
    def validate_cursor(self, value, **kwargs):
        if value is not None:
            try:
                decode_cursor(value)
            except ValueError as exc:
                raise ValidationError(str(exc)) from exc

    @validates_schema
    def validate_combinations(self, data, **kwargs):
        errors = {}
        near = data.get("lat") is not None
        if data.get("sort") in ("distance", "blended") and not near:
            errors["sort"] = [f"sort={data['sort']} needs lat and lon"]
        if data.get("age") is not None and (data.get("min_age") is not None
                                            or data.get("max_age") is not None):
            errors["age"] = ["give either age or min_age and max_age, not both"]
        low, high = data.get("min_age"), data.get("max_age")
        if low is not None and high is not None and low > high:
            errors["max_age"] = [f"must not be below min_age ({low})"]
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            errors["date_to"] = [f"must not be before date_from ({start})"]
        cursor = data.get("cursor")
        if cursor and "sort" not in errors:
            sort = data.get("sort") or default_sort(data)
            try:
                cursor_sort = decode_cursor(cursor)["sort"]
            except ValueError:
                cursor_sort = sort  # already reported by validate_cursor
            if cursor_sort != sort:
                errors["cursor"] = [f"belongs to sort={cursor_sort}, not sort={sort}: "
                                    "repeat the search that returned it"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def resolve_defaults(self, data, **kwargs):
        data["sort"] = data.get("sort") or default_sort(data)
        if data.get("lat") is not None and data.get("radius_km") is None:
            data["radius_km"] = DEFAULT_RADIUS_KM
        if data.get("cursor"):
            cursor = decode_cursor(data["cursor"])
            data["search_after"], data["pit"] = cursor["after"], cursor["pit"]
        return data


class RelatedRequestSchema(Schema):
    """Query of ``related_opportunities``."""

    page_size = fields.Integer(
        load_default=5, validate=validate.Range(1, MAX_RELATED,
                                                error=f"must be 1 to {MAX_RELATED}"))


class AutocompleteRequestSchema(Schema):
    """Query of ``autocomplete``: the typed prefix and how many suggestions of each kind."""

    prefix = fields.String(required=True, validate=validate.Length(min=1, max=50))
    size = fields.Integer(
        load_default=5, validate=validate.Range(1, MAX_SUGGESTIONS,
                                                error=f"must be 1 to {MAX_SUGGESTIONS}"))

    @validates("prefix")
    def validate_prefix(self, value, **kwargs):
        if not value.strip():
            raise ValidationError("must contain a letter or digit")


class SiteSearchRequestSchema(PointMixin, Schema):
    """Query of ``search_sites``."""

    q = fields.String(load_default=None, validate=validate.Length(max=200))
    lat = fields.Float(load_default=None, validate=validate.Range(-90, 90))
    lon = fields.Float(load_default=None, validate=validate.Range(-180, 180))
    radius_km = fields.Float(load_default=None, validate=validate.Range(
        min=0, max=MAX_RADIUS_KM, min_inclusive=False,
        error=f"must be above 0 and at most {MAX_RADIUS_KM:g}"))
    page_size = fields.Integer(
        load_default=20, validate=validate.Range(1, MAX_PAGE_SIZE,
                                                 error=f"must be 1 to {MAX_PAGE_SIZE}"))

"""Onboarding requests: a city's settings, vocabulary, anchor and first admin."""

import json
from pathlib import Path

from marshmallow import (
    Schema, ValidationError, fields, post_load, validate, validates_schema,
)

from cities_common.context import CITY_SLUG_PATTERN
from cities_common.events import BoundingBoxSchema, CitySchema, PointSchema
from services.catalog.lifecycle import DEFAULT_MODERATED_OPPORTUNITIES
from services.catalog.schemas import URL, PersonSchema
from services.catalog.sessions import time_zone

DEFAULT_INTERESTS_FILE = Path(__file__).resolve().parents[2] / "data" / "interests.json"
PLATFORM_LOCALES = ["en", "es"]
COLOUR = validate.Regexp(r"^#[0-9A-Fa-f]{6}$", error="must be a colour as #RRGGBB")
# Fields of the ``city_onboarded`` payload; the rest are the catalog's own settings.
EVENT_FIELDS = tuple(CitySchema().fields)


class BrandingSchema(Schema):
    display_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    primary_colour = fields.String(required=True, validate=COLOUR)
    secondary_colour = fields.String(load_default=None, allow_none=True, validate=COLOUR)
    logo_url = fields.String(load_default=None, allow_none=True, validate=URL)


class InterestSchema(Schema):
    slug = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z0-9]+(-[a-z0-9]+)*$", error="must be lowercase words joined by hyphens"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    description = fields.String(load_default="", validate=validate.Length(max=500))


class AnchorSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    website = fields.String(load_default=None, allow_none=True, validate=URL)


class ModerationSchema(Schema):
    first_opportunities = fields.Integer(load_default=DEFAULT_MODERATED_OPPORTUNITIES,
                                         validate=validate.Range(0, 100))


class OnboardingSchema(Schema):
    """A city to onboard: the ``city_onboarded`` fields, checked more strictly.

    ``admin`` becomes the city's first administrator account. ``anchor_organization``
    names the anchor organisation (default: the branding's display name).
    ``interests`` replaces ``data/interests.json`` as the starting vocabulary.
    ``centre`` defaults to the middle of ``bbox``.
    """

    slug = fields.String(required=True, validate=validate.Regexp(
        CITY_SLUG_PATTERN, error="must be a city slug such as 'chicago'"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    time_zone = fields.String(required=True, validate=validate.Length(min=1, max=64))
    default_locale = fields.String(required=True,
                                   validate=validate.OneOf(PLATFORM_LOCALES))
    locales = fields.List(fields.String(validate=validate.OneOf(PLATFORM_LOCALES)),
                          required=True, validate=validate.Length(min=1))
    centre = fields.Nested(PointSchema, load_default=None)
    bbox = fields.Nested(BoundingBoxSchema, required=True)
    service_area_margin_km = fields.Float(load_default=50.0,
                                          validate=validate.Range(0, 500))
    branding = fields.Nested(BrandingSchema, required=True)
    admin = fields.Nested(PersonSchema, load_default=None, allow_none=True)
    anchor_organization = fields.Nested(AnchorSchema, load_default=None,
                                        allow_none=True)
    moderation = fields.Nested(ModerationSchema, load_default=dict)
    interests = fields.List(fields.Nested(InterestSchema), load_default=None,
                            allow_none=True, validate=validate.Length(min=1, max=100))

    @validates_schema
    def check_city(self, data, **kwargs):
        errors = {}
        try:
            time_zone(data["time_zone"])
        except ValueError as exc:
            errors["time_zone"] = [f"{exc}, such as 'America/Chicago'"]
        if data["default_locale"] not in data["locales"]:
            errors["default_locale"] = [f"must be one of locales {data['locales']}"]
        box = data["bbox"]
        if box["min_lat"] >= box["max_lat"]:
            errors.setdefault("bbox", {})["max_lat"] = ["must be above min_lat"]
        if box["min_lon"] >= box["max_lon"]:
            errors.setdefault("bbox", {})["max_lon"] = [
                "must be east of min_lon (a box across the antimeridian is not supported)"]
        centre = data["centre"]
        if centre is not None and "bbox" not in errors and not (
                box["min_lat"] <= centre["lat"] <= box["max_lat"]
                and box["min_lon"] <= centre["lon"] <= box["max_lon"]):
            errors["centre"] = ["must lie inside bbox"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def centre_of_box(self, data, **kwargs):
        if data["centre"] is None:
            box = data["bbox"]
            data["centre"] = {"lat": (box["min_lat"] + box["max_lat"]) / 2,
                              "lon": (box["min_lon"] + box["max_lon"]) / 2}
        return data


def default_interests() -> list[dict]:
    """Return the default vocabulary of ``data/interests.json``: slug, name, description."""
    entries = json.loads(DEFAULT_INTERESTS_FILE.read_text(encoding="utf-8"))
    return [{"slug": entry["slug"], "name": entry["name"],
             "description": entry["description"]} for entry in entries]


def city_settings(request: dict) -> dict:
    """Return what the catalog stores for the city: event fields plus moderation."""
    city = {key: request[key] for key in EVENT_FIELDS if key in request}
    city["moderation"] = request["moderation"]
    return city


def event_payload(city: dict) -> dict:
    return {key: city[key] for key in EVENT_FIELDS if key in city}

"""Validation of what the catalog stores: opportunities, organisations and members.

Checks that depend on the city (its area, time zone and interest vocabulary) need
the city's document, so the opportunity and organisation schemas take it when built::

    OpportunitySchema(city=city_document, interests={"media", ...}).load(record)

Errors are marshmallow's, keyed by field, with list positions for nested items
(``{"locations": {0: {"lat": [...]}}}``), so the gateway can name every bad field.
"""

from marshmallow import (
    Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema,
)

from services.catalog import sessions as session_rules
from services.catalog.importing.geo import (
    BBox, CoordinateStatus, ServiceArea, check_coordinates,
)
from services.catalog.sanitising import html_to_text, sanitise_html, text_to_html

FORMATS = ["in_person", "online", "hybrid"]
STATUSES = ["draft", "submitted", "published", "closed", "withdrawn"]
ORGANIZATION_KINDS = [
    "library", "park_district", "museum", "community_organization", "school",
    "employer", "university", "online_provider", "anchor",
]
MEMBER_ROLES = ["org_admin", "staff"]
TIME = validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="must be a time as HH:MM")
URL = validate.URL(schemes={"http", "https"}, error="must be an http or https URL")
LANGUAGE = validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$",
                           error="must be a BCP 47 language tag such as 'en' or 'es-MX'")
PHONE = validate.Regexp(r"^\+?[0-9 ().-]{7,40}$", error="must be a phone number")
LOCAL_DATETIME = session_rules.LOCAL_FORMAT

MAX_TEXT_CHARS = 10_000
MAX_HTML_INPUT_CHARS = 20_000
# Grades are numbered as in US schools, with pre-kindergarten -1 and kindergarten 0.
MIN_GRADE, MAX_GRADE = -1, 12


def _text(max_chars: int, required=False, **options):
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=max_chars),
                             **options)
    return fields.String(load_default=None, allow_none=True,
                         validate=validate.Length(max=max_chars), **options)


def _text_list(item_chars: int, max_items: int):
    return fields.List(fields.String(validate=validate.Length(min=1, max=item_chars)),
                       load_default=list, validate=validate.Length(max=max_items))


def area_of(city: dict) -> ServiceArea:
    """Return the city's bounding box plus its service-area margin."""
    return ServiceArea(BBox(**city["bbox"]), float(city.get("service_area_margin_km", 50)))


def location_errors(location: dict, area: ServiceArea, city_name: str) -> dict:
    """Return field errors for one location's coordinates, relative to the city."""
    check = check_coordinates(repr(location["lat"]), repr(location["lon"]), area)
    if check.status is CoordinateStatus.OK:
        return {}
    if check.status is CoordinateStatus.SWAPPED:
        return {"lat": [f"({location['lat']}, {location['lon']}) lies outside "
                        f"{city_name} but the swapped pair lies inside: latitude and "
                        "longitude look swapped"]}
    if check.status is CoordinateStatus.OUTSIDE:
        return {"lat": [f"({location['lat']}, {location['lon']}) is {check.detail}"]}
    return {"lat": [f"({location['lat']}, {location['lon']}) is invalid: {check.detail}"]}


class LocationSchema(Schema):
    name = _text(200)
    address = _text(300)
    postal_code = _text(20)
    lat = fields.Float(required=True, allow_nan=False)
    lon = fields.Float(required=True, allow_nan=False)
    site_type = _text(60)
    status = _text(60)


class ProviderSchema(Schema):
    name = _text(200, required=True)
    source_id = _text(100)


class CostSchema(Schema):
    free = fields.Boolean(load_default=None, allow_none=True)
    amount = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                          validate=validate.Range(0, 100_000))
    currency = fields.String(load_default="USD", validate=validate.Regexp(
        r"^[A-Z]{3}$", error="must be an ISO 4217 code such as 'USD'"))
    label = _text(100)

    @validates_schema
    def check_free(self, data, **kwargs):
        if data.get("free") and data.get("amount"):
            raise ValidationError("must be empty or 0 when free is true", "amount")


class SessionSchema(Schema):
    start = fields.NaiveDateTime(format=LOCAL_DATETIME, required=True)
    end = fields.NaiveDateTime(format=LOCAL_DATETIME, required=True)
    rrule = _text(500)


class RegistrationWindowSchema(Schema):
    opens = fields.NaiveDateTime(format=LOCAL_DATETIME, load_default=None, allow_none=True)
    closes = fields.NaiveDateTime(format=LOCAL_DATETIME, load_default=None,
                                  allow_none=True)

    @validates_schema
    def check_order(self, data, **kwargs):
        opens, closes = data.get("opens"), data.get("closes")
        if opens and closes and closes <= opens:
            raise ValidationError(f"must be after opens ({opens:{LOCAL_DATETIME}})",
                                  "closes")


class BadgeSchema(Schema):
    name = _text(200, required=True)
    description = _text(2000)
    criteria = _text(2000)
    image_url = fields.String(load_default=None, allow_none=True, validate=URL)


class ContactSchema(Schema):
    name = _text(200)
    email = fields.Email(load_default=None, allow_none=True,
                         validate=validate.Length(max=254))
    phone = fields.String(load_default=None, allow_none=True, validate=PHONE)


class CitySchemaBase(Schema):
    """A schema whose checks need the city's document and interest vocabulary."""

    def __init__(self, city: dict, interests=(), **kwargs):
        super().__init__(**kwargs)
        self.city = city
        self.vocabulary = frozenset(interests)
        self.area = area_of(city)
        self.zone = session_rules.time_zone(city["time_zone"])

    def _check_locations(self, locations: list[dict], errors: dict,
                         require_address: bool) -> None:
        found = {}
        for position, location in enumerate(locations or []):
            if "lat" not in location or "lon" not in location:
                continue  # marshmallow already reported the field
            problems = location_errors(location, self.area, self.city["name"])
            if require_address and not location.get("address"):
                problems["address"] = ["is required: give the street address"]
            if problems:
                found[position] = problems
        if found:
            errors["locations"] = found


class OpportunitySchema(CitySchemaBase):
    """An opportunity's content, as a partner writes it or an import supplies it.

    ``description`` is read as HTML and sanitised, or as plain text when the schema
    is built with ``description_format="text"`` (imports). Either way the loaded
    document has ``description_html`` (safe HTML) and ``description`` (its text).
    """

    title = _text(200, required=True)
    description = fields.String(load_default="",
                                validate=validate.Length(max=MAX_HTML_INPUT_CHARS))
    provider = fields.Nested(ProviderSchema, required=True)
    interests = fields.List(fields.String(validate=validate.Length(max=60)),
                            load_default=list, validate=validate.Length(max=20))
    interests_derived = fields.Boolean(load_default=False)
    tags = _text_list(60, 30)
    skills = _text_list(100, 30)
    format = fields.String(required=True, validate=validate.OneOf(FORMATS))
    locations = fields.List(fields.Nested(LocationSchema), load_default=list,
                            validate=validate.Length(max=50))
    min_age = fields.Integer(load_default=None, allow_none=True,
                             validate=validate.Range(0, 120))
    max_age = fields.Integer(load_default=None, allow_none=True,
                             validate=validate.Range(0, 120))
    min_grade = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(MIN_GRADE, MAX_GRADE))
    max_grade = fields.Integer(load_default=None, allow_none=True,
                               validate=validate.Range(MIN_GRADE, MAX_GRADE))
    sessions = fields.List(fields.Nested(SessionSchema), load_default=list,
                           validate=validate.Length(max=20))
    start_date = fields.Date(load_default=None, allow_none=True)
    end_date = fields.Date(load_default=None, allow_none=True)
    start_time = fields.String(load_default=None, allow_none=True, validate=TIME)
    end_time = fields.String(load_default=None, allow_none=True, validate=TIME)
    capacity = fields.Integer(load_default=None, allow_none=True,
                              validate=validate.Range(0, 100_000))
    cost = fields.Nested(CostSchema, load_default=dict)
    registration = fields.Nested(RegistrationWindowSchema, load_default=None,
                                 allow_none=True)
    registration_url = fields.String(load_default=None, allow_none=True, validate=URL)
    url = fields.String(load_default=None, allow_none=True, validate=URL)
    languages = fields.List(fields.String(validate=LANGUAGE), load_default=list,
                            validate=validate.Length(max=10))
    accessibility_notes = _text(2000)
    prerequisite_badges = _text_list(100, 20)
    badge = fields.Nested(BadgeSchema, load_default=None, allow_none=True)
    contact = fields.Nested(ContactSchema, load_default=None, allow_none=True)

    def __init__(self, city: dict, interests=(), description_format="html",
                 require_addresses=True, **kwargs):
        super().__init__(city, interests, **kwargs)
        self.description_format = description_format
        self.require_addresses = require_addresses

    @pre_load
    def normalise_lists(self, data, **kwargs):
        """Strip list items and drop repeats (case-insensitively for tags)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name in ("tags", "skills", "interests", "prerequisite_badges", "languages"):
            if isinstance(data.get(name), list):
                data[name] = _unique([item.strip() if isinstance(item, str) else item
                                      for item in data[name]], fold=name == "tags")
        return data

    @validates_schema(skip_on_field_errors=False)
    def check_content(self, data, **kwargs):
        errors: dict = {}
        self._check_ranges(data, errors)
        self._check_interests(data.get("interests") or [], errors)
        self._check_places(data, errors)
        self._check_description(data.get("description") or "", errors)
        if errors:
            raise ValidationError(errors)

    def _check_ranges(self, data: dict, errors: dict) -> None:
        for low_name, high_name in (("min_age", "max_age"), ("min_grade", "max_grade"),
                                    ("start_date", "end_date")):
            low, high = data.get(low_name), data.get(high_name)
            if low is not None and high is not None and low > high:
                errors[high_name] = [f"must not be before {low_name} ({low})"
                                     if low_name == "start_date" else
                                     f"must not be below {low_name} ({low})"]
        self._check_sessions(data, errors)

    def _check_sessions(self, data: dict, errors: dict) -> None:
        sessions = data.get("sessions") or []
        # A session missing start or end was already reported by its field.
        complete = [item for item in sessions if "start" in item and "end" in item]
        found = {}
        for position, session in enumerate(sessions):
            if session not in complete:
                continue
            try:
                session_rules.expand(session, self.zone)
            except session_rules.SessionError as exc:
                found[position] = {exc.field: [exc.message]}
        if found:
            errors["sessions"] = found
        elif sessions and len(complete) == len(sessions) and \
                (data.get("registration") or {}).get("closes"):
            self._check_registration_closes(data, errors)

    def _check_registration_closes(self, data: dict, errors: dict) -> None:
        last_end = session_rules.last_end(data["sessions"], self.zone)
        if data["registration"]["closes"] > last_end:
            errors["registration"] = {"closes": [
                f"must not be after the last session ends ({last_end:{LOCAL_DATETIME}})"]}

    def _check_interests(self, interests: list[str], errors: dict) -> None:
        unknown = {position: [f"{slug!r} is not in {self.city['name']}'s interest "
                              "vocabulary"]
                   for position, slug in enumerate(interests)
                   if slug not in self.vocabulary}
        if unknown:
            errors["interests"] = unknown

    def _check_places(self, data: dict, errors: dict) -> None:
        locations = data.get("locations") or []
        if data.get("format") == "online" and locations:
            errors["locations"] = ["must be empty for an online opportunity; use format "
                                   "hybrid when it also meets in person"]
            return
        self._check_locations(locations, errors, self.require_addresses)

    def _check_description(self, description: str, errors: dict) -> None:
        if self.description_format == "html":
            text = html_to_text(sanitise_html(description))
        else:
            text = description
        if len(text) > MAX_TEXT_CHARS:
            errors["description"] = [f"must be at most {MAX_TEXT_CHARS} characters of "
                                     f"text; it has {len(text)}"]

    @post_load
    def derive_fields(self, data, **kwargs):
        """Sanitise the description and derive dates and times from the sessions."""
        description = data.pop("description") or ""
        if self.description_format == "html":
            data["description_html"] = sanitise_html(description)
        else:
            data["description_html"] = text_to_html(description)
        data["description"] = html_to_text(data["description_html"]) or None
        data["schedule"] = None
        if data["sessions"]:
            data.update(session_rules.schedule_summary(data["sessions"], self.zone))
            data["sessions"] = [_session_text(session) for session in data["sessions"]]
        for name in ("start_date", "end_date"):
            if data.get(name) is not None and not isinstance(data[name], str):
                data[name] = data[name].isoformat()
        if data.get("registration"):
            data["registration"] = {
                key: value.strftime(LOCAL_DATETIME) if value else None
                for key, value in data["registration"].items()}
        return data


def _session_text(session: dict) -> dict:
    return {"start": session["start"].strftime(LOCAL_DATETIME),
            "end": session["end"].strftime(LOCAL_DATETIME),
            "rrule": session.get("rrule")}


def _unique(items: list, fold: bool) -> list:
    seen, kept = set(), []
    for item in items:
        key = item.casefold() if fold and isinstance(item, str) else item
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


class ImportedOpportunitySchema(OpportunitySchema):
    """An opportunity from an import source, with its identity and status.

    Descriptions arrive as plain text (the importer removes markup), and a location
    may lack an address, as in the Chicago source.
    """

    source = _text(100, required=True)
    source_id = _text(100, required=True)
    city = fields.String(required=True)
    status = fields.String(load_default="draft", validate=validate.OneOf(STATUSES))
    review_notes = fields.List(fields.String(validate=validate.Length(max=1000)),
                               load_default=list)

    def __init__(self, city: dict, interests=(), **kwargs):
        super().__init__(city, interests, description_format="text",
                         require_addresses=False, **kwargs)

    @validates_schema
    def check_publishable(self, data, **kwargs):
        check_city_slug(data, self.city)
        if data.get("status") == "published":
            problems = publish_problems(data)
            if problems:
                raise ValidationError(problems)


class DraftSchema(OpportunitySchema):
    """A partner's new opportunity: content plus the organisation that offers it."""

    organization_id = _text(40, required=True)

    def __init__(self, city: dict, interests=(), **kwargs):
        super().__init__(city, interests, exclude=("provider", "interests_derived"),
                         **kwargs)


def check_city_slug(data: dict, city: dict) -> None:
    """Reject a record that names another city than the one of the call."""
    if data.get("city") != city["slug"]:
        raise ValidationError(f"must be {city['slug']!r}, the city of this call", "city")


def publish_problems(document: dict) -> dict:
    """Return field errors that stop an opportunity from being submitted or published."""
    if document.get("format") in ("in_person", "hybrid") and not document.get("locations"):
        return {"locations": [f"an {document['format'].replace('_', '-')} opportunity "
                              "needs a location before it can be published"]}
    return {}


class OrganizationSchema(CitySchemaBase):
    """A partner organisation's profile with the sites where it runs programmes."""

    name = _text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANIZATION_KINDS))
    website = fields.String(load_default=None, allow_none=True, validate=URL)
    description = _text(2000)
    locations = fields.List(fields.Nested(LocationSchema), load_default=list,
                            validate=validate.Length(max=500))

    def __init__(self, city: dict, require_addresses=True, **kwargs):
        super().__init__(city, (), **kwargs)
        self.require_addresses = require_addresses

    @validates_schema
    def check_locations(self, data, **kwargs):
        errors: dict = {}
        self._check_locations(data.get("locations") or [], errors, self.require_addresses)
        if errors:
            raise ValidationError(errors)


class ImportedOrganizationSchema(OrganizationSchema):
    """An organisation from an import source; its sites may lack an address."""

    source = _text(100, required=True)
    source_id = _text(100, required=True)
    city = fields.String(required=True)

    def __init__(self, city: dict, interests=(), **kwargs):
        super().__init__(city, require_addresses=False, **kwargs)

    @validates_schema
    def check_city(self, data, **kwargs):
        check_city_slug(data, self.city)


PROFILE_FIELDS = ("name", "kind", "website", "description", "locations")


class OrganizationUpdateSchema(OrganizationSchema):
    """Changes to a partner's profile: any of ``name``, ``kind``, ``website``,
    ``description`` and ``locations``. Only the fields sent are loaded and checked.

    A new ``locations`` list replaces the old one, and each location needs an
    address and coordinates inside the city's service area.
    """

    def __init__(self, city: dict, **kwargs):
        # Naming the fields keeps nested locations whole: ``partial=True`` would
        # also make each location's lat and lon optional.
        super().__init__(city, partial=PROFILE_FIELDS, **kwargs)

    @validates_schema
    def check_kind(self, data, **kwargs):
        if data.get("kind") == "anchor":
            raise ValidationError("must not be 'anchor': a city has one anchor "
                                  "organisation, created when it is onboarded", "kind")


class PersonSchema(Schema):
    """A partner staff member or city administrator: an adult's work contact."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    name = _text(200, required=True)

    @post_load
    def fold_email(self, data, **kwargs):
        data["email"] = data["email"].strip().lower()
        return data


class NewOrganizationSchema(OrganizationSchema):
    """An organisation the anchor invites, with the contact who becomes its admin."""

    admin = fields.Nested(PersonSchema, required=True)


class MemberInvitationSchema(PersonSchema):
    role = fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class ImportRequestSchema(Schema):
    kind = fields.String(required=True,
                         validate=validate.OneOf(["opportunities", "organizations"]))
    records = fields.List(fields.Dict(), required=True,
                          validate=validate.Length(min=1, max=1000))


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class ListQuerySchema(Schema):
    """Filters and paging of the catalog's opportunity list."""

    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    organization_id = _text(40)
    interest = _text(60)
    format = fields.String(load_default=None, validate=validate.OneOf(FORMATS))
    after = _text(40)
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 1000))

"""Parsers for single fields of a mapped row.

A parser returns the clean value. It records a warning on the row when it had
to repair or drop the value, and raises ``RowRejected`` when the row must go.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from .context import MappedRow, RowRejected
from .geo import CoordinateCheck, CoordinateStatus, ServiceArea, check_coordinates
from .text import clean_line, clean_url

MAX_AGE = 120
TRUE_VALUES = frozenset({"1", "true", "t", "yes", "y"})
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d")
TIME_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})(?::\d{2})?$")
ZIP_PATTERN = re.compile(r"^(\d{5})(?:-\d{4})?$")
YEAR_PATTERN = re.compile(r"^(\d{4})-")
# "2803 Taylor Street Taylor Street": a geocoder joined number, route and route.
REPEATED_STREET = re.compile(r"^(?P<number>\d[\w-]*) (?P<street>.+) (?P=street)$")


def is_true(value: str) -> bool:
    return value.strip().lower() in TRUE_VALUES


def clean_text_field(row: MappedRow, name: str) -> str:
    """Return a one-line field with broken characters repaired, warning if so."""
    value = row.get(name)
    cleaned, repairs = clean_line(value)
    row.warn_repairs(name, value, repairs)
    return cleaned


def check_test_record(
    row: MappedRow, title: str, provider: str, provider_field: str = "provider_name"
) -> None:
    """Reject rows whose title or provider matches a test-record pattern."""
    rules = row.mapping.rule("test_records") or {}
    checks = (
        ("title", title, rules.get("title_patterns", [])),
        (provider_field, provider, rules.get("provider_patterns", [])),
    )
    for field_name, value, patterns in checks:
        for pattern in patterns:
            if re.search(pattern, value, re.IGNORECASE):
                row.reject(
                    field_name,
                    value,
                    "test_record",
                    f"{row.column(field_name)} {value!r} matches the test-record "
                    f"pattern {pattern!r}, so the row is platform test data.",
                )


def is_online(row: MappedRow, title: str) -> bool:
    """Apply the mapping's ``online`` rule: a field value or title patterns."""
    rule = row.mapping.rule("online") or {}
    if "field" in rule and row.get(rule["field"]).strip() == rule["equals"]:
        return True
    return any(
        re.search(pattern, title, re.IGNORECASE)
        for pattern in rule.get("title_patterns", [])
    )


def parse_ages(row: MappedRow) -> tuple[int | None, int | None]:
    """Parse min/max age: 0 to 120 is kept as given, min above max is rejected."""
    ages = []
    for name in ("min_age", "max_age"):
        text = row.get(name).strip()
        if not text:
            ages.append(None)
            continue
        try:
            age = int(text)
        except ValueError:
            row.reject(
                name,
                text,
                "invalid_age",
                f"{row.column(name)} {text!r} is not a whole number.",
            )
        if not 0 <= age <= MAX_AGE:
            row.reject(
                name,
                text,
                "invalid_age",
                f"{row.column(name)} {age} is outside 0 to {MAX_AGE}.",
            )
        ages.append(age)
    min_age, max_age = ages
    if min_age is not None and max_age is not None and min_age > max_age:
        row.reject(
            "min_age",
            f"{min_age}-{max_age}",
            "age_range_inverted",
            f"{row.column('min_age')} {min_age} is greater than "
            f"{row.column('max_age')} {max_age}.",
        )
    return min_age, max_age


def _parse_date_text(text: str) -> date:
    for date_format in DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format).date()
        except ValueError:
            continue
    raise ValueError(text)


def _record_year(row: MappedRow) -> int | None:
    """Return the latest year among the row's created/updated timestamps."""
    years = []
    for name in ("created_at", "updated_at"):
        match = YEAR_PATTERN.match(row.get(name).strip())
        if match:
            years.append(int(match.group(1)))
    return max(years) if years else None


def parse_dates(row: MappedRow) -> tuple[date | None, date | None]:
    """Parse start and end dates and reject unparseable or impossible ones.

    A start date more than ``max_years_after_record`` years after the year the
    record was last created or updated is taken as a typo (one Dallas row starts
    in 2028). End dates are not limited, because on-demand online programmes
    run for years.
    """
    dates = []
    for name in ("start_date", "end_date"):
        text = row.get(name).strip()
        if not text:
            dates.append(None)
            continue
        try:
            dates.append(_parse_date_text(text))
        except ValueError:
            row.reject(
                name,
                text,
                "invalid_date",
                f"{row.column(name)} {text!r} is not a date in YYYY-MM-DD form.",
            )
    start, end = dates

    limit = (row.mapping.rule("date_plausibility") or {}).get("max_years_after_record")
    record_year = _record_year(row)
    if limit is not None and record_year is not None and start is not None:
        if start.year > record_year + limit:
            row.reject(
                "start_date",
                start.isoformat(),
                "implausible_date",
                f"{row.column('start_date')} {start.isoformat()} is more than {limit} "
                f"years after the record was last saved ({record_year}).",
            )
    if start is not None and end is not None and end < start:
        row.reject(
            "end_date",
            f"{start.isoformat()}..{end.isoformat()}",
            "end_before_start",
            f"{row.column('end_date')} {end.isoformat()} is before "
            f"{row.column('start_date')} {start.isoformat()}.",
        )
    return start, end


def parse_time(row: MappedRow, name: str) -> str | None:
    """Return an HH:MM time, or None with a warning if the value is not a time."""
    text = row.get(name).strip()
    if not text:
        return None
    match = TIME_PATTERN.match(text)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    row.warn(
        name,
        text,
        "invalid_time",
        f"{row.column(name)} {text!r} is not a time; dropped.",
    )
    return None


def parse_capacity(row: MappedRow) -> int | None:
    """Parse capacity; 0 becomes None when ``capacity_zero_is_unknown`` is set."""
    text = row.get("capacity").strip()
    if not text:
        return None
    try:
        capacity = int(text)
    except ValueError:
        capacity = -1
    if capacity < 0:
        row.warn(
            "capacity",
            text,
            "invalid_capacity",
            f"{row.column('capacity')} {text!r} is not a whole number of at least 0; "
            "dropped.",
        )
        return None
    if capacity == 0 and row.mapping.rule("capacity_zero_is_unknown"):
        return None
    return capacity


def parse_cost(row: MappedRow) -> dict[str, Any]:
    """Translate a price code through the mapping's ``price_codes`` table."""
    text = row.get("price_code").strip()
    if not text:
        return {"free": None, "label": None}
    table = row.mapping.rule("price_codes") or {}
    entry = table.get(text)
    if entry is None:
        row.warn(
            "price_code",
            text,
            "unknown_price_code",
            f"{row.column('price_code')} {text!r} is not one of {sorted(table)}; "
            "cost left unknown.",
        )
        return {"free": None, "label": None}
    return {"free": entry["free"], "label": entry["label"]}


def parse_url(row: MappedRow, name: str) -> str | None:
    """Return an http(s) URL or None; warn when a value was dropped or repaired."""
    value = row.get(name)
    url, repairs = clean_url(value)
    row.warn_repairs(name, value, repairs)
    return url


def parse_postal_code(row: MappedRow) -> str | None:
    """Return a 5-digit ZIP code; ZIP+4 is cut, anything else dropped with a warning."""
    text = row.get("postal_code").strip()
    if not text:
        return None
    match = ZIP_PATTERN.match(text)
    if match:
        return match.group(1)
    if text.lower() not in (row.mapping.rule("placeholder_values") or []):
        row.warn(
            "postal_code",
            text,
            "invalid_postal_code",
            f"{row.column('postal_code')} {text!r} is not a 5-digit ZIP code; dropped.",
        )
    return None


def _clean_locality(row: MappedRow) -> str | None:
    text = " ".join(row.get("locality").split())
    if not text:
        return None
    fixes = row.mapping.rule("locality_fixes") or {}
    if text.lower() in fixes:
        return fixes[text.lower()]
    if text.isupper() or text.islower():
        return text.title()
    return text


def _clean_region(row: MappedRow) -> str | None:
    text = row.get("region").strip()
    if not text:
        return None
    fixes = row.mapping.rule("region_fixes") or {}
    if text.lower() in fixes:
        return fixes[text.lower()]
    return text.upper()


def parse_address(row: MappedRow) -> str | None:
    """Join street, city and state into one line, e.g. '1515 Young St, Dallas, TX'.

    City and state are normalised first (case, the mapping's fix tables). With
    no street the address is None, because a city alone locates nothing.
    """
    street = clean_text_field(row, "street")
    if not street:
        return None
    repeated = REPEATED_STREET.match(street)
    if repeated:
        row.warn(
            "street",
            street,
            "address_repeated_street",
            f"{row.column('street')} repeats the street name; the copy was removed.",
        )
        street = f"{repeated['number']} {repeated['street']}"
    parts = [street, _clean_locality(row), _clean_region(row)]
    return ", ".join(part for part in parts if part)


def parse_coordinates(row: MappedRow, area: ServiceArea) -> CoordinateCheck:
    return check_coordinates(row.get("latitude"), row.get("longitude"), area)


def reject_bad_coordinates(row: MappedRow, check: CoordinateCheck) -> None:
    """Reject a row whose coordinates are invalid, swapped or outside the area."""
    columns = row.column("latitude", "longitude")
    value = f"{row.get('latitude')}, {row.get('longitude')}"
    if check.status in (CoordinateStatus.INVALID, CoordinateStatus.SWAPPED):
        raise RowRejected(
            columns,
            value,
            "invalid_coordinates",
            f"{columns} ({value}): {check.detail}.",
        )
    if check.status is CoordinateStatus.OUTSIDE:
        raise RowRejected(
            columns,
            value,
            "outside_city_area",
            f"{columns} ({value}) is {check.detail}.",
        )


def build_location(row: MappedRow, check: CoordinateCheck) -> dict[str, Any]:
    """Return the location dict of an opportunity row with good coordinates."""
    name = clean_text_field(row, "location_name") or None
    return {
        "name": name,
        "address": parse_address(row),
        "postal_code": parse_postal_code(row),
        "lat": check.lat,
        "lon": check.lon,
    }

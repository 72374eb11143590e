"""Build organisation documents, one per operator, with their sites as locations."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from .context import MappedRow, RowRejected
from .fields import (
    build_location,
    check_test_record,
    clean_text_field,
    is_online,
    parse_coordinates,
    reject_bad_coordinates,
)
from .geo import CoordinateStatus, ServiceArea
from .mapping import SourceMapping
from .model import ImportResult, RowWarning
from .reading import SourceRow
from .text import clean_url

DEFAULT_KIND = "community_organization"


def slugify(text: str) -> str:
    """Return lowercase ASCII letters and digits joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class _Organization:
    """An organisation being collected, with one location per distinct site."""

    source_id: str
    name: str
    locations: dict[tuple, dict[str, Any]] = field(default_factory=dict)
    websites: list[str | None] = field(default_factory=list)
    warnings: list[RowWarning] = field(default_factory=list)


class OrganizationCollector:
    """Fold site rows into organisations.

    The first row of an organisation creates its document and every later row
    counts as merged. A later row also replaces an earlier location with the
    same key (``location_key``: ``coordinates`` or ``name_and_coordinates``).
    """

    def __init__(self, mapping: SourceMapping, area: ServiceArea):
        self.mapping = mapping
        self.area = area
        self.organizations: dict[str, _Organization] = {}
        self.merged_rows = 0

    def add(self, row: MappedRow) -> None:
        """Fold one row in; raise RowRejected to reject it."""
        row.check_field_count()
        name = self._name(row)
        row.source_id = row.get("organization_source_id").strip() or slugify(name)
        title = clean_text_field(row, "title")
        check_test_record(row, title, name, provider_field="organization_name")
        location = self._location(row, title)
        website, repairs = clean_url(row.get("website"))
        row.warn_repairs("website", row.get("website"), repairs)

        organization = self.organizations.get(row.source_id)
        if organization is None:
            organization = _Organization(row.source_id, name)
            self.organizations[row.source_id] = organization
        else:
            self.merged_rows += 1
            organization.name = name
        organization.websites.append(website)
        if location is not None:
            organization.locations[self._location_key(location)] = location
        organization.warnings += row.warnings

    def _name(self, row: MappedRow) -> str:
        name = clean_text_field(row, "organization_name")
        if not name:
            row.reject(
                "organization_name",
                "",
                "missing_organization",
                f"{row.column('organization_name')} is empty.",
            )
        return name

    def _location(self, row: MappedRow, title: str) -> dict[str, Any] | None:
        """Return the row's site, None if it has none, or reject the row."""
        if is_online(row, title):
            return None
        check = parse_coordinates(row, self.area)
        if check.status in (CoordinateStatus.MISSING, CoordinateStatus.PARTIAL):
            if self.mapping.rule("rows_without_coordinates") == "skip_location":
                return None
            row.reject(
                ("latitude", "longitude"),
                f"{row.get('latitude')}, {row.get('longitude')}",
                "missing_coordinates",
                f"{row.column('latitude', 'longitude')} are empty, and a site "
                "needs coordinates.",
            )
        if check.status is not CoordinateStatus.OK:
            if self.mapping.rule("bad_coordinates") != "skip_location":
                reject_bad_coordinates(row, check)
            row.warn(
                ("latitude", "longitude"),
                f"{row.get('latitude')}, {row.get('longitude')}",
                "location_dropped",
                f"The place was not added because its coordinates are unusable "
                f"({check.detail}); the row still links its organisation.",
            )
            return None
        location = build_location(row, check)
        location["site_type"] = self._lookup(row, "site_type", "site_types")
        location["status"] = self._lookup(row, "site_status", "site_statuses")
        return location

    def _lookup(self, row: MappedRow, name: str, table_rule: str) -> str | None:
        """Translate a value through a mapping table, else snake_case it."""
        value = " ".join(row.get(name).split())
        if not value:
            return None
        table = self.mapping.rule(table_rule) or {}
        if value in table:
            return table[value]
        return slugify(value).replace("-", "_")

    def _location_key(self, location: dict[str, Any]) -> tuple:
        coordinates = (round(location["lat"], 6), round(location["lon"], 6))
        if self.mapping.rule("location_key") == "coordinates":
            return coordinates
        return (location["name"], *coordinates)

    def finish(self, result: ImportResult) -> None:
        """Move the finished documents, warnings and merge count into ``result``."""
        kinds = self.mapping.rule("organization_kinds") or {}
        for organization in self.organizations.values():
            websites = set(organization.websites)
            website = websites.pop() if len(websites) == 1 else None
            result.documents.append(
                {
                    "source": self.mapping.source,
                    "source_id": organization.source_id,
                    "city": self.mapping.city,
                    "name": organization.name,
                    "kind": kinds.get(organization.name, DEFAULT_KIND),
                    "website": website,
                    "locations": list(organization.locations.values()),
                }
            )
            result.warnings += organization.warnings
        result.merged_rows += self.merged_rows


def import_organizations(
    mapping: SourceMapping,
    rows: Iterable[SourceRow],
    area: ServiceArea,
    result: ImportResult,
) -> None:
    """Build organisation documents from ``rows`` into ``result``.

    The website is kept only when every row of the organisation gives the same
    one, since per-site pages are not the organisation's site.
    """
    collector = OrganizationCollector(mapping, area)
    for source_row in rows:
        result.rows_read += 1
        row = MappedRow(source_row, mapping)
        try:
            collector.add(row)
        except RowRejected as error:
            result.rejected.append(row.rejection(error))
    collector.finish(result)

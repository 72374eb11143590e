"""Build opportunity documents from the rows of one programme source."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Iterable

from .context import MappedRow, RowRejected
from .fields import (
    build_location,
    check_test_record,
    clean_text_field,
    is_online,
    is_true,
    parse_ages,
    parse_capacity,
    parse_coordinates,
    parse_cost,
    parse_dates,
    parse_time,
    parse_url,
    reject_bad_coordinates,
)
from .geo import CoordinateStatus, ServiceArea
from .interests import InterestMatcher
from .mapping import SourceMapping
from .model import ImportResult, RowWarning
from .reading import SourceRow
from .text import clean_description, clean_line, truncate

MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 10_000
SOURCE_ID_HEX_CHARS = 16

NO_COORDINATES_NOTE = (
    "The source gives no usable coordinates and the programme is not online, "
    "so the address needs geocoding and review before publishing."
)


def stable_id(values: Iterable[str]) -> str:
    """Return the first 16 hex digits of the SHA-1 of the values joined by U+001F."""
    joined = "\x1f".join(values)
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()[:SOURCE_ID_HEX_CHARS]


def row_source_id(row: MappedRow) -> str:
    """Return the row's id column, or a stable hash of its ``group_by`` columns."""
    group_by = row.mapping.rule("group_by")
    if group_by:
        return stable_id(row.raw(column) for column in group_by)
    value = row.get("source_id").strip()
    if not value:
        row.reject(
            "source_id", "", "missing_source_id", f"{row.column('source_id')} is empty."
        )
    return value


class OpportunityBuilder:
    """Turn one mapped row into an opportunity document, or reject it."""

    def __init__(
        self, mapping: SourceMapping, area: ServiceArea, interests: InterestMatcher
    ):
        self.mapping = mapping
        self.area = area
        self.interests = interests

    def build(self, row: MappedRow) -> dict[str, Any]:
        """Return the document for ``row``; raise RowRejected to reject it."""
        provider = self._provider_name(row)
        title = self._title(row, provider)
        check_test_record(row, title, provider)
        if not title:
            row.reject("title", "", "missing_title", f"{row.column('title')} is empty.")
        if not provider:
            row.reject(
                "provider_name",
                "",
                "missing_provider",
                f"{row.column('provider_name')} is empty.",
            )
        description = self._description(row)
        online = is_online(row, title)
        locations, review_notes = self._locations(row, online)
        min_age, max_age = parse_ages(row)
        start_date, end_date = parse_dates(row)

        return {
            "source": self.mapping.source,
            "source_id": row.source_id,
            "city": self.mapping.city,
            "title": title,
            "description": description,
            "provider": {
                "name": provider,
                "source_id": row.get("provider_source_id").strip() or None,
            },
            "interests": self._interests(row, title, description),
            "interests_derived": self.interests.derives,
            "tags": self._tags(row),
            "format": (
                "online"
                if online
                else self.mapping.constants.get("format", "in_person")
            ),
            "locations": locations,
            "min_age": min_age,
            "max_age": max_age,
            "start_date": start_date.isoformat() if start_date else None,
            "end_date": end_date.isoformat() if end_date else None,
            "start_time": parse_time(row, "start_time"),
            "end_time": parse_time(row, "end_time"),
            "capacity": parse_capacity(row),
            "cost": parse_cost(row),
            "registration_url": parse_url(row, "registration_url"),
            "url": self._url(row),
            "status": self._status(row, review_notes),
            "review_notes": review_notes,
        }

    def _provider_name(self, row: MappedRow) -> str:
        name = clean_text_field(row, "provider_name")
        aliases = self.mapping.rule("provider_aliases") or {}
        return aliases.get(name, name)

    def _title(self, row: MappedRow, provider: str) -> str:
        title = clean_text_field(row, "title")
        template = self.mapping.rule("title_fallback")
        if not title and template and provider:
            street, _ = clean_line(row.get("street"))
            title = template.format(provider_name=provider, street=street)
            row.warn(
                "title",
                "",
                "title_generated",
                f"{row.column('title')} is empty; the title was built as {template!r}.",
            )
        title, cut = truncate(title, MAX_TITLE_CHARS)
        if cut:
            row.warn(
                "title",
                title,
                "title_truncated",
                f"Title was longer than {MAX_TITLE_CHARS} characters and was cut.",
            )
        return title

    def _description(self, row: MappedRow) -> str | None:
        value = row.get("description")
        text, repairs = clean_description(value)
        row.warn_repairs("description", value, repairs)
        note = row.get("registration_note")
        if not text and note.strip():
            note_text, repairs = clean_line(note)
            row.warn_repairs("registration_note", note, repairs)
            text = f"Registration: {note_text}"
        text, cut = truncate(text, MAX_DESCRIPTION_CHARS)
        if cut:
            row.warn(
                "description",
                value,
                "description_truncated",
                f"Description was longer than {MAX_DESCRIPTION_CHARS} characters "
                "and was cut.",
            )
        return text or None

    def _locations(
        self, row: MappedRow, online: bool
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Return the locations and review notes, rejecting bad coordinates.

        An online programme has no location, because the catalog keeps online
        opportunities out of distance searches. Its coordinates, usable or not,
        are dropped with a warning and never reject the row.
        """
        check = parse_coordinates(row, self.area)
        if online:
            if check.status is not CoordinateStatus.MISSING:
                detail = (
                    "an online opportunity has no location"
                    if check.status is CoordinateStatus.OK
                    else check.detail or check.status.value
                )
                row.warn(
                    ("latitude", "longitude"),
                    f"{row.get('latitude')}, {row.get('longitude')}",
                    "online_coordinates_dropped",
                    f"Online programme's coordinates were dropped ({detail}).",
                )
            return [], []
        if check.status is CoordinateStatus.OK:
            return [build_location(row, check)], []
        reject_bad_coordinates(row, check)
        return [], [NO_COORDINATES_NOTE]

    def _interests(
        self, row: MappedRow, title: str, description: str | None
    ) -> list[str]:
        if self.interests.derives:
            return self.interests.derive(title, description or "")
        category = row.get("category")
        if not category.strip():
            return []
        slug = self.interests.for_category(category)
        if slug is None:
            row.warn(
                "category",
                category,
                "unknown_category",
                f"{row.column('category')} {category!r} is not in the mapping's "
                "category_interests table; no interest was set.",
            )
            return []
        return [slug]

    def _tags(self, row: MappedRow) -> list[str]:
        tags: list[str] = []
        for column in self.mapping.rule("tag_columns") or []:
            value, _ = clean_line(row.raw(column))
            if value and value not in tags:
                tags.append(value)
        for column, tag in (self.mapping.rule("flag_tags") or {}).items():
            if is_true(row.raw(column)) and tag not in tags:
                tags.append(tag)
        return tags

    def _url(self, row: MappedRow) -> str | None:
        url = parse_url(row, "url")
        if url is None:
            url = parse_url(row, "url_fallback")
        return url

    def _status(self, row: MappedRow, review_notes: list[str]) -> str:
        hidden = self.mapping.rule("hidden")
        if hidden and row.get("hidden").strip() == str(hidden["equals"]):
            review_notes.insert(0, hidden["note"])
            return "withdrawn"
        if review_notes:
            return "submitted"
        return "published"


def _age_range_order(age_range: tuple[int | None, int | None]) -> tuple[int, int]:
    low, high = age_range
    return (-1 if low is None else low, -1 if high is None else high)


@dataclass
class _Entry:
    """A document being collected, with the rows that fed it."""

    document: dict[str, Any]
    first: MappedRow
    warnings: list[RowWarning]
    age_ranges: list[tuple[int | None, int | None]] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)


class DocumentCollector:
    """Combine documents that share a ``source_id``.

    With ``duplicates: replace`` (the default) a later row replaces an earlier
    one. ``duplicates: merge`` is for rows of one programme, one per category.
    Their interests and tags are united, the age range spans all rows and the
    longest description is kept. Differing ages or descriptions raise a warning.
    """

    def __init__(self, mapping: SourceMapping, interests: InterestMatcher):
        self.mode = mapping.rule("duplicates", "replace")
        self.interests = interests
        self.entries: dict[str, _Entry] = {}
        self.merged_rows = 0

    def add(self, document: dict[str, Any], row: MappedRow) -> None:
        key = document["source_id"]
        entry = self.entries.get(key)
        if entry is None:
            self.entries[key] = self._entry(document, row)
            return
        self.merged_rows += 1
        if self.mode == "merge":
            self._merge(entry, document, row)
            return
        row.warn(
            "source_id",
            document["source_id"],
            "duplicate_replaced",
            f"An earlier row ({entry.first.row.file} line {entry.first.row.line}) "
            "has the same source_id; this later row replaces it.",
        )
        self.entries[key] = self._entry(document, row)

    def _entry(self, document: dict[str, Any], row: MappedRow) -> _Entry:
        return _Entry(
            document,
            row,
            list(row.warnings),
            [(document["min_age"], document["max_age"])],
            [document["description"] or ""],
        )

    def _merge(self, entry: _Entry, document: dict[str, Any], row: MappedRow) -> None:
        target = entry.document
        target["interests"] = self.interests.sort(
            target["interests"] + document["interests"]
        )
        target["tags"] += [tag for tag in document["tags"] if tag not in target["tags"]]
        entry.age_ranges.append((document["min_age"], document["max_age"]))
        entry.descriptions.append(document["description"] or "")
        entry.warnings += row.warnings

    def finish(self, result: ImportResult) -> None:
        """Settle merged fields and move documents and warnings into ``result``."""
        for entry in self.entries.values():
            self._settle_ages(entry)
            self._settle_description(entry)
            result.documents.append(entry.document)
            result.warnings += entry.warnings
        result.merged_rows += self.merged_rows

    def _settle_ages(self, entry: _Entry) -> None:
        ranges = sorted(set(entry.age_ranges), key=_age_range_order)
        if len(ranges) < 2:
            return
        mins = [low for low, _ in ranges if low is not None]
        maxes = [high for _, high in ranges if high is not None]
        entry.document["min_age"] = min(mins) if mins else None
        entry.document["max_age"] = max(maxes) if maxes else None
        listed = ", ".join(f"{low}-{high}" for low, high in ranges)
        warning = entry.first.make_warning(
            ("min_age", "max_age"),
            listed,
            "age_ranges_merged",
            f"Rows of this programme give different age ranges ({listed}); "
            "the document spans all of them.",
        )
        entry.warnings.append(warning)

    def _settle_description(self, entry: _Entry) -> None:
        variants = set(entry.descriptions)
        if len(variants) < 2:
            return
        longest = max(entry.descriptions, key=len)
        entry.document["description"] = longest or None
        warning = entry.first.make_warning(
            "description",
            longest,
            "description_variants_merged",
            f"Rows of this programme give {len(variants)} different descriptions; "
            "the longest was kept.",
        )
        entry.warnings.append(warning)


def import_opportunities(
    mapping: SourceMapping,
    rows: Iterable[SourceRow],
    area: ServiceArea,
    interests: InterestMatcher,
    result: ImportResult,
) -> None:
    """Build opportunity documents from ``rows`` into ``result``."""
    builder = OpportunityBuilder(mapping, area, interests)
    collector = DocumentCollector(mapping, interests)
    for source_row in rows:
        result.rows_read += 1
        row = MappedRow(source_row, mapping)
        try:
            row.check_field_count()
            row.source_id = row_source_id(row)
            document = builder.build(row)
        except RowRejected as error:
            result.rejected.append(row.rejection(error))
            continue
        collector.add(document, row)
    collector.finish(result)

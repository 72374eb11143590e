"""Mapping files: which source columns feed which document fields, and the rules.

The format is described in ``data/mappings/README.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .exceptions import MappingError

KINDS = ("opportunities", "organizations")
FORMATS = ("csv", "json")

# Logical fields a mapping may fill from a column (``columns``) or a constant
# (``constants``). Anything else is a typo and is rejected when loading.
OPPORTUNITY_FIELDS = frozenset(
    {
        "source_id",
        "title",
        "description",
        "provider_name",
        "provider_source_id",
        "meeting_type",
        "category",
        "min_age",
        "max_age",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
        "capacity",
        "price_code",
        "registration_url",
        "registration_note",
        "url",
        "url_fallback",
        "location_name",
        "street",
        "locality",
        "region",
        "postal_code",
        "latitude",
        "longitude",
        "hidden",
        "created_at",
        "updated_at",
        "format",
    }
)
ORGANIZATION_FIELDS = frozenset(
    {
        "organization_name",
        "organization_source_id",
        "title",
        "meeting_type",
        "location_name",
        "street",
        "locality",
        "region",
        "postal_code",
        "latitude",
        "longitude",
        "site_type",
        "site_status",
        "website",
    }
)
FIELDS_BY_KIND = {
    "opportunities": OPPORTUNITY_FIELDS,
    "organizations": ORGANIZATION_FIELDS,
}

ORGANIZATION_KINDS = frozenset(
    {
        "library",
        "park_district",
        "museum",
        "community_organization",
        "school",
        "employer",
        "university",
        "online_provider",
        "anchor",
    }
)


@dataclass(frozen=True)
class SourceMapping:
    """One parsed mapping file."""

    path: Path
    source: str
    city: str
    kind: str
    format: str
    files: tuple[str, ...]
    columns: dict[str, str]
    constants: dict[str, Any]
    rules: dict[str, Any]

    def rule(self, name: str, default: Any = None) -> Any:
        return self.rules.get(name, default)


def _require(document: dict, key: str, path: Path) -> Any:
    if key not in document or document[key] in (None, "", []):
        raise MappingError(f"{path}: required key {key!r} is missing or empty")
    return document[key]


def _load_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: cannot read mapping file: {exc}") from exc
    if not isinstance(document, dict):
        raise MappingError(f"{path}: a mapping file must contain a YAML mapping")
    return document


def _check_patterns(rules: dict, path: Path) -> None:
    """Compile every regular expression in the rules so typos fail at load time."""
    patterns: list[str] = []
    test_records = rules.get("test_records") or {}
    patterns += test_records.get("title_patterns", [])
    patterns += test_records.get("provider_patterns", [])
    patterns += (rules.get("online") or {}).get("title_patterns", [])
    for rule in rules.get("interest_rules", []):
        patterns += rule.get("patterns", [])
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise MappingError(f"{path}: invalid pattern {pattern!r}: {exc}") from exc


def _check_kinds(rules: dict, path: Path) -> None:
    for name, kind in (rules.get("organization_kinds") or {}).items():
        if kind not in ORGANIZATION_KINDS:
            raise MappingError(
                f"{path}: organisation {name!r} has unknown kind {kind!r}; "
                f"use one of {sorted(ORGANIZATION_KINDS)}"
            )


def load_mapping(path: Path) -> SourceMapping:
    """Parse and check a mapping file; raise MappingError on any problem.

    ``rules_from`` names another mapping file in the same folder whose rules
    serve as defaults, so two views of one source share a rule list.
    """
    document = _load_yaml(path)
    kind = _require(document, "kind", path)
    if kind not in KINDS:
        raise MappingError(f"{path}: kind must be one of {KINDS}, not {kind!r}")
    file_format = document.get("format", "csv")
    if file_format not in FORMATS:
        raise MappingError(f"{path}: format must be one of {FORMATS}")

    columns = dict(_require(document, "columns", path))
    constants = dict(document.get("constants") or {})
    unknown = (set(columns) | set(constants)) - FIELDS_BY_KIND[kind]
    if unknown:
        raise MappingError(
            f"{path}: unknown field(s) {sorted(unknown)} for kind {kind!r}"
        )

    rules: dict[str, Any] = {}
    if document.get("rules_from"):
        rules.update(_load_yaml(path.parent / document["rules_from"]).get("rules", {}))
    rules.update(document.get("rules") or {})
    _check_patterns(rules, path)
    _check_kinds(rules, path)

    files = _require(document, "files", path)
    if isinstance(files, str):
        files = [files]
    return SourceMapping(
        path=path,
        source=_require(document, "source", path),
        city=_require(document, "city", path),
        kind=kind,
        format=file_format,
        files=tuple(files),
        columns=columns,
        constants=constants,
        rules=rules,
    )

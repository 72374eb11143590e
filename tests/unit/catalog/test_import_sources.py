"""Checks that hold for every mapped source: row accounting and document shape."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"
SOURCES = sorted(path.stem for path in (DATA_ROOT / "mappings").glob("*.yml"))
OPPORTUNITY_SOURCES = [
    "chicago-csol-2014",
    "dallas-col-programs",
    "washington-dc-camps-2016",
]

OPPORTUNITY_KEYS = {
    "source", "source_id", "city", "title", "description", "provider",
    "interests", "interests_derived", "tags", "format", "locations", "min_age",
    "max_age", "start_date", "end_date", "start_time", "end_time", "capacity",
    "cost", "registration_url", "url", "status", "review_notes",
}  # fmt: skip
OPPORTUNITY_LOCATION_KEYS = {"name", "address", "postal_code", "lat", "lon"}
ORGANIZATION_KEYS = {
    "source", "source_id", "city", "name", "kind", "website", "locations",
}  # fmt: skip
ORGANIZATION_LOCATION_KEYS = OPPORTUNITY_LOCATION_KEYS | {"site_type", "status"}
ORGANIZATION_KINDS = {
    "library", "park_district", "museum", "community_organization", "school",
    "employer", "university", "online_provider", "anchor",
}  # fmt: skip
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")

# Rows per source, counted independently with the csv module.
EXPECTED_ROWS = {
    "chicago-csol-2014": 3914,
    "chicago-public-library-branches": 81,
    "dallas-col-programs": 8658,
    "dallas-col-providers": 8658,
    "pittsburgh-facilities": 79,
    "washington-dc-camps-2016": 159,
    "washington-dc-libraries": 26,
    "washington-dc-recreation-facilities": 134,
}


def strings_in(value):
    """Yield every string inside a document, however deeply nested."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def test_sources_cover_every_mapping():
    assert set(SOURCES) == set(EXPECTED_ROWS)


@pytest.mark.parametrize("source", SOURCES)
def test_import_accounts_for_every_row(import_results, source):
    summary = import_results[source].summary()
    assert summary["rows_read"] == EXPECTED_ROWS[source]
    accounted = summary["documents"] + summary["merged_rows"] + summary["rejected"]
    assert accounted == summary["rows_read"]


@pytest.mark.parametrize("source", SOURCES)
def test_import_rows_read_match_csv(import_results, source):
    """Count the mapping's records with the csv module, apart from the importer."""
    with open(DATA_ROOT / "mappings" / f"{source}.yml", encoding="utf-8") as handle:
        files = yaml.safe_load(handle)["files"]
    total = 0
    for relative in files:
        with open(DATA_ROOT / relative, newline="", encoding="utf-8") as handle:
            total += sum(1 for _ in csv.DictReader(handle))
    assert import_results[source].rows_read == total


@pytest.mark.parametrize("source", SOURCES)
def test_import_documents_have_exact_keys(import_results, source):
    result = import_results[source]
    for document in result.documents:
        if result.kind == "opportunities":
            assert set(document) == OPPORTUNITY_KEYS
            expected_location_keys = OPPORTUNITY_LOCATION_KEYS
        else:
            assert set(document) == ORGANIZATION_KEYS
            assert document["kind"] in ORGANIZATION_KINDS
            expected_location_keys = ORGANIZATION_LOCATION_KEYS
        for location in document["locations"]:
            assert set(location) == expected_location_keys
            assert isinstance(location["lat"], float)
            assert isinstance(location["lon"], float)


@pytest.mark.parametrize("source", SOURCES)
def test_import_source_ids_unique(import_results, source):
    ids = [document["source_id"] for document in import_results[source].documents]
    assert len(ids) == len(set(ids))
    assert all(ids)


@pytest.mark.parametrize("source", SOURCES)
def test_import_output_has_no_mailto(import_results, source):
    for document in import_results[source].documents:
        for text in strings_in(document):
            assert "mailto:" not in text.lower()


@pytest.mark.parametrize("source", SOURCES)
def test_import_output_has_no_email_address(import_results, source):
    result = import_results[source]
    for document in result.documents:
        for text in strings_in(document):
            assert not EMAIL.search(text), text
    for issue in result.rejected + result.warnings:
        assert not EMAIL.search(issue.value), issue


@pytest.mark.parametrize("source", SOURCES)
def test_import_output_has_no_replacement_char(import_results, source):
    for document in import_results[source].documents:
        for text in strings_in(document):
            assert "\ufffd" not in text


@pytest.mark.parametrize("source", SOURCES)
def test_import_issue_values_are_short(import_results, source):
    result = import_results[source]
    for issue in result.rejected + result.warnings:
        assert len(issue.value) <= 80
        assert issue.reason
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", issue.reason_code)
        assert issue.line >= 2


@pytest.mark.parametrize("source", OPPORTUNITY_SOURCES)
def test_import_opportunity_fields_within_limits(
    import_results, interest_slugs, source
):
    result = import_results[source]
    assert result.kind == "opportunities"
    for document in result.documents:
        assert document["title"]
        assert len(document["title"]) <= 200
        assert document["title"] == document["title"].strip()
        assert "  " not in document["title"]
        assert len(document["description"] or "") <= 10_000
        assert set(document["interests"]) <= set(interest_slugs)
        assert document["format"] in ("in_person", "online", "hybrid")
        assert document["status"] in ("published", "withdrawn", "submitted")
        for url in (document["url"], document["registration_url"]):
            assert url is None or re.match(r"https?://", url)
        for location in document["locations"]:
            postal_code = location["postal_code"]
            assert postal_code is None or re.fullmatch(r"\d{5}", postal_code)


@pytest.mark.parametrize("source", OPPORTUNITY_SOURCES)
def test_import_description_has_no_html(import_results, source):
    for document in import_results[source].documents:
        description = document["description"] or ""
        assert not re.search(r"</?(p|li|ul|strong|a|span|br)\b", description)
        assert "_x000D_" not in description
        assert "&nbsp;" not in description


@pytest.mark.parametrize("source", SOURCES)
def test_import_documents_serialise_to_json(import_results, source):
    json.dumps(import_results[source].documents)

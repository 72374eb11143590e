"""Organisation sources: Chicago libraries, Pittsburgh operators, Dallas providers."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import yaml

from services.catalog.importing.reference import load_cities

DATA_ROOT = Path(__file__).resolve().parents[3] / "data"
PROVIDERS = "dallas-col-providers"


def test_chicago_library_branches(import_results):
    [library] = import_results["chicago-public-library-branches"].documents
    assert library["name"] == "Chicago Public Library"
    assert library["kind"] == "library"
    assert len(library["locations"]) == 81
    statuses = [location["status"] for location in library["locations"]]
    assert statuses.count("closed_for_construction") == 4
    assert statuses.count("open") == 77


def test_chicago_library_branch_location(import_results):
    [library] = import_results["chicago-public-library-branches"].documents
    albany_park = next(
        location
        for location in library["locations"]
        if location["name"] == "Albany Park"
    )
    assert albany_park == {
        "name": "Albany Park",
        "address": "3401 W. Foster Ave., Chicago, IL",
        "postal_code": "60625",
        "lat": 41.975456,
        "lon": -87.71409,
        "site_type": "library",
        "status": "open",
    }


def test_pittsburgh_operators(import_results):
    result = import_results["pittsburgh-facilities"]
    operators = {d["name"]: d for d in result.documents}
    assert set(operators) == {"CitiParks", "Department of Public Works"}
    assert len(operators["CitiParks"]["locations"]) == 70
    assert operators["CitiParks"]["kind"] == "park_district"
    assert len(operators["Department of Public Works"]["locations"]) == 9


def test_pittsburgh_missing_zip_is_none(import_results):
    result = import_results["pittsburgh-facilities"]
    locations = [loc for d in result.documents for loc in d["locations"]]
    assert sum(1 for loc in locations if loc["postal_code"] is None) == 21
    assert not result.warnings


@pytest.fixture(scope="module")
def providers(import_results):
    return {d["source_id"]: d for d in import_results[PROVIDERS].documents}


def test_dallas_providers_one_per_org_id(providers):
    # 196 org_ids in the source; these 5 have nothing but test records
    # ("Test Org 5/31/2018", "Test Org", "Test Space - ...", "Amanda's Test",
    # and DYN Tech's single "New Test Org" row).
    test_only = {"790", "531", "1069", "1095", "1178"}
    assert len(providers) == 196 - len(test_only)
    assert not test_only & set(providers)


def test_dallas_provider_bad_geocode_keeps_org(import_results, providers):
    # Yale Club of Dallas has one row, geocoded outside the area: the
    # organisation stays, the place is dropped with a warning.
    assert providers["558"]["name"] == "Yale Club of Dallas"
    assert providers["558"]["locations"] == []
    warnings = [w for w in import_results[PROVIDERS].warnings if w.source_id == "558"]
    assert [w.reason_code for w in warnings] == ["location_dropped"]


def test_dallas_providers_kinds(providers):
    assert providers["588"]["name"] == "Dallas Public Library"
    assert providers["588"]["kind"] == "library"
    assert providers["549"]["kind"] == "school"
    assert providers["635"]["kind"] == "park_district"
    assert providers["1124"]["kind"] == "community_organization"


def test_dallas_providers_latest_name_wins(providers):
    # org_id 562 was renamed from "Dallas Holocaust Museum".
    assert providers["562"]["name"] == "Dallas Holocaust and Human Rights Museum"


def test_dallas_provider_locations_inside_area(providers):
    area = load_cities(DATA_ROOT)["dallas"].service_area
    for provider in providers.values():
        for location in provider["locations"]:
            assert area.contains(location["lat"], location["lon"])


def test_dallas_provider_locations_distinct(providers):
    for provider in providers.values():
        points = [(loc["lat"], loc["lon"]) for loc in provider["locations"]]
        assert len(points) == len(set(points))


def test_dallas_provider_kind_names_exist_in_source():
    """Every name in the kinds table is spelled as in the source's org_name."""
    with open(DATA_ROOT / "mappings" / f"{PROVIDERS}.yml", encoding="utf-8") as handle:
        mapping = yaml.safe_load(handle)
    names = set()
    for relative in mapping["files"]:
        with open(DATA_ROOT / relative, newline="", encoding="utf-8") as handle:
            names |= {row["org_name"] for row in csv.DictReader(handle)}
    assert set(mapping["rules"]["organization_kinds"]) <= names
